#!/usr/bin/python3
"""Avro on the wire through receiptd and the embedded broker.

Runs under /usr/bin/python3 (Debian's python3-avro and
python3-confluent-kafka import only there); uses kafka_it.py's helpers.

usage: avro_it.py TEST --receiptctl PATH --receiptd PATH --data FILE
tests:
  emit    half the jobs published with `receiptctl emit --format avro`
          (Confluent framing), the other half `--format avro-single`
          (single-object encoding): receiptd recognises each record's
          framing, and its decisions, ledger rows and DLQ reasons equal
          `receiptctl replay` over the JSON original, byte for byte.
  decisions  receiptd with output.format=avro: python3-avro decodes every
          published decision with schemas/decision.avsc; each equals
          replay's JSON decision field for field.
  python  every event encoded by the Apache reference implementation
          (python3-avro) from the project's own .avsc files, Confluent
          framing, produced by confluent-kafka with the murmur2 partitioner:
          receiptd's decisions equal replay's.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

# Confluent id of schemas/decision.avsc in schemas/registry.txt (the last
# `decision` line: what receiptd writes).
DECISION_SCHEMA_ID = 6
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "schemas"))
import kafka_it as K  # noqa: E402
from kafka_it import check, Fail  # noqa: E402

SCHEMAS = os.path.join(HERE, "..", "..", "schemas")


def split_by_job(src, w):
    """Two files, each holding whole jobs in their original order."""
    jobs = {}
    lines = [l for l in open(src) if l.strip()]
    for l in lines:
        jobs.setdefault(json.loads(l)["job_id"], len(jobs))
    a, b = os.path.join(w, "a.jsonl"), os.path.join(w, "b.jsonl")
    with open(a, "w") as fa, open(b, "w") as fb:
        for l in lines:
            (fa if jobs[json.loads(l)["job_id"]] % 2 == 0 else fb).write(l)
    return a, b


def emit(a, bootstrap, path, fmt):
    r = subprocess.run([a.receiptctl, "emit", "--bootstrap", bootstrap,
                        "--format", fmt, path],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "emit --format %s: %s" % (fmt, r.stderr))


def dlq_reasons(bootstrap, timeout=30):
    """gr.error.reason of every DLQ record (values are the original bytes,
    Avro here, so they are not decoded)."""
    import time
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "avro-it-dlq",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.wait.max.ms": 10, "log_level": 3})
    try:
        c.assign([TopicPartition(K.TOPICS["dlq"], p, 0)
                  for p in range(K.PARTITIONS)])
        eof, out, deadline = set(), [], time.time() + timeout
        while len(eof) < K.PARTITIONS:
            check(time.time() < deadline, "DLQ: no end within %ds" % timeout)
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                continue
            out.append(dict(m.headers() or [])["gr.error.reason"].decode())
        return sorted(out)
    finally:
        c.close()


def run_and_compare(a, w, publish):
    b = K.Broker(a.receiptctl, w)
    d = None
    try:
        publish(b.bootstrap)
        d = K.Receiptd(a.receiptd, b.bootstrap, w, "A")
        K.wait_processed(b.bootstrap, 40, [d])
        d.stop()
        K.compare_outputs(a, b.bootstrap, a.data, exact=True)
        check(dlq_reasons(b.bootstrap) == K.replay_reject_reasons(a, a.data),
              "DLQ reasons differ from replay's rejects")
    finally:
        if d:
            d.close()
        b.stop()


def t_emit(a, w):
    ja, jb = split_by_job(a.data, w)

    def publish(bootstrap):
        # A line that cannot be encoded is not sent, and emit says which
        # line and why (nothing reaches the topic from this file).
        bad = os.path.join(w, "bad.jsonl")
        with open(bad, "w") as f:
            f.write("\n{not json\n")
        r = subprocess.run([a.receiptctl, "emit", "--bootstrap", bootstrap,
                            "--format", "avro", bad],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "emit: line 1 not sent: " in r.stderr
              and "0 of 1 lines delivered" in r.stderr,
              "emit of an undecodable line: rc %d, %s" % (r.returncode,
                                                          r.stderr))
        emit(a, bootstrap, ja, "avro")
        emit(a, bootstrap, jb, "avro-single")
    run_and_compare(a, w, publish)
    print("emit: Confluent and single-object Avro input decided as replay "
          "decides the JSON")


def t_python(a, w):
    import avro.schema
    from confluent_kafka import Producer
    import avro_interop as AI

    schema = avro.schema.parse(open(os.path.join(SCHEMAS,
                                                 "lifecycle_event.avsc")).read())
    header = b"\x00" + struct.pack(">I", 7)   # schemas/registry.txt: id of lifecycle_event.avsc

    def publish(bootstrap):
        p = Producer({"bootstrap.servers": bootstrap,
                      "partitioner": "murmur2_random", "acks": "all",
                      "log_level": 3})
        n = 0
        for line in open(a.data):
            if not line.strip():
                continue
            ev = json.loads(line)
            p.produce(K.TOPICS["events"], key=ev["job_id"].encode(),
                      value=header + AI.write_event(schema, ev))
            n += 1
        check(p.flush(30) == 0, "python producer: undelivered messages")
        print("python3-avro produced %d events" % n)
    run_and_compare(a, w, publish)
    print("python: reference-implementation Avro decided as replay decides "
          "the JSON")


def t_decisions(a, w):
    """receiptd with output.format=avro: every decision on the topic is
    Confluent-framed Avro that python3-avro reads with the project's
    decision.avsc, and equals replay's JSON decision field for field."""
    import io
    import time
    import avro.io
    import avro.schema
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    schema = avro.schema.parse(open(os.path.join(SCHEMAS,
                                                 "decision.avsc")).read())
    b = K.Broker(a.receiptctl, w)
    d = None
    try:
        K.emit(a.receiptctl, b.bootstrap, a.data)
        d = K.Receiptd(a.receiptd, b.bootstrap, w, "A",
                       ["output.format=avro"])
        K.wait_processed(b.bootstrap, 40, [d])
        d.stop()
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "avro-dec",
                      "enable.auto.commit": False,
                      "enable.partition.eof": True, "fetch.wait.max.ms": 10,
                      "log_level": 3})
        c.assign([TopicPartition(K.TOPICS["decisions"], p, 0)
                  for p in range(K.PARTITIONS)])
        got, eof, deadline = {}, set(), time.time() + 30
        while len(eof) < K.PARTITIONS:
            check(time.time() < deadline, "decisions: no end within 30s")
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                continue
            v = m.value()
            check(v[0] == 0 and struct.unpack(">I", v[1:5])[0] == DECISION_SCHEMA_ID,
                  "decision not Confluent-framed with schema id %d" % DECISION_SCHEMA_ID)
            rec = avro.io.DatumReader(schema, schema).read(
                avro.io.BinaryDecoder(io.BytesIO(v[5:])))
            got[rec["decision_id"]] = rec
        c.close()
        want = [json.loads(l) for l in K.replay(a.receiptctl, a.data,
                                                "decisions")]
        check(len(got) == len(want), "%d Avro decisions, replay has %d"
              % (len(got), len(want)))
        for j in want:
            g = got.get(j["decision_id"])
            check(g is not None, "decision %s missing" % j["decision_id"])
            for k in ("job_id", "attempt", "seq", "settlement", "retry",
                      "reason", "rule", "line", "receipt_hash",
                      "policy_hash"):
                check(g[k] == j[k], "%s.%s: avro %r, replay %r"
                      % (j["decision_id"][:12], k, g[k], j[k]))
        print("decisions: %d Avro decisions read by python3-avro equal "
              "replay's" % len(got))
    finally:
        if d:
            d.close()
        b.stop()


TESTS = {"emit": t_emit, "python": t_python, "decisions": t_decisions}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    K.add_broker_args(ap)
    a = ap.parse_args()
    K.use_broker_args(a)
    w = tempfile.mkdtemp(prefix="avro-it-%s-" % a.test)
    try:
        TESTS[a.test](a, w)
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.test, e))
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                print("---- %s" % name)
                print("".join(open(os.path.join(w, name)).readlines()[-40:]))
        return 1
    finally:
        shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
