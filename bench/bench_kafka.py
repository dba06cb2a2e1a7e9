#!/usr/bin/python3
"""receiptd on the embedded broker (Speed), side by side in one run,
the broker in its own process; on a real Kafka cluster with
GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR (tests/kafka/kafka_cluster.py):

  - CPU time per event: receiptd vs bench_passthrough (bare consume ->
    produce with the same client settings and transactional batches);
  - produce -> decision latency p50/p99 at a modest steady rate;
  - restore rate: state records per second on assignment.

Not a test: prints numbers. On the embedded broker volumes stay under the
mock cluster's ~5 MiB per partition (DEVELOPERS.md). Needs /usr/bin/python3 (python3-confluent-kafka).

usage: bench_kafka.py BUILD_DIR [COPIES]
"""
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "kafka"))
import kafka_it as it  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

BATCH = ["batch.size=500", "batch.ms=20"]


def cpu_of(p, timeout):
    """Wait for process p; return its user+system CPU seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        time.sleep(0.05)
    p.kill()
    raise it.Fail("process %d did not exit" % p.pid)


def job_sequential_input(src, dst, copies, tag):
    base = collections.OrderedDict()
    for l in open(src):
        if l.strip():
            e = json.loads(l)
            base.setdefault(e["job_id"], []).append(e)
    n = 0
    with open(dst, "w") as f:
        for i in range(copies):
            for job, evs in base.items():
                for e in evs:
                    e = dict(e)
                    e["job_id"] = "%s-%s%04d" % (job, tag, i)
                    e["event_id"] = "%s-%s%04d" % (e["event_id"], tag, i)
                    f.write(json.dumps(e, separators=(",", ":")) + "\n")
                    n += 1
    return n


def main():
    build = sys.argv[1]
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    rctl = os.path.join(build, "tools", "receiptctl")
    rd = os.path.join(build, "consumers", "receiptd")
    pt = os.path.join(build, "bench", "bench_passthrough")
    data = os.path.join(HERE, "..", "tests", "data", "scenarios.jsonl")
    w = tempfile.mkdtemp(prefix="bench-kafka-")
    inp = os.path.join(w, "input.jsonl")
    n = job_sequential_input(data, inp, copies, "b")
    b = it.Broker(rctl, w)
    try:
        it.emit(rctl, b.bootstrap, inp)

        # 1. receiptd over n events, from start to SIGTERM after the last
        d = it.Receiptd(rd, b.bootstrap, w, "cpu", BATCH)
        t0 = time.time()
        d.wait_log("input resumes", 60)
        t1 = time.time()            # joined and restored: processing starts
        it.wait_processed(b.bootstrap, 600, [d])
        wall = time.time() - t0
        busy = time.time() - t1
        d.p.send_signal(signal.SIGTERM)
        cpu_rd = cpu_of(d.p, 30)
        d.log.close()

        # 2. the bare passthrough over the same n records
        p = subprocess.Popen([pt, b.bootstrap, str(n), "500", "120"])
        cpu_pt = cpu_of(p, 150)
        if p.returncode != 0:
            raise it.Fail("passthrough did not finish")

        # 3. restore: a new instance restores every partition
        d2 = it.Receiptd(rd, b.bootstrap, w, "restore", BATCH)
        deadline = time.time() + 60
        while d2.text().count("restored") < it.PARTITIONS:
            if time.time() > deadline:
                raise it.Fail("restore did not finish")
            time.sleep(0.1)
        recs = ms = 0
        for line in d2.text().splitlines():
            if "restored" in line:
                ws = line.split()
                recs += int(ws[ws.index("from") + 1])
                ms += float(ws[ws.index("in") + 1])

        # 4. latency: produce at a steady rate, time each decision
        lat = latency(b.bootstrap, data, rate=200, seconds=5)
        d2.stop()
        d2.close()

        lat.sort()
        print("events %d (%d jobs), 4 partitions, exactly_once, batch 500 "
              "/ 20 ms" % (n, copies * 14))
        print("broker        %s" % ("real Kafka cluster (%s)" % b.bootstrap
                                     if it.real() else "embedded (mock)"))
        print("receiptd      CPU %.1f us/event  (%.2f s CPU, %.1f s wall "
              "incl. group join; %.0f events/s after the join)"
              % (cpu_rd / n * 1e6, cpu_rd, wall, n / busy))
        print("passthrough   CPU %.1f us/event  (%.2f s CPU)"
              % (cpu_pt / n * 1e6, cpu_pt))
        print("ratio         receiptd/passthrough CPU per event %.2fx (goal <= 1.5)"
              % (cpu_rd / cpu_pt))
        print("restore       %d state records in %.0f ms = %.0f records/s "
              "(goal >= 100000 per partition)"
              % (recs, ms, recs / (ms / 1000.0) if ms else float("nan")))
        if lat:
            print("latency       produce->decision p50 %.1f ms, p99 %.1f ms "
                  "(%d decisions at ~200 events/s)"
                  % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)], len(lat)))
    finally:
        b.stop()


def latency(bootstrap, data, rate, seconds):
    base = collections.OrderedDict()
    for l in open(data):
        if l.strip():
            e = json.loads(l)
            base.setdefault(e["job_id"], []).append(e)
    prod = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0,
                     "partitioner": "murmur2_random", "log_level": 3})
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-lat",
                     "fetch.wait.max.ms": 10, "log_level": 3})
    tps = []
    for p in range(it.PARTITIONS):
        hi = cons.get_watermark_offsets(
            TopicPartition(it.TOPICS["decisions"], p), timeout=10)[1]
        tps.append(TopicPartition(it.TOPICS["decisions"], p, hi))
    cons.assign(tps)
    # Warm the clients up before timing: a producer that first meets a
    # topic in produce() holds the record until its next topic scan (up to
    # 1 s), which would be charged to receiptd; the consumer starts its
    # fetchers on the first poll.
    prod.list_topics(it.TOPICS["events"], timeout=10)
    cons.poll(0.5)
    sent, lat = {}, []
    i, t_end = 0, time.time() + seconds
    period = 1.0 / rate
    nxt = time.time()
    events = []
    while time.time() < t_end:
        if not events:
            for job, evs in base.items():
                for e in evs:
                    e = dict(e)
                    e["job_id"] = "%s-lat%05d" % (job, i)
                    e["event_id"] = "%s-lat%05d" % (e["event_id"], i)
                    events.append(e)
            i += 1
        if time.time() >= nxt:
            e = events.pop(0)
            sent[(e["job_id"], e["occurred_at"])] = time.time()
            prod.produce(it.TOPICS["events"], key=e["job_id"],
                         value=json.dumps(e, separators=(",", ":")))
            prod.poll(0)
            nxt += period
        m = cons.poll(0.001)
        if m is not None and not m.error():
            dd = json.loads(m.value())
            t = sent.get((dd["job_id"], dd["decided_at"]))
            if t:
                lat.append((time.time() - t) * 1000)
    prod.flush(10)
    drain = time.time() + 2
    while time.time() < drain:
        m = cons.poll(0.05)
        if m is not None and not m.error():
            dd = json.loads(m.value())
            t = sent.get((dd["job_id"], dd["decided_at"]))
            if t:
                lat.append((time.time() - t) * 1000)
    cons.close()
    return lat


if __name__ == "__main__":
    main()
