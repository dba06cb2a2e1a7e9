#!/usr/bin/python3
"""Exactly-once where it is enforced: receiptd on a real Apache Kafka
cluster (label kafka_real; GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR, see
kafka_it.py).  The embedded broker accepts transactions without enforcing
them, so none of this can be shown there.

Every test judges the committed outputs (read_committed) against
`receiptctl replay` over the same input, exactly: on a real cluster not
even an identical repeat may be visible.

  kill9_seeds  kill -9 of receiptd while a transaction of its is open, at
               points drawn from seeds 1..N (--kills N, default 20), each
               time restarted with the same static identity: the aborted
               transactions' records are in the log (read_uncommitted) and
               none is ever visible to read_committed readers; nothing lost
  offsets      offsets given to send_offsets_to_transaction are the
               group's committed offsets, equal to the checkpoint records;
               with the checkpoints deleted (tombstones) a restarted
               instance resumes exactly at the committed offsets
  zombie       an instance stopped (SIGSTOP) until its partitions moved to
               another one, then continued (SIGCONT), is fenced: none of
               its late outputs is visible
  handover     a previous owner's transactions still open when receiptd
               takes its partitions: one that already sent partition 1's
               offsets (receiptd waits until the group's offsets are
               stable), one that wrote partition 0's state without offsets
               (receiptd reads the state partition until no transaction is
               open); both commit late, and receiptd resumes at the
               checkpoints they committed
  compaction   the state topic really compacts (segment.ms=1000,
               min.cleanable.dirty.ratio=0.01): superseded state records
               disappear, and an instance restoring from the compacted
               topic goes on exactly as replay
  broker_kill  kill -9 of the broker leading the partitions in use, under
               load, restarted later: nothing lost, nothing repeated
  coordinator_kill  kill -9 of receiptd's transaction coordinator
  txn_timeout  transaction.timeout.ms above the broker's
               transaction.max.timeout.ms: receiptd refuses to start
  topics       deploy/create-topics.sh against the cluster (kafka-topics
               from the broker's jars); the topic configs read back with
               the admin API equal what the script sets

usage: kafka_eos.py TEST --receiptctl PATH --receiptd PATH --data FILE
                     [--kills N] [--keep]
Exit code 77 (skipped) when the cluster cannot serve the test (a fault
test on an external cluster, or on fewer than 3 nodes).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_it as it  # noqa: E402
import kafka_faults as kf  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402

SKIP = 77
OUTPUTS = [it.TOPICS["decisions"], it.TOPICS["ledger"], it.TOPICS["state"]]


class Skip(Exception):
    pass


def watermarks(bootstrap, topic, isolation):
    """High watermark per partition as seen under `isolation`
    (read_committed: the last stable offset)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-wm",
                  "isolation.level": isolation, "log_level": 3})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10,
                                        cached=False)[1]
                for p in range(it.PARTITIONS)]
    finally:
        c.close()


def open_txn(bootstrap):
    """Partitions of the output topics holding records of a transaction
    still open: [(topic, partition)]."""
    out = []
    for t in OUTPUTS:
        hw = watermarks(bootstrap, t, "read_uncommitted")
        lso = watermarks(bootstrap, t, "read_committed")
        out += [(t, p) for p in range(it.PARTITIONS) if hw[p] > lso[p]]
    return out


def records(bootstrap, topic, isolation, timeout=60):
    """{(partition, offset): value} of everything readable under
    `isolation`, to the high watermark."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-read",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "isolation.level": isolation, "fetch.wait.max.ms": 10,
                  "log_level": 3})
    from confluent_kafka import KafkaError
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(it.PARTITIONS)])
        eof, out = set(), {}
        deadline = time.time() + timeout
        while len(eof) < it.PARTITIONS:
            it.check(time.time() < deadline, "reading %s (%s): no end in %ds"
                     % (topic, isolation, timeout))
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                continue
            out[(m.partition(), m.offset())] = (
                m.key().decode() if m.key() else None,
                m.value().decode(errors="surrogateescape") if m.value() is not None else None)
        return out
    finally:
        c.close()


def need_nodes(b, n=3):
    if b.cluster.external or len(b.cluster.nodes) < n:
        raise Skip("needs a %d-node cluster started by kafka_cluster.py" % n)


class Stream:
    """Input (scenarios copied with distinct job ids), a real cluster with
    fresh topics, receiptd instances, and the verdict against replay."""

    def __init__(self, a, w, copies=12, chunks=4, overrides=None):
        it.check(it.real(), "kafka_eos.py runs on a real cluster only "
                 "(GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR)")
        self.a, self.w = a, w
        self.data = os.path.join(w, "input.jsonl")
        self.n, paths = it.make_input(a.data, self.data, copies, chunks)
        self.chunks = [[l for l in open(p).read().split("\n") if l]
                       for p in paths]
        if overrides:
            it.TOPIC_OVERRIDES.update(overrides)
        self.b = it.Broker(a.receiptctl, w)
        self.bootstrap = self.b.bootstrap
        self.em = kf.Emitter(self.bootstrap)
        self.daemons = []
        self.seq = 0
        self.fed_next = self.fed_emitted = 0   # what feed() has sent

    def start(self, extra=(), name=None):
        self.seq += 1
        d = it.Receiptd(self.a.receiptd, self.bootstrap, self.w,
                        name or "r%d" % self.seq, list(extra))
        d.extra = list(extra)
        self.daemons.append(d)
        return d

    def emit(self, i):
        self.em.send(self.chunks[i])

    def feed(self, ahead=300, upto=None):
        """Send the next chunks while the instances are within `ahead`
        records of what was sent, so that there is work in hand to
        interrupt; chunks from `upto` on are held back."""
        last = len(self.chunks) if upto is None else upto
        while self.fed_next < last and \
                self.progress() >= self.fed_emitted - ahead:
            self.emit(self.fed_next)
            self.fed_emitted += len(self.chunks[self.fed_next])
            self.fed_next += 1

    def supervise(self, restarts=3):
        """What systemd's Restart=on-failure does (deploy/receiptd.service):
        an instance that stopped after a fatal error (exit 1) is started
        again with the same arguments; at most `restarts` times."""
        for d in list(self.daemons):
            rc = d.p.poll()
            if rc is None or rc == 0 or getattr(d, "done", False):
                continue
            d.done = True
            it.check(rc == 1, "receiptd %s exited %s" % (d.name, rc))
            self.restarted = getattr(self, "restarted", 0) + 1
            it.check(self.restarted <= restarts, "more than %d restarts "
                     "after fatal errors" % restarts)
            self.start(d.extra)

    def live(self):
        return [d for d in self.daemons if d.p.poll() is None]

    def wait_supervised(self, minimum, timeout):
        """Until `minimum` records are checkpointed (None: all input),
        restarting instances that exit after a fatal error."""
        deadline = time.time() + timeout
        while True:
            if minimum is None:
                ends = it.end_offsets(self.bootstrap, it.TOPICS["events"])
                cps = it.checkpoints(self.bootstrap)
                if all(cps.get(p, 0) >= e for p, e in enumerate(ends)):
                    return
            elif self.progress() >= minimum:
                return
            self.supervise()
            it.check(time.time() < deadline, "not processed to %s within "
                     "%ds" % (minimum, timeout))
            time.sleep(0.3)

    def progress(self):
        return sum(it.checkpoints(self.bootstrap).values())

    def wait_progress(self, minimum, timeout, procs=()):
        deadline = time.time() + timeout
        while self.progress() < minimum:
            for d in procs:
                it.check(d.p.poll() is None, "receiptd %s died (rc %s)"
                         % (d.name, d.p.returncode))
            it.check(time.time() < deadline, "no progress to %d records "
                     "within %ds" % (minimum, timeout))
            time.sleep(0.2)

    def verdict(self):
        """Committed outputs equal replay exactly (no repeats)."""
        it.compare_outputs(self.a, self.bootstrap, self.data, exact=True)
        it.check(it.dlq_reasons(self.bootstrap) ==
                 it.replay_reject_reasons(self.a, self.data),
                 "DLQ reasons differ from replay's rejects")

    def close(self):
        for d in self.daemons:
            d.close()
        self.b.stop()


def kill_in_txn(s, d, rng, tries=40, feed=None):
    """SIGSTOP d at a random moment; when a transaction of its is open
    (records past the last stable offset), kill -9 it there, else let it
    go on and try again (`feed()` first, to keep it busy).  Returns the
    open partitions it was killed with."""
    for _ in range(tries):
        if feed:
            feed()
        time.sleep(rng.uniform(0.0, 0.3))
        it.check(d.p.poll() is None, "receiptd %s died (rc %s)"
                 % (d.name, d.p.returncode))
        d.p.send_signal(signal.SIGSTOP)
        held = open_txn(s.bootstrap)
        if held:
            d.kill9()
            return held
        d.p.send_signal(signal.SIGCONT)
    raise it.Fail("receiptd %s never caught with a transaction open in %d "
                  "tries" % (d.name, tries))


# --------------------------------------------------------------------------

def t_kill9_seeds(a, w):
    """(a)+(b): kill -9 mid-transaction at seeded random points."""
    s = Stream(a, w, copies=48, chunks=12)
    x = ["group.instance.id=eos-a", "batch.size=10"]
    try:
        s.feed()
        d = s.start(x)
        d.wait_log("assigned", 30)
        kills, held_total = [], 0
        seed = 0
        while len(kills) < a.kills:
            seed += 1
            rng = random.Random(seed)
            before = s.progress()
            held = kill_in_txn(s, d, rng, feed=s.feed)
            held_total += len(held)
            kills.append((seed, before, len(held)))
            d = s.start(x)
            # wait for the restarted instance to commit something
            s.wait_progress(before + 1, 60, [d])
        s.feed(ahead=10 ** 9)   # the rest of the input
        it.check(s.fed_next == len(s.chunks), "input not all sent")
        it.wait_processed(s.bootstrap, 120, [d])
        d.stop()
        # The killed transactions' records are in the log but never
        # visible to read_committed readers.
        aborted = 0
        for t in OUTPUTS:
            every = records(s.bootstrap, t, "read_uncommitted")
            committed = records(s.bootstrap, t, "read_committed")
            it.check(set(committed) <= set(every), "committed records "
                     "missing from the log of %s" % t)
            aborted += len(set(every) - set(committed))
        it.check(aborted > 0, "no aborted record found although %d kills "
                 "hit open transactions" % len(kills))
        s.verdict()
        print("kill9_seeds: %d events, %d kills -9 with a transaction open "
              "(seeds %d..%d; %d partitions held open in all), %d aborted "
              "records in the log, none visible; decisions and ledger equal "
              "replay exactly" % (s.n, len(kills), kills[0][0], kills[-1][0],
                                  held_total, aborted))
    finally:
        s.close()


def group_offsets(bootstrap, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "log_level": 3})
    try:
        tps = c.committed([TopicPartition(it.TOPICS["events"], p)
                           for p in range(it.PARTITIONS)], timeout=10)
        return dict((tp.partition, tp.offset) for tp in tps
                    if tp.offset >= 0)
    finally:
        c.close()


def group_of():
    return [kv.split("=", 1)[1] for kv in it.RECEIPTD_X
            if kv.startswith("group.id=")][-1]


def resumes(d):
    """{partition: (how, offset)} from receiptd's restore lines."""
    out = {}
    for l in d.text().splitlines():
        if "input resumes at" in l and l.startswith("receiptd: partition "):
            p = int(l.split()[2].rstrip(":"))
            tail = l.split("input resumes at ", 1)[1]
            if tail.startswith("checkpoint "):
                out[p] = ("checkpoint", int(tail.split()[1]))
            elif tail.startswith("committed offset "):
                out[p] = ("committed", int(tail.split()[2]))
            else:
                out[p] = ("beginning", 0)
    return out


def t_offsets(a, w):
    """(c): transactional offsets honoured, equal to the checkpoints."""
    s = Stream(a, w, copies=24, chunks=6)
    x = ["group.instance.id=eos-off", "batch.size=20"]

    def feed():
        """Input ahead of the instance, so that it is busy when it is
        killed; the last chunk is kept for the restart."""
        s.feed(ahead=100, upto=len(s.chunks) - 1)
    try:
        feed()
        d = s.start(x)
        d.wait_log("assigned", 30)
        s.wait_progress(len(s.chunks[0]) // 2, 60, [d])
        kill_in_txn(s, d, random.Random(7), feed=feed)
        group = group_of()
        # The killed transaction's offsets were never committed; what the
        # group has is what the checkpoints say.  (The next instance's
        # init_transactions aborts the open one: until then the state topic
        # is not stable, so restart first, without reading.)
        probe = s.start(x, "probe")
        probe.wait_log("input resumes", 30)
        probe.kill9()
        # The probe may have died inside a transaction that had already
        # sent its offsets: they stay pending (unstable) until that
        # transaction ends.  End it as a restart would: init_transactions
        # under the same transactional.id (<group.id>-<group.instance.id>)
        # aborts it at once.
        from confluent_kafka import Producer, KafkaException
        fence = Producer({"bootstrap.servers": s.bootstrap,
                          "transactional.id": group + "-eos-off",
                          "log_level": 3})
        fence.init_transactions(30)
        deadline = time.time() + 15
        while True:
            try:
                offs = group_offsets(s.bootstrap, group)
            except KafkaException:
                offs = {}   # still unstable: markers on their way
            cps = it.checkpoints(s.bootstrap)
            if (offs and offs == cps) or time.time() > deadline:
                break
            time.sleep(0.5)
        it.check(offs and offs == cps, "committed group offsets %s differ "
                 "from the checkpoint records %s" % (offs, cps))
        # Delete the checkpoints (tombstones, as an operator could): the
        # restarted instance must resume at the committed offsets.
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": s.bootstrap, "log_level": 3})
        for part in range(it.PARTITIONS):
            p.produce(it.TOPICS["state"], key="__checkpoint__.%d" % part,
                      value=None, partition=part)
        it.check(p.flush(30) == 0, "tombstones not delivered")
        s.feed(ahead=10 ** 9)   # the rest of the input
        d2 = s.start(x)
        it.wait_processed(s.bootstrap, 120, [d2])
        d2.stop()
        got = resumes(d2)
        want = dict((p_, ("committed", o)) for p_, o in offs.items())
        it.check(all(got.get(p_) == v for p_, v in want.items()),
                 "restart did not resume at the committed offsets: %s, "
                 "wanted %s" % (got, want))
        s.verdict()
        print("offsets: committed group offsets %s equal the checkpoints; "
              "with the checkpoints deleted the restart resumed there; "
              "outputs equal replay exactly" % sorted(offs.items()))
    finally:
        s.close()


def t_zombie(a, w):
    """(d): SIGSTOP until the partitions move, SIGCONT: fenced."""
    s = Stream(a, w, copies=12, chunks=3)
    try:
        s.emit(0)
        za = s.start(["batch.size=10"], "zombie")
        za.wait_log("assigned", 30)
        s.wait_progress(s.n // 6, 60, [za])
        za.p.send_signal(signal.SIGSTOP)
        t0 = time.time()
        db = s.start([], "B")
        db.wait_log("assigned", 30)
        s.emit(1)
        # B has everything once all input so far is checkpointed (the
        # zombie cannot checkpoint while stopped).
        it.wait_processed(s.bootstrap, 120, [db])
        moved = time.time() - t0
        za.p.send_signal(signal.SIGCONT)
        # Let the zombie run into its fence: it exits, or keeps running
        # with no partitions; either way bounded.
        deadline = time.time() + 40
        while za.p.poll() is None and time.time() < deadline:
            time.sleep(0.5)
        s.emit(2)
        it.wait_processed(s.bootstrap, 120, [db])
        db.stop()
        if za.p.poll() is None:
            za.p.send_signal(signal.SIGTERM)
            try:
                za.p.wait(30)
            except subprocess.TimeoutExpired:
                za.kill9()
        zlog = za.text()
        it.check(any(k in zlog for k in (" lost", "fenced", "Fenced")),
                 "the zombie never noticed it was fenced:\n" + zlog)
        s.verdict()
        fence = [l for l in zlog.splitlines()
                 if any(k in l.lower() for k in ("fenced", "fatal", "abort",
                                                  "lost", "revok"))]
        print("zombie: stopped %.0fs until B had every partition; after "
              "SIGCONT it found itself fenced (exit %s after SIGTERM or on its own); outputs equal replay exactly (none of "
              "its late outputs visible). zombie's log: %s"
              % (moved, za.p.returncode, " | ".join(fence[-3:])))
    finally:
        s.close()


def t_handover(a, w):
    """A previous owner (two transactional producers in receiptd's group,
    standing in for an instance stopped mid-commit) leaves transactions
    open; receiptd, taking the partitions, must not restore before they
    end, or it resumes behind their checkpoints once they commit (every
    record between repeated)."""
    from confluent_kafka import Producer
    s = Stream(a, w, copies=12, chunks=2)
    try:
        s.emit(0)
        # Dynamic members: a closing instance leaves the group at once.
        d = s.start([])
        d.wait_log("assigned", 30)
        it.wait_processed(s.bootstrap, 120, [d])
        d.stop()
        before = it.checkpoints(s.bootstrap)
        s.emit(1)
        ends = it.end_offsets(s.bootstrap, it.TOPICS["events"])
        it.check(ends[0] > before.get(0, 0) and ends[1] > before.get(1, 0),
                 "chunk 1 put no events in partitions 0 and 1: %s vs %s"
                 % (ends, before))
        group = group_of()
        owner = Consumer({"bootstrap.servers": s.bootstrap,
                          "group.id": group, "log_level": 3,
                          "enable.auto.commit": False,
                          "partition.assignment.strategy":
                              "cooperative-sticky",
                          "isolation.level": "read_committed"})
        got = []
        owner.subscribe([it.TOPICS["events"]],
                        on_assign=lambda c, ps: got.extend(ps))
        deadline = time.time() + 30
        while not got:
            it.check(time.time() < deadline, "stand-in owner not assigned")
            owner.poll(0.2)

        def txn(name):
            p = Producer({"bootstrap.servers": s.bootstrap,
                          "transactional.id": "eos-ho-" + name,
                          "log_level": 3})
            p.init_transactions(30)
            p.begin_transaction()
            return p

        def checkpoint(p, part, off):
            p.produce(it.TOPICS["state"], key="__checkpoint__.%d" % part,
                      value=json.dumps({"topic": it.TOPICS["events"],
                                        "partition": part,
                                        "next_offset": off},
                                       separators=(",", ":")),
                      partition=part)
            it.check(p.flush(30) == 0, "checkpoint not delivered")

        # Partition 0: state written, no offsets sent.
        p0 = txn("state")
        checkpoint(p0, 0, ends[0])
        # Partition 1: state written and the offsets sent with the
        # stand-in's group generation, then the commit held back.
        p1 = txn("offsets")
        checkpoint(p1, 1, ends[1])
        p1.send_offsets_to_transaction(
            [TopicPartition(it.TOPICS["events"], 1, ends[1])],
            owner.consumer_group_metadata(), 30)
        owner.close()   # leaves the group: the partitions move
        t0 = time.time()
        d2 = s.start([])
        d2.wait_log("assigned", 30)
        time.sleep(3)
        it.check("partition 0: restored" not in d2.text(), "receiptd "
                 "restored partition 0 while a transaction was open on "
                 "its state partition:\n" + d2.text())
        p0.commit_transaction(30)
        d2.wait_log("still open with this partition's offsets", 30)
        time.sleep(2)
        it.check("partition 1: restored" not in d2.text(), "receiptd "
                 "restored partition 1 while its offsets were unstable")
        p1.commit_transaction(30)
        held = time.time() - t0
        it.wait_processed(s.bootstrap, 120, [d2])
        d2.stop()
        got = resumes(d2)
        want = {0: ("checkpoint", ends[0]), 1: ("checkpoint", ends[1])}
        it.check(all(got.get(k) == v for k, v in want.items()),
                 "resumed at %s, wanted %s (the late commits' checkpoints)"
                 % (got, want))
        waits = [l for l in d2.text().splitlines() if "of that," in l]
        it.check(any(l.startswith("receiptd: partition 0:") and
                     "for a transaction open in the state topic" in l and
                     not l.endswith(" 0 ms for a transaction open in the "
                                    "state topic to end") for l in waits),
                 "no wait for the open state transaction on partition 0: "
                 "%s" % waits)
        print("handover: receiptd held partitions 0 and 1 for %.1fs until "
              "the previous owner's transactions committed, then resumed "
              "at their checkpoints %s; %s"
              % (held, [ends[0], ends[1]], " | ".join(waits)))
    finally:
        s.close()


def superseded(bootstrap):
    """State records (read_uncommitted, the raw log) whose key comes again
    later in the same partition, and the number of records read."""
    recs = records(bootstrap, it.TOPICS["state"], "read_uncommitted")
    last = {}
    for (p, o), (k, _) in sorted(recs.items()):
        last[(p, k)] = o
    sup = sum(1 for (p, o), (k, _) in recs.items() if last[(p, k)] != o)
    return sup, len(recs)


def t_compaction(a, w):
    """(e): the state topic compacts; restore from it equals replay."""
    s = Stream(a, w, copies=16, chunks=4, overrides={"job.state": {
        "segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "0", "delete.retention.ms": "1000"}})
    try:
        d = s.start(["group.instance.id=eos-cmp"])
        d.wait_log("assigned", 30)
        for i in range(3):
            s.emit(i)
            time.sleep(1.2)     # segments roll on time (segment.ms)
        it.wait_processed(s.bootstrap, 120, [d])
        sup0, n0 = superseded(s.bootstrap)
        it.check(sup0 > 0, "no superseded state records to compact")
        # Keep appending (one record rolls a segment past segment.ms) until
        # the cleaner has removed superseded records; bounded.
        deadline, sup, n = time.time() + 90, sup0, n0
        k = 0
        while sup >= sup0:
            it.check(time.time() < deadline, "state topic not compacted in "
                     "90s: %d superseded of %d records" % (sup, n))
            time.sleep(1.5)
            from confluent_kafka import Producer
            p = Producer({"bootstrap.servers": s.bootstrap, "log_level": 3})
            for part in range(it.PARTITIONS):
                # a key no restore looks at: another partition's checkpoint
                # (skipped by restore: "not ours")
                p.produce(it.TOPICS["state"], partition=part,
                          key="__checkpoint__.%d" % (part + 1000 + k),
                          value=None)
            p.flush(10)
            k += 1
            sup, n = superseded(s.bootstrap)
        d.stop()
        # A new instance restores from the compacted topic and goes on.
        s.emit(3)
        d2 = s.start(["group.instance.id=eos-cmp"])
        it.wait_processed(s.bootstrap, 120, [d2])
        d2.stop()
        s.verdict()
        print("compaction: state topic %d records (%d superseded) -> %d "
              "records (%d superseded) after the cleaner ran; restore from "
              "the compacted topic, then the rest of the input: outputs equal "
              "replay exactly" % (n0, sup0, n, sup))
    finally:
        s.close()


def t_broker_kill(a, w, coordinator=False, static=False):
    """(f): kill -9 of a broker under load, restarted later.  receiptd runs
    supervised (restarted after a fatal exit, as systemd does)."""
    s = Stream(a, w, copies=20, chunks=4)
    need_nodes(s.b)
    inst = "eos-bk"
    x = ["batch.size=20"] + (["group.instance.id=" + inst] if static else [])
    try:
        d = s.start(x)
        d.wait_log("assigned", 30)
        s.emit(0)
        s.em.stream(s.chunks[1] + s.chunks[2], 6)
        s.wait_supervised(s.n // 8, 60)
        cl = s.b.cluster
        if coordinator:
            txnid = "%s-%s" % (group_of(), inst) if static else None
            victim = txn_coordinator(cl, txnid) if txnid else \
                coordinator_of_log(d)
            what = "transaction coordinator"
        else:
            victim = cl.leader(it.TOPICS["events"], 0)
            what = "leader of %s[0]" % it.TOPICS["events"]
        before = s.progress()
        cl.kill9(victim)
        # With RF 3 and min.insync.replicas=2 it should go on without the
        # node; reported, not required (a transaction caught by the kill
        # may first have to time out), then the node comes back.
        t_kill = time.time()
        try:
            s.wait_supervised(before + 1, 30)
            down = "went on %.1f s after the kill" % (time.time() - t_kill)
        except it.Fail:
            down = "no commit in 30 s with the node down"
        cl.restart(victim, 90)
        s.em.join(90)
        s.emit(3)
        s.wait_supervised(None, 180)
        for dd in s.live():
            dd.stop()
        s.verdict()
        print("%s (%s membership): %d events; node %d (%s) killed -9 under "
              "load (%s) and restarted; %d receiptd restarts after fatal "
              "errors; nothing lost, nothing repeated"
              % ("coordinator_kill" if coordinator else "broker_kill",
                 "static" if static else "dynamic", s.n, victim, what, down,
                 getattr(s, "restarted", 0)))
    finally:
        s.close()


def coordinator_of_log(d):
    raise it.Fail("no transactional.id known for %s" % d.name)


def java_hash(s):
    h = 0
    for ch in s.encode("utf-16-be").decode("utf-16-be"):
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def txn_coordinator(cl, txnid):
    """The broker leading the __transaction_state partition of txnid
    (Kafka: abs(hashCode) % transaction.state.log.num.partitions)."""
    md = cl.admin().list_topics("__transaction_state", timeout=10)
    parts = md.topics["__transaction_state"].partitions
    h = java_hash(txnid)
    p = 0 if h == -(1 << 31) else abs(h) % len(parts)
    return parts[p].leader


def t_coordinator_kill(a, w):
    t_broker_kill(a, w, coordinator=True, static=True)


def t_broker_kill_static(a, w):
    t_broker_kill(a, w, static=True)


def t_topics(a, w):
    """deploy/create-topics.sh on the real cluster, configs read back."""
    from confluent_kafka.admin import AdminClient, ConfigResource
    cl = it.kafka_cluster.Cluster(os.environ["GR_KAFKA_CLUSTER"])
    if cl.external:
        raise Skip("needs the broker's jars (kafka-topics)")
    kt = os.path.join(w, "kafka-topics")
    with open(kt, "w") as f:
        f.write("#!/bin/sh\nexec java -Xmx256m -XX:TieredStopAtLevel=1 "
                "-Dlog4j2.configurationFile=%s -cp '%s' "
                "org.apache.kafka.tools.TopicCommand \"$@\"\n"
                % (os.path.join(cl.dir, "log4j2.properties"),
                   cl.info["classpath"]))
    os.chmod(kt, 0o755)
    prefix = "deploycheck%d." % os.getpid()
    n = len(cl.nodes)
    env = dict(os.environ, BOOTSTRAP=cl.bootstrap, PREFIX=prefix,
               PARTITIONS="3", REPLICAS=str(3 if n >= 3 else 1),
               MIN_ISR=str(2 if n >= 3 else 1), KAFKA_TOPICS=kt)
    r = subprocess.run(["sh", it.DEPLOY_TOPICS], env=env,
                       capture_output=True, text=True, timeout=300)
    it.check(r.returncode == 0, "create-topics.sh failed:\n%s%s"
             % (r.stdout, r.stderr))
    # Idempotent: a second run leaves them alone and succeeds.
    r2 = subprocess.run(["sh", it.DEPLOY_TOPICS], env=env,
                        capture_output=True, text=True, timeout=300)
    it.check(r2.returncode == 0, "create-topics.sh, second run:\n%s%s"
             % (r2.stdout, r2.stderr))
    ad = AdminClient({"bootstrap.servers": cl.bootstrap, "log_level": 3})
    want = it.deploy_topics()
    md = ad.list_topics(timeout=10).topics
    res = [ConfigResource("topic", prefix + t) for t in want]
    got = {}
    for rs, f in ad.describe_configs(res).items():
        got[rs.name] = dict((k, v.value) for k, v in f.result().items())
    checked = 0
    try:
        for t, cfg in want.items():
            name = prefix + t
            it.check(name in md and len(md[name].partitions) == 3,
                     "%s: not created with 3 partitions" % name)
            reps = len(md[name].partitions[0].replicas)
            it.check(reps == int(env["REPLICAS"]), "%s: %d replicas"
                     % (name, reps))
            cfg = dict(cfg, **{"min.insync.replicas": env["MIN_ISR"]})
            for k, v in cfg.items():
                it.check(got[name].get(k) == v, "%s: %s=%s, script sets %s"
                         % (name, k, got[name].get(k), v))
                checked += 1
        it.check(got[prefix + "job.state"]["cleanup.policy"] == "compact",
                 "state topic not compacted")
    finally:
        for f in ad.delete_topics([prefix + t for t in want]).values():
            try:
                f.result()
            except Exception:
                pass
    print("topics: deploy/create-topics.sh made %d topics on Kafka; %d "
          "configs read back with the admin API equal the script's "
          "(state topic cleanup.policy=compact)" % (len(want), checked))


def t_txn_timeout(a, w):
    """transaction.timeout.ms above the broker's transaction.max.timeout.ms
    (900000, Kafka's default): the broker refuses the producer id, receiptd
    refuses to start with the broker's reason, instead of running without
    exactly-once."""
    s = Stream(a, w, copies=1, chunks=1)
    try:
        d = s.start(["producer.transaction.timeout.ms=3600000"])
        try:
            rc = d.p.wait(60)
        except subprocess.TimeoutExpired:
            raise it.Fail("receiptd started with transaction.timeout.ms "
                          "above the broker's maximum")
        log = d.text()
        it.check(rc != 0 and "INVALID_TRANSACTION_TIMEOUT" in log,
                 "rc %s, log:\n%s" % (rc, log))
        print("txn_timeout: receiptd refused to start (exit %d): %s" % (
            rc, [l for l in log.splitlines()
                 if "INVALID_TRANSACTION_TIMEOUT" in l][0]))
    finally:
        s.close()


TESTS = {"kill9_seeds": t_kill9_seeds, "offsets": t_offsets,
         "zombie": t_zombie, "compaction": t_compaction,
         "handover": t_handover,
         "broker_kill": t_broker_kill,
         "broker_kill_static": t_broker_kill_static,
         "coordinator_kill": t_coordinator_kill,
         "topics": t_topics, "txn_timeout": t_txn_timeout}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--keep", action="store_true")
    it.add_broker_args(ap)
    a = ap.parse_args()
    it.use_broker_args(a)
    w = tempfile.mkdtemp(prefix="kafka-eos-%s-" % a.test)
    try:
        TESTS[a.test](a, w)
    except Skip as e:
        print("SKIP %s: %s" % (a.test, e))
        return SKIP
    except (it.Fail, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.test, e))
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                with open(os.path.join(w, name)) as f:
                    print("---- %s (last 30 lines)" % name)
                    print("".join(f.readlines()[-30:]))
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
        else:
            print("kept %s" % w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
