#!/usr/bin/python3
"""Fault suite for receiptd on the embedded broker (label `faults`).

Each fault runs on its own `receiptctl broker --brokers 3`: receiptd
instances process a stream of events (the scenarios of tests/data, copied
with distinct job ids) while the fault is injected, then the run is judged
against `receiptctl replay` over the same input:

  - every decision replay makes is on the decisions topic (none lost);
  - a decision_id seen more than once has identical bytes every time, and
    no decision_id appears that replay does not make (no conflicts);
  - per job, the last decision published and the set of decision_ids are
    replay's;
  - ledger rows likewise, keyed (job_id, seq); DLQ records, deduplicated by
    their source offset, carry replay's reject reasons.

It prints a table (fault, events, decisions expected/seen, lost,
conflicting, ...) and fails when any fault lost or conflicted anything or
did not finish in time.  Every wait is bounded.

usage: kafka_faults.py --receiptctl PATH --receiptd PATH --data FILE
                       [--seed N] [--only NAME[,NAME...]] [--keep]
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_it as it  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

BROKERS = 3
ALL_TOPICS = list(it.TOPICS.values()) + ["gpu.job.ledger.heads"]

# Kafka ApiKeys and error codes used below (Kafka protocol numbering).
API = {"Produce": 0, "Fetch": 1, "JoinGroup": 11, "Heartbeat": 12,
       "SyncGroup": 14, "AddPartitionsToTxn": 24, "AddOffsetsToTxn": 25,
       "EndTxn": 26, "TxnOffsetCommit": 28}
ERR = {"OFFSET_OUT_OF_RANGE": 1, "NOT_LEADER_FOR_PARTITION": 6,
       "REQUEST_TIMED_OUT": 7, "COORDINATOR_LOAD_IN_PROGRESS": 14,
       "COORDINATOR_NOT_AVAILABLE": 15, "NOT_COORDINATOR": 16,
       "NOT_ENOUGH_REPLICAS": 19, "ILLEGAL_GENERATION": 22,
       "UNKNOWN_MEMBER_ID": 25, "REBALANCE_IN_PROGRESS": 27,
       "INVALID_TXN_STATE": 48, "CONCURRENT_TRANSACTIONS": 51,
       "KAFKA_STORAGE_ERROR": 56, "INVALID_RECORD": 87}


def inject(broker, api, err, count=1):
    broker.control("errors %d %d %d" % (API[api], ERR[err], count))


class Cluster(it.EmbeddedBroker):
    """`receiptctl broker --brokers N` (kafka_it.Broker runs one broker)."""

    def __init__(self, receiptctl, workdir, brokers=BROKERS,
                 partitions=it.PARTITIONS):
        self.err = open(os.path.join(workdir, "broker.log"), "w")
        self.p = subprocess.Popen(
            [receiptctl, "broker", "--partitions", str(partitions),
             "--brokers", str(brokers)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            text=True, bufsize=1)
        line = self._readline(10)
        it.check(line.startswith("bootstrap.servers="),
                 "broker: first line was %r" % line)
        self.bootstrap = line.strip().split("=", 1)[1]


class Emitter:
    """Publishes input lines keyed by job_id (murmur2, idempotent), from
    the test thread or from a background thread at a steady pace."""

    def __init__(self, bootstrap):
        self.p = Producer({"bootstrap.servers": bootstrap,
                           "partitioner": "murmur2_random",
                           "enable.idempotence": True, "linger.ms": 5,
                           "message.timeout.ms": 60000, "log_level": 3})
        self.thread = None
        self.error = None

    def send(self, lines, timeout=60):
        for l in lines:
            self.p.produce(it.TOPICS["events"], key=json.loads(l)["job_id"],
                           value=l)
            self.p.poll(0)
        left = self.p.flush(timeout)
        it.check(left == 0, "emitter: %d records not delivered in %ds"
                 % (left, timeout))

    def stream(self, lines, seconds):
        """Send lines spread evenly over `seconds` in the background."""
        def run():
            try:
                step = max(1, len(lines) // max(1, int(seconds * 10)))
                for i in range(0, len(lines), step):
                    self.send(lines[i:i + step])
                    time.sleep(0.1)
            except Exception as e:  # reported by join()
                self.error = e
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout):
        if self.thread:
            self.thread.join(timeout)
            it.check(not self.thread.is_alive(), "emitter did not finish")
            self.thread = None
        if self.error:
            raise self.error


class Run:
    """One fault: its broker, input, receiptd instances and verdict."""

    def __init__(self, a, workdir, name, copies=8, chunks=6):
        self.a, self.name = a, name
        self.w = os.path.join(workdir, name)
        os.makedirs(self.w)
        self.data = os.path.join(self.w, "input.jsonl")
        self.n, paths = it.make_input(a.data, self.data, copies, chunks)
        self.chunks = [[l for l in open(p).read().split("\n") if l]
                       for p in paths]
        self.b = Cluster(a.receiptctl, self.w)
        self.em = Emitter(self.b.bootstrap)
        self.daemons = []
        self.seq = 0
        self.restarts = 0
        self.max_restarts = 0   # restarts after fatal errors allowed

    def start(self, extra=()):
        self.seq += 1
        d = it.Receiptd(self.a.receiptd, self.b.bootstrap, self.w,
                        "%s-%d" % (self.name, self.seq), extra)
        self.daemons.append(d)
        return d

    def live(self):
        return [d for d in self.daemons if d.p.poll() is None]

    def emit(self, i):
        self.em.send(self.chunks[i])

    def supervise(self):
        """What systemd's Restart=on-failure does (deploy/receiptd.service):
        an instance that stopped after a fatal error (exit 1) is started
        again; any other exit while supervised fails the run."""
        for d in list(self.daemons):
            rc = d.p.poll()
            if rc is None or rc == 0 or getattr(d, "done", False):
                continue   # running, stopped by SIGTERM, or killed -9
            d.done = True
            it.check(rc == 1, "receiptd %s exited %s" % (d.name, rc))
            it.check(self.restarts < self.max_restarts,
                     "receiptd %s stopped after a fatal error (restart %d "
                     "of at most %d)" % (d.name, self.restarts + 1,
                                         self.max_restarts))
            self.restarts += 1
            self.start()

    def kill9(self, d):
        d.kill9()
        d.done = True
        self.restarts += 1

    def wait(self, minimum, timeout):
        """Until the checkpoints have passed `minimum` records in all
        (None: every input partition's end)."""
        ends = it.end_offsets(self.b.bootstrap, it.TOPICS["events"])
        deadline = time.time() + timeout
        while True:
            cps = it.checkpoints(self.b.bootstrap)
            if minimum is None:
                if all(cps.get(p, 0) >= e for p, e in enumerate(ends)):
                    return
            elif sum(cps.values()) >= minimum:
                return
            self.supervise()
            it.check(time.time() < deadline,
                     "not processed within %ds: input ends %s, checkpoints "
                     "%s, wanted %s" % (timeout, ends, cps, minimum))
            time.sleep(0.3)

    def settle(self, timeout=90):
        """Until every input record is checkpointed, then stop cleanly."""
        self.wait(None, timeout)
        for d in self.live():
            d.stop()

    def close(self):
        for d in self.daemons:
            d.close()
        self.b.stop()

    def logs(self):
        out = []
        for d in self.daemons:
            out.append("---- receiptd %s (last 25 lines)\n%s" % (
                d.name, "\n".join(d.text().splitlines()[-25:])))
        return "\n".join(out)


# --------------------------------------------------------------------------
# The verdict

def judge(run):
    """Compare the output topics with replay; returns the table row."""
    bs, rctl = run.b.bootstrap, run.a.receiptctl
    row = {"fault": run.name, "events": run.n, "restarts": run.restarts}

    dec = [v for _, _, _, v, _ in it.read_topic(bs, it.TOPICS["decisions"])]
    rdec = it.replay(rctl, run.data, "decisions")
    exp = {json.loads(l)["decision_id"]: l for l in rdec}
    seen, conflict = {}, set()
    last = {}
    for l in dec:
        j = json.loads(l)
        i = j["decision_id"]
        if exp.get(i) != l:
            conflict.add(i)   # differs from replay, or replay has no such id
        seen.setdefault(i, l)
        last[j["job_id"]] = l
    rlast = {}
    for l in rdec:
        rlast[json.loads(l)["job_id"]] = l
    bad_last = [j for j in rlast if last.get(j) != rlast[j]]
    bad_last += [j for j in last if j not in rlast]
    lost = [i for i in exp if i not in seen]
    row.update(expected=len(rdec), seen=len(dec), distinct=len(seen),
               lost=len(lost), conflicting=len(conflict),
               bad_last=len(set(bad_last)))

    led = [v for _, _, _, v, _ in it.read_topic(bs, it.TOPICS["ledger"])]
    rled = {it.ledger_id(l): l for l in it.replay(rctl, run.data, "ledger")}
    lseen, lconf = set(), set()
    for l in led:
        i = it.ledger_id(l)
        if rled.get(i) != l:
            lconf.add(i)
        lseen.add(i)
    row.update(ledger_lost=len(set(rled) - lseen), ledger_conf=len(lconf))

    dlq = {}
    for p, o, k, v, h in it.read_topic(bs, it.TOPICS["dlq"]):
        src = (h.get("gr.error.partition"), h.get("gr.error.offset"))
        if src[1] in (None, "-1"):
            src = (k, v)
        dlq[src] = h.get("gr.error.reason")
    row["dlq_ok"] = (sorted(dlq.values()) ==
                     it.replay_reject_reasons(run.a, run.data))
    row["ok"] = (not row["lost"] and not row["conflicting"] and
                 not row["bad_last"] and not row["ledger_lost"] and
                 not row["ledger_conf"] and row["dlq_ok"])
    if lost or conflict or bad_last:
        row["detail"] = ("lost %s conflicting %s last-differs %s"
                         % (sorted(lost)[:5], sorted(conflict)[:5],
                            sorted(set(bad_last))[:5]))
    return row


# --------------------------------------------------------------------------
# The faults

FAULTS = collections.OrderedDict()


def fault(name):
    def reg(f):
        FAULTS[name] = f
        return f
    return reg


@fault("broker_down_up")
def f_broker_down_up(run, rng):
    """One broker of three down for 3 s mid-stream, later the whole
    cluster for 2 s; events keep arriving around both outages."""
    d = run.start()
    d.wait_log("assigned", 30)
    run.emit(0)
    run.emit(1)
    run.wait(len(run.chunks[0]), 30)
    run.b.control("down 2")
    run.em.stream(run.chunks[2], 1)   # partitions led by 2 wait for it
    time.sleep(3)
    run.b.control("up 2")
    run.em.join(60)
    run.emit(3)
    run.b.control("down -1")
    run.em.stream(run.chunks[4], 1)
    time.sleep(2)
    run.b.control("up -1")
    run.em.join(60)
    run.emit(5)
    run.settle()


@fault("leader_moves")
def f_leader_moves(run, rng):
    """Every partition of every topic changes leader between chunks, three
    times, while receiptd is consuming and producing."""
    d = run.start()
    d.wait_log("assigned", 30)
    for i in range(len(run.chunks)):
        run.emit(i)
        if i in (1, 3, 4):
            time.sleep(0.2)
            for t in ALL_TOPICS:
                for p in range(it.PARTITIONS):
                    run.b.control("leader %s %d %d"
                                  % (t, p, (p + i) % BROKERS + 1))
    run.settle()


def error_fault(run, injections, before_start=False, extra_instance=False,
                max_restarts=0):
    """Emit a chunk, inject a list of (api, err, count), wait until the
    chunk is processed, clear those APIs, next chunk."""
    run.max_restarts = max_restarts
    if before_start:
        for inj in injections[0]:
            inject(run.b, *inj)
    d = run.start()
    d.wait_log("assigned", 40)
    done = 0
    for i in range(len(run.chunks)):
        run.emit(i)
        done += len(run.chunks[i])
        injs = injections[i % len(injections)]
        for inj in injs:
            inject(run.b, *inj)
        if extra_instance and i == 2:
            run.start()   # a join (and rebalance) while errors are pending
        run.wait(done, 60)
        for api in set(x[0] for x in injs):
            run.b.control("clear %d" % API[api])
    run.settle()


@fault("err_produce")
def f_err_produce(run, rng):
    """ProduceRequests fail: retriable errors the client retries, then a
    non-retriable one that fails a delivery and aborts the batch."""
    error_fault(run, [
        [("Produce", "NOT_LEADER_FOR_PARTITION", 5)],
        [("Produce", "NOT_ENOUGH_REPLICAS", 3),
         ("Produce", "REQUEST_TIMED_OUT", 2)],
        [("Produce", "INVALID_RECORD", 1)],
        [("Produce", "KAFKA_STORAGE_ERROR", 3)],
    ])


@fault("err_fetch")
def f_err_fetch(run, rng):
    """FetchRequests fail: leader errors, storage errors, and an
    out-of-range answer that sends the consumer back to the earliest
    offset (records before the resume point must be skipped)."""
    error_fault(run, [
        [("Fetch", "NOT_LEADER_FOR_PARTITION", 5)],
        [("Fetch", "KAFKA_STORAGE_ERROR", 3)],
        [("Fetch", "OFFSET_OUT_OF_RANGE", 2)],
    ])


@fault("err_endtxn")
def f_err_endtxn(run, rng):
    """EndTxn (commit) fails: retriable, coordinator moves, and a
    transaction state the client cannot continue from."""
    error_fault(run, [
        [("EndTxn", "CONCURRENT_TRANSACTIONS", 3)],
        [("EndTxn", "NOT_COORDINATOR", 2)],
        [("EndTxn", "COORDINATOR_NOT_AVAILABLE", 2)],
        [("EndTxn", "INVALID_TXN_STATE", 1)],
    ], max_restarts=1)   # fatal for the producer: receiptd exits 1


@fault("err_txnoffsetcommit")
def f_err_txnoffsetcommit(run, rng):
    """TxnOffsetCommit fails: coordinator loading/moved, and a fenced
    generation (the batch must be aborted and redone)."""
    error_fault(run, [
        [("TxnOffsetCommit", "COORDINATOR_LOAD_IN_PROGRESS", 3)],
        [("TxnOffsetCommit", "NOT_COORDINATOR", 2)],
        [("TxnOffsetCommit", "ILLEGAL_GENERATION", 1)],
        [("TxnOffsetCommit", "UNKNOWN_MEMBER_ID", 1)],
    ])


@fault("err_joingroup")
def f_err_joingroup(run, rng):
    """JoinGroup fails at the first join and again when a second instance
    joins mid-stream."""
    error_fault(run, [
        [("JoinGroup", "COORDINATOR_LOAD_IN_PROGRESS", 2),
         ("JoinGroup", "REBALANCE_IN_PROGRESS", 1)],
        [],
        [("JoinGroup", "NOT_COORDINATOR", 2)],
    ], before_start=True, extra_instance=True)


@fault("err_heartbeat")
def f_err_heartbeat(run, rng):
    """Heartbeats fail: a rebalance in progress (rejoin, revoke), an
    unknown member and an illegal generation (assignment lost)."""
    error_fault(run, [
        [("Heartbeat", "REBALANCE_IN_PROGRESS", 2)],
        [("Heartbeat", "UNKNOWN_MEMBER_ID", 1)],
        [("Heartbeat", "ILLEGAL_GENERATION", 1)],
    ])


@fault("kill9_repeated")
def f_kill9_repeated(run, rng):
    """Events stream in for ~30 s; receiptd is killed -9 at a random moment
    (seeded) after each assignment, restarted, five times in a row (once
    with no delay at all: mid-restore or mid first batch)."""
    lines = [l for c in run.chunks for l in c]
    d = run.start()
    d.wait_log("assigned", 30)
    run.em.stream(lines, 30)
    for i in range(5):
        time.sleep(0.0 if i == 2 else rng.uniform(0.05, 2.0))
        run.kill9(d)
        d = run.start()
        d.wait_log("assigned", 30)
    run.em.join(60)
    run.settle(120)


@fault("rebalance_two")
def f_rebalance_two(run, rng, extra=()):
    """Two instances share the group while events flow in the background:
    B joins, A leaves, A' joins, B leaves; A' finishes (cooperative-sticky,
    receiptd's default: incremental assign/unassign)."""
    lines = [l for c in run.chunks for l in c]
    a = run.start(extra)
    a.wait_log("assigned", 30)
    run.em.stream(lines, 12)
    time.sleep(1.5)
    b = run.start(extra)
    b.wait_log("assigned", 30)
    time.sleep(1.5)
    a.stop()
    a2 = run.start(extra)
    a2.wait_log("assigned", 30)
    time.sleep(1.5)
    b.stop()
    run.em.join(60)
    run.settle()
    it.check(a2.p.returncode == 0, "A' did not stop cleanly")
    proto = "(EAGER)" if extra else "(COOPERATIVE)"
    it.check(proto in a2.text(), "A' did not rebalance %s" % proto)


@fault("rebalance_eager")
def f_rebalance_eager(run, rng):
    """rebalance_two under the EAGER protocol (range assignor): every
    rebalance revokes everything, then assigns anew."""
    f_rebalance_two(run, rng, ["partition.assignment.strategy=range"])


def scrape(port):
    """(readyz status, {metric line name: value}) from receiptd's server."""
    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s"
                                        % (port, path), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
    ready, _ = get("/readyz")
    _, text = get("/metrics")
    vals = {}
    for l in text.splitlines():
        if l and not l.startswith("#"):
            k, v = l.rsplit(" ", 1)
            vals[k] = float(v)
    return ready, vals


def events_in(vals):
    return sum(v for k, v in vals.items()
               if k.startswith("gr_events_in_total{"))


@fault("restore_flow")
def f_restore_flow(run, rng):
    """A restore does not hold up the partitions already owned: A owns
    all, B takes some, then B leaves while those partitions' state is
    served slowly (their state partitions led by a broker answering 0.8 s
    late); A restores them while its own partitions keep being processed
    (A reads events during the restore), /readyz says 503 and
    gr_partition_restored{partition} 0 for the restoring ones meanwhile;
    the verdict against replay shows no event of theirs was applied
    before their jobs were back.  The slow broker is neither the group's
    nor A's transaction coordinator (the embedded broker picks them by
    crc32 of the id over its brokers)."""
    def coord(key):
        return zlib.crc32(key.encode()) % BROKERS + 1
    txn = next("restore-flow-A-%d" % k for k in range(100)
               if coord("restore-flow-A-%d" % k) != coord("gpu-receipts"))
    slow = (set(range(1, BROKERS + 1)) -
            {coord(txn), coord("gpu-receipts")}).pop()
    x = []
    lines = [l for c in run.chunks for l in c]
    mport = it.free_port()
    a = run.start(["metrics.listen=127.0.0.1:%d" % mport,
                   "producer.transactional.id=" + txn])
    a.wait_log("assigned", 30)
    run.em.stream(lines, 40)
    time.sleep(1.5)
    b = run.start(x)
    moved, deadline = [], time.time() + 30
    while not moved:   # cooperative: the first assignment can be empty
        for line in b.text().splitlines():
            if "assigned partition(s) [" in line:
                moved = [int(p) for p in
                         line.split("[")[1].split("]")[0].split(",") if p]
                if moved:
                    break
        it.check(moved or time.time() < deadline, "B got no partition")
        time.sleep(0.1)
    for p in moved:
        b.wait_log("partition %d: restored" % p, 30)
    time.sleep(1)
    fast = [i for i in range(1, BROKERS + 1) if i != slow]
    for t in ALL_TOPICS:
        for p in range(it.PARTITIONS):
            lead = slow if (t == it.TOPICS["state"] and p in moved) else \
                fast[p % len(fast)]
            run.b.control("leader %s %d %d" % (t, p, lead))
    run.b.control("rtt %d 800" % slow)
    mark = len(a.text())
    b.stop(60)
    deadline = time.time() + 30
    while "assigned partition(s) [" not in a.text()[mark:]:
        it.check(time.time() < deadline, "A did not get B's partitions")
        time.sleep(0.05)
    t0 = time.time()
    ready0, v0 = scrape(mport)
    restoring = [p for p in moved
                 if v0.get('gr_partition_restored{partition="%d"}' % p) == 0]
    deadline = time.time() + 60
    while not all("partition %d: restored" % p in a.text()[mark:]
                  for p in moved):
        it.check(time.time() < deadline, "A did not restore %s" % moved)
        time.sleep(0.05)
    secs = time.time() - t0
    ready1, v1 = scrape(mport)
    run.b.control("rtt %d 0" % slow)
    flowed = events_in(v1) - events_in(v0)
    print("restore_flow: A restored partition(s) %s in %.1f s (%s restoring "
          "at the first scrape, /readyz %d then %d); meanwhile A read %d "
          "events of its own partitions"
          % (moved, secs, restoring, ready0, ready1, flowed))
    it.check(restoring and ready0 == 503,
             "A was not seen restoring (/readyz %d, restoring %s)"
             % (ready0, restoring))
    it.check(flowed > 0, "A's own partitions stood still during the restore")
    for p in moved:
        it.check(v1.get('gr_partition_restored{partition="%d"}' % p) == 1,
                 "partition %d not shown restored" % p)
    it.check(ready1 == 200, "/readyz %d after the restore" % ready1)
    run.em.join(60)
    run.settle()


@fault("stop_mid_join")
def f_stop_mid_join(run, rng):
    """A second instance is stopped (SIGTERM) while its first join cannot
    finish (SyncGroup failing): it must exit 0, not abort in librdkafka
    (confluentinc/librdkafka#4312); the first carries on."""
    a = run.start()
    a.wait_log("assigned", 30)
    run.emit(0)
    run.emit(1)
    run.b.control("errors %d %d 30" % (API["SyncGroup"],
                                        ERR["REBALANCE_IN_PROGRESS"]))
    b = run.start()
    time.sleep(6)
    b.stop(20)
    run.b.control("clear %d" % API["SyncGroup"])
    for i in range(2, len(run.chunks)):
        run.emit(i)
    run.settle()


# --------------------------------------------------------------------------

COLS = [("fault", "%-20s"), ("events", "%6s"), ("expected", "%8s"),
        ("seen", "%5s"), ("lost", "%4s"), ("conflicting", "%11s"),
        ("bad_last", "%8s"), ("ledger_lost", "%11s"),
        ("ledger_conf", "%11s"), ("dlq_ok", "%6s"), ("restarts", "%8s"),
        ("secs", "%5s"), ("result", "%6s")]


def print_table(rows):
    print(" ".join(f % c for c, f in COLS))
    for r in rows:
        print(" ".join(f % (r.get(c, "-"),) for c, f in COLS))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    names = [n for n in a.only.split(",") if n] or list(FAULTS)
    for n in names:
        if n not in FAULTS:
            ap.error("unknown fault %s (have %s)" % (n, ", ".join(FAULTS)))
    w = tempfile.mkdtemp(prefix="kafka-faults-")
    print("fault suite: seed %d, %d brokers, %d partitions, work dir %s"
          % (a.seed, BROKERS, it.PARTITIONS, w))
    rows = []
    for n in names:
        rng = random.Random("%d-%s" % (a.seed, n))
        t0 = time.time()
        run = None
        try:
            run = Run(a, w, n)
            FAULTS[n](run, rng)
            row = judge(run)
            row["result"] = "ok" if row["ok"] else "FAIL"
            if not row["ok"]:
                print("FAIL %s: %s\n%s" % (n, row.get("detail", ""),
                                            run.logs()))
        except (it.Fail, subprocess.TimeoutExpired) as e:
            row = {"fault": n, "events": run.n if run else "-",
                   "result": "FAIL"}
            print("FAIL %s: %s" % (n, e))
            if run:
                print(run.logs())
        finally:
            if run:
                run.close()
        row["secs"] = "%.0f" % (time.time() - t0)
        rows.append(row)
        print("%s: %s (%ss)" % (n, row["result"], row["secs"]))
        sys.stdout.flush()
    print()
    print_table(rows)
    if not a.keep:
        shutil.rmtree(w, ignore_errors=True)
    return 0 if all(r["result"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
