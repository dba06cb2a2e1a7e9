#!/usr/bin/python3
"""Hostile Kafka records end to end: a corpus of bad records is
published into the input topic between two halves of good events while
receiptd runs on the embedded broker.  Checked:

  - every hostile record lands in the DLQ, found by its source
    partition/offset headers, with the expected gr.error.reason;
  - no poison message stalls the consumer: the good events published
    after the corpus are decided, exactly as `receiptctl replay` decides
    the same stream;
  - receiptd's counters account for every input record: records read ==
    input records == applied + parked + duplicates + rejected, and the
    DLQ counter equals the records on the DLQ topic.

Expected reasons: JSON text is judged by `receiptctl replay` over the same
lines (the same codec); what replay cannot see (keys, empty or null values,
binary, Avro framing, oversized values) has its reason written below.

usage: kafka_hostile.py --receiptctl PATH --receiptd PATH --data FILE [--keep]
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import subprocess
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_it as it  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka import KafkaError  # noqa: E402

WIRE_MAX = 64 * 1024        # GR_EVENT_WIRE_MAX (statemachine/gr_event.h)
BIG = 1024 * 1024           # ~1 MB value, under the mock's partition cap
KEY_MAX = 1024              # GR_DLQ_KEY_MAX (consumers/gr_receiptd.c)


def compact(e):
    return json.dumps(e, separators=(",", ":"))


def corpus(good):
    """[(name, key bytes|None, value bytes|None, reason|None, in_replay)]:
    reason None = ask replay (the value is JSON text replay reads too)."""
    rng = random.Random(6)
    tmpl = dict(good[2])            # an execution_started of a real job
    out = []

    def add(name, key, value, reason=None, in_replay=False):
        out.append((name, key, value, reason, in_replay))

    # Values receiptd cannot read at all.
    add("empty value", b"hx-empty", b"", "invalid_json")
    add("null value (tombstone)", b"hx-null", None, "invalid_json")
    garbage = bytes(rng.randrange(1, 256) for _ in range(300))
    if garbage[0] in (0x00, 0xC3):
        garbage = b"\x01" + garbage[1:]
    add("binary garbage", b"hx-garbage", garbage, "invalid_json")
    add("NUL bytes", b"hx-nul", b"{\"job_id\":\"hx-nul\x00\"}\x00\x00",
        "invalid_json")
    add("invalid UTF-8 in JSON", b"hx-utf8",
        b"{\"event_id\":\"\xff\xfe\",\"job_id\":\"hx-utf8\"}", "invalid_json")
    # Avro framings
    add("Avro, unknown schema id", b"hx-avro-id",
        b"\x00" + struct.pack(">I", 999) + b"\x02\x04ab", "schema")
    add("Avro, id of a decision schema", b"hx-avro-kind",
        b"\x00" + struct.pack(">I", 2) + b"\x02\x04ab", "schema")
    add("Avro, event schema, truncated datum", b"hx-avro-trunc",
        b"\x00" + struct.pack(">I", 1) + b"\x02", "invalid_avro")
    add("Avro single-object, unknown fingerprint", b"hx-avro-fp",
        b"\xc3\x01" + b"\x11" * 8 + b"\x02", "schema")
    add("Confluent header only", b"hx-avro-short", b"\x00\x00", "invalid_avro")
    # Size
    e = dict(tmpl, event_id="hx-big-1", job_id="hx-big")
    e["body"] = dict(e["body"], command="x" * (WIRE_MAX + 100))
    add("value over 64 KiB", b"hx-big", compact(e).encode(), "too_large")
    e = dict(tmpl, event_id="hx-huge-1", job_id="hx-huge")
    e["body"] = dict(e["body"], command="y" * BIG)
    add("value of ~1 MB", b"hx-huge", compact(e).encode(), "too_large")
    e = dict(tmpl, event_id="hx-bigkey-1", job_id="hx-bigkey")
    add("key of 100 KiB", b"k" * (100 * 1024), compact(e).encode(),
        "schema")
    # Keys that disagree with the event
    e = dict(tmpl, event_id="hx-nokey-1", job_id="hx-nokey")
    add("null key", None, compact(e).encode(), "schema")
    e = dict(tmpl, event_id="hx-keydiff-1", job_id="hx-keydiff")
    add("key is not the job_id", b"someone-else", compact(e).encode(),
        "schema")
    e = dict(good[0], event_id="hx-keycase-1")
    add("key differs in case", good[0]["job_id"].upper().encode(),
        compact(e).encode(), "schema")
    # Valid JSON of the wrong shape: replay judges the same text
    for name, v in [("JSON array", [1, 2, 3]), ("JSON string", "event"),
                    ("JSON number", 42), ("JSON null", None),
                    ("empty object", {}),
                    ("object without type", {"event_id": "hx-s1",
                                             "job_id": "hx-shape"}),
                    ("type of the wrong JSON type",
                     dict(tmpl, event_id="hx-s2", job_id="hx-shape2",
                          type=7)),
                    ("unknown event type",
                     dict(tmpl, event_id="hx-s3", job_id="hx-shape3",
                          type="teleported")),
                    ("attempt is a string",
                     dict(tmpl, event_id="hx-s4", job_id="hx-shape4",
                          attempt="one")),
                    ("body is an array",
                     dict(tmpl, event_id="hx-s5", job_id="hx-shape5",
                          body=[])),
                    ("occurred_at not a time",
                     dict(tmpl, event_id="hx-s6", job_id="hx-shape6",
                          occurred_at="yesterday"))]:
        key = v.get("job_id", "hx-shape") if isinstance(v, dict) else \
            "hx-shape"
        add(name, key.encode(), compact(v).encode(), None, True)
    # Events for an attempt the job never had, and for no known job
    for name, attempt, job in [("unknown attempt 7", 7, tmpl["job_id"]),
                               ("attempt 0", 0, tmpl["job_id"]),
                               ("event for a job never quoted", 1,
                                "hx-orphan")]:
        e = dict(tmpl, event_id="hx-att-%d-%s" % (attempt, job),
                 attempt=attempt, job_id=job)
        add(name, job.encode(), compact(e).encode(), None, True)
    return out


def replay_summary(receiptctl, path):
    r = subprocess.run([receiptctl, "replay", "--emit", "decisions", path],
                       capture_output=True, text=True, timeout=60)
    it.check(r.returncode == 0, "replay failed: %s" % r.stderr)
    return r.stderr.strip().splitlines()[-1]


def produce_all(bootstrap, records):
    """Publish [(key, value)] in order; returns [(partition, offset)]."""
    p = Producer({"bootstrap.servers": bootstrap,
                  "partitioner": "murmur2_random",
                  "enable.idempotence": True, "linger.ms": 5,
                  "message.max.bytes": 4 * BIG, "log_level": 3})
    where = [None] * len(records)
    errs = []

    def dr(i):
        def cb(err, m):
            if err:
                errs.append((i, str(err)))
            else:
                where[i] = (m.partition(), m.offset())
        return cb
    for i, (k, v) in enumerate(records):
        p.produce(it.TOPICS["events"], key=k, value=v, on_delivery=dr(i))
        p.poll(0)
    left = p.flush(60)
    it.check(left == 0 and not errs, "produce: %d left, errors %s"
             % (left, errs[:3]))
    return where


def read_dlq(bootstrap, timeout=30):
    """DLQ records as dicts (binary-safe: values stay bytes)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "hostile-dlq",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.wait.max.ms": 10, "log_level": 3})
    out, eof = [], set()
    try:
        c.assign([TopicPartition(it.TOPICS["dlq"], p, 0)
                  for p in range(it.PARTITIONS)])
        import time
        deadline = time.time() + timeout
        while len(eof) < it.PARTITIONS:
            it.check(time.time() < deadline, "DLQ: no end in %ds" % timeout)
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                continue
            h = dict((k, v.decode("utf-8", "replace"))
                     for k, v in (m.headers() or []))
            out.append({"key": m.key(), "value": m.value(), "headers": h})
        return out
    finally:
        c.close()


def run(a, w):
    good = [json.loads(l) for l in open(a.data) if l.strip()]
    bad = corpus(good)
    half = len(good) // 2
    # Stream: first half of the good events, the corpus, the second half.
    recs = [(e["job_id"].encode(), compact(e).encode()) for e in good[:half]]
    first_bad = len(recs)
    recs += [(k, v) for _, k, v, _, _ in bad]
    recs += [(e["job_id"].encode(), compact(e).encode()) for e in good[half:]]
    # What replay sees: the same stream minus what only Kafka can carry.
    replay_lines = [compact(e) for e in good[:half]]
    replay_lines += [v.decode() for _, _, v, _, inr in bad if inr]
    replay_lines += [compact(e) for e in good[half:]]
    data = os.path.join(w, "replay-input.jsonl")
    with open(data, "w") as f:
        f.write("\n".join(replay_lines) + "\n")
    rrej = it.replay(a.receiptctl, data, "rejects")

    # A real broker refuses a record over the topic's max.message.bytes
    # (1 MiB by default): let the ~1 MB one in, receiptd must reject it.
    it.TOPIC_OVERRIDES["job.events"] = {"max.message.bytes": str(4 * BIG)}
    b = it.Broker(a.receiptctl, w)
    d = None
    try:
        d = it.Receiptd(a.receiptd, b.bootstrap, w, "A")
        d.wait_log("assigned", 30)
        where = produce_all(b.bootstrap, recs)
        it.wait_processed(b.bootstrap, 60, [d])
        d.stop()

        dlq = read_dlq(b.bootstrap)
        by_src = {}
        for r in dlq:
            h = r["headers"]
            by_src[(int(h.get("gr.error.partition", -1)),
                    int(h.get("gr.error.offset", -1)))] = r
        # replay's verdict per JSON-text hostile record, by event_id
        rr = collections.defaultdict(list)
        for l in rrej:
            j = json.loads(l)
            rr[j.get("event_id")].append(j["reason"])
        rows, bad_rows = [], 0
        for i, (name, k, v, reason, inr) in enumerate(bad):
            src = where[first_bad + i]
            r = by_src.get(src)
            got = r["headers"].get("gr.error.reason") if r else None
            if reason is None:
                try:
                    eid = json.loads(v).get("event_id")
                except (AttributeError, ValueError):
                    eid = None
                reason = rr[eid].pop(0) if rr.get(eid) else None
                if reason is None and rr.get(None):
                    reason = rr[None].pop(0)
            if r is not None and (len(v or b"") > WIRE_MAX or
                                  len(k or b"") > KEY_MAX):
                # too large to copy whole: cut, and marked as such
                h = r["headers"]
                same = (r["key"] == k[:KEY_MAX] and
                        r["value"] == v[:WIRE_MAX] and
                        h.get("gr.error.original") == "truncated" and
                        h.get("gr.error.original.size") == str(len(v)))
            else:
                same = (r is None or (r["key"] == k and r["value"] == v))
            ok = got == reason and same
            if reason is None:   # replay applied or parked it: no DLQ
                ok = r is None
            bad_rows += not ok
            rows.append((name, "%s/%s" % src, reason or "(no reject)",
                         got or "(none)",
                         "yes" if same else "NO",
                         "ok" if ok else "FAIL"))
        print("%-40s %-9s %-22s %-22s %-9s %s" % (
            "hostile record", "at", "expected reason", "DLQ reason",
            "verbatim", "result"))
        for row in rows:
            print("%-40s %-9s %-22s %-22s %-9s %s" % row)

        # Good events after the corpus were decided, as replay decides.
        dec = [v for _, _, _, v, _ in it.read_topic(b.bootstrap,
                                                     it.TOPICS["decisions"])]
        it.compare_exact(dec, it.replay(a.receiptctl, data, "decisions"),
                         "decisions")
        led = [v for _, _, _, v, _ in it.read_topic(b.bootstrap,
                                                     it.TOPICS["ledger"])]
        it.compare_exact(led, it.replay(a.receiptctl, data, "ledger"),
                         "ledger rows")

        # Counters
        m = re.search(r"stopped: (\d+) records \((\d+) applied, (\d+) parked,"
                      r" (\d+) duplicates, (\d+) rejected\)", d.text())
        it.check(m, "no counters in receiptd's log:\n" + d.text())
        n, ap, pk, du, rj = map(int, m.groups())
        md = re.search(r"stopped: .* (\d+) DLQ records", d.text())
        ndlq = int(md.group(1)) if md else None
        print("counters: %d records in, receiptd read %d = %d applied + %d "
              "parked + %d duplicates + %d rejected; DLQ counter %s, DLQ "
              "topic %d records" % (len(recs), n, ap, pk, du, rj, ndlq,
                                    len(dlq)))
        it.check(n == len(recs), "receiptd read %d records of %d"
                 % (n, len(recs)))
        it.check(n == ap + pk + du + rj, "counters do not add up")
        it.check(ndlq == len(dlq), "DLQ counter %s but %d DLQ records"
                 % (ndlq, len(dlq)))
        kafka_only = len([x for x in bad if not x[4]])
        it.check(len(dlq) == len(rrej) + kafka_only,
                 "%d DLQ records, expected %d replay rejects + %d records "
                 "only Kafka can carry" % (len(dlq), len(rrej), kafka_only))
        rs = replay_summary(a.receiptctl, data)
        print("replay over the same stream (without the %d Kafka-only "
              "records): %s" % (kafka_only, rs))
        ra, rp, rd_, rr_ = map(int, re.search(
            r"(\d+) applied, (\d+) parked, (\d+) duplicates, (\d+) "
            r"rejected", rs).groups())
        # receiptd counts each record's outcome on arrival, the engine an
        # event parked and later applied as applied: their sums agree.
        it.check(ap + pk == ra + rp and du == rd_ and rj == rr_ + kafka_only,
                 "receiptd's outcomes (%d+%d applied/parked, %d dup, %d rej) "
                 "do not match replay's plus the Kafka-only records"
                 % (ap, pk, du, rj))
        it.check(len(dlq) == len(set(by_src)),
                 "two DLQ records name the same source offset")
        it.check(sorted(r["headers"].get("gr.error.reason") for r in dlq) ==
                 sorted([x for _, _, _, x, inr in bad if not inr] +
                        [json.loads(l)["reason"] for l in rrej]),
                 "DLQ reasons are not exactly the corpus's and replay's")
        it.check(bad_rows == 0, "%d hostile records not handled as expected"
                 % bad_rows)
        print("hostile: %d hostile records among %d good events: every one "
              "in the DLQ with its reason, %d decisions as replay, counters "
              "account for all %d records" % (len(bad), len(good), len(dec),
                                              len(recs)))
    finally:
        if d:
            d.close()
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--keep", action="store_true")
    it.add_broker_args(ap)
    a = ap.parse_args()
    it.use_broker_args(a)
    w = tempfile.mkdtemp(prefix="kafka-hostile-")
    try:
        run(a, w)
    except (it.Fail, AssertionError) as e:
        print("FAIL hostile: %s" % e)
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                with open(os.path.join(w, name)) as f:
                    print("---- %s (last 30 lines)" % name)
                    print("".join(f.readlines()[-30:]))
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
