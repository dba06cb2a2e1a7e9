#!/usr/bin/python3
"""Time to resume after kill -9 of receiptd, on a real Kafka cluster, with
and without static membership (group.instance.id, KIP-345).

Each round: fresh topics, input published, receiptd started; once it is
busy it is stopped with SIGSTOP, and killed -9 when a transaction of its is
open (kafka_eos.kill_in_txn); a new instance is started at once with the
same arguments.  Measured from the kill:
  assigned  the new instance logs its assignment
  resumed   the checkpoints (read_committed) pass where they were: the new
            instance committed its first transaction
  settled   every output partition the killed transaction had written to
            is readable again under read_committed past what it wrote (its
            transaction aborted): decision consumers are no longer held
Without static membership the new instance waits for the dead member's
session to expire (consumer.session.timeout.ms) and its restore waits for
the broker to abort the dead transaction (transaction.timeout.ms); with it
the restarted instance takes its partitions back at once and its
init_transactions, under the same transactional.id, aborts its
predecessor's transaction.

Not a test: prints numbers.  Needs a real cluster (tests/kafka/
kafka_cluster.py) and /usr/bin/python3 (python3-confluent-kafka):

  GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR bench/bench_resume.py BUILD [ROUNDS]
"""
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "kafka"))
import kafka_it as it  # noqa: E402
import kafka_eos as eos  # noqa: E402


class A:
    pass


def round_(a, w, extra, seed):
    s = eos.Stream(a, w, copies=40, chunks=1)
    try:
        s.emit(0)
        d = s.start(extra)
        d.wait_log("assigned", 30)
        s.wait_progress(s.n // 5, 60, [d])
        held = eos.kill_in_txn(s, d, random.Random(seed))
        t0 = time.time()
        # what the dead transaction wrote: settled once the last stable
        # offset of each partition it held reaches the end it had then
        hw = {}
        for t in set(t for t, _ in held):
            marks = eos.watermarks(s.bootstrap, t, "read_uncommitted")
            for tt, p in held:
                if tt == t:
                    hw[(t, p)] = marks[p]
        before = s.progress()
        d2 = s.start(extra)
        assigned = resumed = settled = None
        deadline = t0 + 120
        while resumed is None or settled is None:
            it.check(time.time() < deadline, "did not resume in 120 s")
            if assigned is None and "assigned" in d2.text():
                assigned = time.time() - t0
            if resumed is None and s.progress() > before:
                resumed = time.time() - t0
            if settled is None:
                ok = True
                for t in set(t for t, _ in hw):
                    lso = eos.watermarks(s.bootstrap, t, "read_committed")
                    ok = ok and all(lso[p] >= hw[(tt, p)]
                                    for tt, p in hw if tt == t)
                if ok:
                    settled = time.time() - t0
            time.sleep(0.05)
        if assigned is None:
            assigned = resumed
        d2.stop()
        return assigned, resumed, settled
    finally:
        s.close()


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    it.check(it.real(), "set GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR")
    a = A()
    a.receiptctl = os.path.join(build, "tools", "receiptctl")
    a.receiptd = os.path.join(build, "consumers", "receiptd")
    a.data = os.path.join(HERE, "..", "tests", "data", "scenarios.jsonl")
    settings = [kv for kv in it.RECEIPTD_X + it.REAL_X
                if "timeout" in kv]
    print("receiptd settings: %s" % " ".join(settings))
    for name, extra in (("dynamic membership", ["batch.size=20"]),
                        ("static membership ", ["batch.size=20",
                                                "group.instance.id=bench"])):
        res = []
        for r in range(rounds):
            w = tempfile.mkdtemp(prefix="bench-resume-")
            res.append(round_(a, w, extra, r + 1))
        asg = sorted(x for x, _, _ in res)
        rsm = sorted(y for _, y, _ in res)
        stl = sorted(z for _, _, z in res)
        print("%s  kill -9 -> assigned %s s, -> resumed %s s, -> dead "
              "transaction settled for read_committed readers %s s "
              "(%d rounds)"
              % (name, " ".join("%.1f" % x for x in asg),
                 " ".join("%.1f" % y for y in rsm),
                 " ".join("%.1f" % z for z in stl), rounds))


if __name__ == "__main__":
    main()
