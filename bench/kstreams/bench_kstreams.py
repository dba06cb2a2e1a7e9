#!/usr/bin/python3
"""receiptd vs a plain Kafka Streams application (Baseline.java, EOS v2) on
the same input and the same real cluster: CPU per event and events/s.

The Streams app does the same kind of work (decode, per-job state in a
changelogged store, a hash-chained ledger row per event, a decision when a
layer reaches an outcome) with a reduced rule table; see Baseline.java.  Not
a test, not in CI.  Needs a real cluster (tests/kafka/kafka_cluster.py),
Java 17 and Maven:

  mvn -q -f bench/kstreams/pom.xml package
  GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR \\
      /usr/bin/python3 bench/kstreams/bench_kstreams.py BUILD [COPIES]
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "kafka"))
sys.path.insert(0, os.path.join(HERE, ".."))
import kafka_it as it  # noqa: E402
import bench_kafka as bk  # noqa: E402

OUT = "gpu.kstreams.out"


def main():
    build = sys.argv[1]
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    it.check(it.real(), "set GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR")
    rctl = os.path.join(build, "tools", "receiptctl")
    rd = os.path.join(build, "consumers", "receiptd")
    data = os.path.join(HERE, "..", "..", "tests", "data", "scenarios.jsonl")
    target = os.path.join(HERE, "target")
    it.check(os.path.isdir(os.path.join(target, "lib")),
             "build it first: mvn -q -f bench/kstreams/pom.xml package")
    w = tempfile.mkdtemp(prefix="bench-kstreams-")
    inp = os.path.join(w, "input.jsonl")
    n = bk.job_sequential_input(data, inp, copies, "k")
    b = it.Broker(rctl, w)
    from confluent_kafka.admin import AdminClient, NewTopic
    ad = AdminClient({"bootstrap.servers": b.bootstrap, "log_level": 3})
    if OUT in ad.list_topics(timeout=10).topics:
        for f in ad.delete_topics([OUT]).values():
            f.result()
        time.sleep(2)
    for f in ad.create_topics([NewTopic(OUT, it.PARTITIONS, b.replicas)])\
            .values():
        f.result()
    it.emit(rctl, b.bootstrap, inp)

    # receiptd, batches of at most 500 records / 100 ms (Streams commits
    # every 100 ms)
    d = it.Receiptd(rd, b.bootstrap, w, "rd", ["batch.size=500",
                                                "batch.ms=100"])
    d.wait_log("input resumes", 60)
    t1 = time.time()
    it.wait_processed(b.bootstrap, 600, [d])
    busy_rd = time.time() - t1
    d.p.send_signal(signal.SIGTERM)
    cpu_rd = bk.cpu_of(d.p, 30)

    cp = "%s:%s" % (os.path.join(target, "classes"),
                    os.path.join(target, "lib", "*"))
    r = subprocess.run(["java", "-Xmx512m", "-cp", cp,
                        "gpureceipts.bench.Baseline", b.bootstrap,
                        it.TOPICS["events"], OUT, "kstreams-%d" % os.getpid(),
                        str(n), "100"],
                       capture_output=True, text=True, timeout=900)
    it.check(r.returncode == 0, "Baseline failed: %s%s" % (r.stdout[-2000:],
                                                           r.stderr[-2000:]))
    line = [l for l in r.stdout.splitlines() if l.startswith("processed")][-1]
    ws = line.split()
    busy_ks = float(ws[3])
    cpu_ks = float(ws[ws.index("cpu") + 1])
    b.stop()
    print("events %d, 4 partitions, exactly-once, commit every <=100 ms, "
          "real cluster %s" % (n, b.bootstrap))
    print("receiptd         %.1f us CPU/event (whole process), %.0f events/s "
          "after the join" % (cpu_rd / n * 1e6, n / busy_rd))
    print("Kafka Streams    %.1f us CPU/event (after RUNNING), %.0f events/s "
          "after RUNNING (reduced rules, Baseline.java)"
          % (cpu_ks / n * 1e6, n / busy_ks))
    print(line)


if __name__ == "__main__":
    main()
