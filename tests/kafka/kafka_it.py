#!/usr/bin/python3
"""Kafka integration tests for receiptd, on the embedded broker or on a
real Apache Kafka cluster.

Runs under /usr/bin/python3 (Debian's python3-confluent-kafka). Each test
gets a broker (see below), drives `receiptd` processes and checks what they
wrote against `receiptctl replay` over the same input. Every wait is
bounded; a test that cannot finish in time fails with the logs attached.

One switch picks the broker for every driver in this folder:
  GR_KAFKA_BROKER=embedded (default)  each test starts its own
      `receiptctl broker` (librdkafka's mock cluster)
  GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR   the cluster kafka_cluster.py
      started in DIR (or an existing one it recorded); each test deletes and
      re-creates the topics as deploy/create-topics.sh defines them, and
      uses a consumer group of its own.  Injected request errors
      (`control`) exist only on the embedded broker.
`--broker real|embedded [--cluster DIR]` on the command line does the same.

usage: kafka_it.py TEST --receiptctl PATH --receiptd PATH --data FILE
tests: equiv equiv_alo takeover kill9 faults kcat
"""
import argparse
import collections
import json
import os
import select
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, TopicPartition, KafkaError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_cluster  # noqa: E402

PARTITIONS = 4
TOPICS = {
    "events": "gpu.job.events",
    "state": "gpu.job.state",
    "ledger": "gpu.job.ledger",
    "decisions": "gpu.settlement.decisions",
    "dlq": "gpu.job.events.dlq",
}
# Settings the embedded broker needs (DEVELOPERS.md, "The embedded broker").
RECEIPTD_X = [
    "consumer.fetch.wait.max.ms=10",
    "consumer.session.timeout.ms=6000",
    "consumer.heartbeat.interval.ms=500",
    "batch.ms=20",
    "batch.size=50",
    "log_level=3",
]
# More receiptd keys for every instance a test starts, e.g.
# GR_IT_RECEIPTD_X="processing.threads=2" (space separated).
RECEIPTD_X.extend(os.environ.get("GR_IT_RECEIPTD_X", "").split())


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def real():
    """True when the tests run on a real Kafka cluster."""
    return os.environ.get("GR_KAFKA_BROKER", "embedded") == "real"


def add_broker_args(ap):
    ap.add_argument("--broker", choices=["embedded", "real"])
    ap.add_argument("--cluster", help="cluster directory (kafka_cluster.py)")


def use_broker_args(a):
    if a.broker:
        os.environ["GR_KAFKA_BROKER"] = a.broker
    if a.cluster:
        os.environ["GR_KAFKA_CLUSTER"] = os.path.abspath(a.cluster)


def Broker(receiptctl, workdir, partitions=PARTITIONS):
    """The broker a test runs on: see the module's docstring."""
    if real():
        return RealBroker(workdir, partitions, TOPIC_OVERRIDES)
    return EmbeddedBroker(receiptctl, workdir, partitions)


DEPLOY_TOPICS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "deploy", "create-topics.sh")


def deploy_topics(path=DEPLOY_TOPICS):
    """The topics deploy/create-topics.sh creates: {suffix: {config}}, read
    from the script itself so the tests create exactly what deploy/ does."""
    import shlex
    text = open(path).read().replace("\\\n", " ")
    out = {}
    for line in text.split("\n"):
        t = shlex.split(line.strip(), comments=True) if line.strip() else []
        if len(t) >= 2 and t[0] == "create" and not t[1].startswith("("):
            cfg = {}
            for i, tok in enumerate(t):
                if tok == "--config" and i + 1 < len(t):
                    k, v = t[i + 1].split("=", 1)
                    cfg[k] = v
            out[t[1]] = cfg
    check(len(out) >= 6, "deploy/create-topics.sh: found only %s" % out)
    return out


def reset_topics(bootstrap, partitions, replicas, min_isr, prefix="gpu.",
                 overrides=None, timeout=90, nodes=()):
    """Delete the topics (if any) and create them afresh, as deploy/ does
    (plus `overrides` {suffix: {config}}); bounded."""
    from confluent_kafka.admin import AdminClient, NewTopic
    ad = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    want = deploy_topics()
    names = [prefix + t for t in want]
    deadline = time.time() + timeout
    while True:   # the cluster may still be settling after a restart
        try:
            have = set(ad.list_topics(timeout=10).topics)
            break
        except Exception as e:
            check(time.time() < deadline, "no metadata: %s" % e)
            time.sleep(1)
    old = [n for n in names if n in have]
    if old:
        for f in ad.delete_topics(old, operation_timeout=30).values():
            try:
                f.result()
            except Exception:  # already gone
                pass
        while set(old) & set(ad.list_topics(timeout=10).topics):
            check(time.time() < deadline, "topics not deleted in time")
            time.sleep(0.3)
    todo = dict((prefix + t, c) for t, c in want.items())
    while todo:
        new = []
        for name, cfg in todo.items():
            cfg = dict(cfg)
            cfg["min.insync.replicas"] = str(min_isr)
            cfg.update((overrides or {}).get(name[len(prefix):], {}))
            new.append(NewTopic(name, partitions, replicas, config=cfg))
        for name, f in ad.create_topics(new, operation_timeout=30).items():
            try:
                f.result()
                todo.pop(name)
            except Exception as e:
                if "already exists" in str(e).lower():
                    todo.pop(name)   # deletion finished after all
                else:
                    check(time.time() < deadline,
                          "creating %s: %s" % (name, e))
        if todo:
            time.sleep(0.5)
    # Until every partition has a leader, in the metadata of every node
    # (`nodes`: HOST:PORT each): brokers learn of new topics one by one,
    # and a client asking one that has not yet would find none.  A fresh
    # client bootstrapped with one address asks that node first.
    for addr in list(nodes) or [bootstrap]:
        one = AdminClient({"bootstrap.servers": addr, "log_level": 0})
        while True:
            try:
                md = one.list_topics(timeout=10).topics
            except Exception:
                md = {}
            if all(n in md and len(md[n].partitions) == partitions and
                   all(p.leader >= 0 for p in md[n].partitions.values())
                   for n in names):
                break
            check(time.time() < deadline,
                  "topics not in the metadata of %s in time" % addr)
            time.sleep(0.3)
            one = AdminClient({"bootstrap.servers": addr, "log_level": 0})


class RealBroker:
    """The real cluster recorded in $GR_KAFKA_CLUSTER: fresh topics, a
    consumer group of this test's own; nothing to stop."""

    def __init__(self, workdir, partitions=PARTITIONS, overrides=None):
        d = os.environ.get("GR_KAFKA_CLUSTER")
        check(d and os.path.exists(os.path.join(d, "cluster.json")),
              "GR_KAFKA_BROKER=real needs GR_KAFKA_CLUSTER=DIR of a cluster "
              "started by kafka_cluster.py")
        self.cluster = kafka_cluster.Cluster(d)
        self.bootstrap = self.cluster.bootstrap
        n = len(self.cluster.nodes)
        self.replicas = 3 if n >= 3 else 1
        self.min_isr = 2 if n >= 3 else 1
        live = [] if self.cluster.external else [
            "127.0.0.1:%d" % nd["port"] for nd in self.cluster.nodes
            if self.cluster.alive(nd["id"])]
        reset_topics(self.bootstrap, partitions, self.replicas, self.min_isr,
                     overrides=overrides, nodes=live)
        group = "gr-it-%d-%d" % (os.getpid(), int(time.time() * 1000))
        RECEIPTD_X[:] = [kv for kv in RECEIPTD_X
                         if not kv.startswith("group.id=")]
        RECEIPTD_X.extend(["group.id=" + group] + REAL_X)

    def control(self, cmd):
        raise Fail("%r: injected faults exist only on the embedded broker"
                   % cmd)

    def stop(self):
        # Nodes killed by a test come back for the next one.
        if not self.cluster.external:
            dead = [n["id"] for n in self.cluster.nodes
                    if not self.cluster.alive(n["id"])]
            for i in dead:
                self.cluster.start_node(i)
            if dead:
                self.cluster.wait_nodes(90)


# Topic configs a test needs beyond deploy/'s ({suffix: {key: value}}).
TOPIC_OVERRIDES = {}

# On a real cluster: an open transaction of a killed instance blocks
# read_committed readers until the broker aborts it after this long.
REAL_X = ["producer.transaction.timeout.ms=20000"]


class EmbeddedBroker:
    """`receiptctl broker` with its stdin control channel."""

    def __init__(self, receiptctl, workdir, partitions=PARTITIONS):
        self.err = open(os.path.join(workdir, "broker.log"), "w")
        self.p = subprocess.Popen(
            [receiptctl, "broker", "--partitions", str(partitions)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            text=True, bufsize=1)
        line = self._readline(10)
        check(line.startswith("bootstrap.servers="),
              "broker: first line was %r" % line)
        self.bootstrap = line.strip().split("=", 1)[1]

    def _readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        check(r, "broker did not answer within %ds" % timeout)
        return self.p.stdout.readline()

    def control(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        reply = self._readline(10).strip()
        check(reply.startswith("ok"), "broker %r: %s" % (cmd, reply))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.err.close()


class Receiptd:
    def __init__(self, path, bootstrap, workdir, name, extra=()):
        self.name = name
        self.log_path = os.path.join(workdir, "receiptd-%s.log" % name)
        self.log = open(self.log_path, "w")
        args = [path, "-X", "bootstrap.servers=" + bootstrap]
        for kv in list(RECEIPTD_X) + list(extra):
            args += ["-X", kv]
        self.p = subprocess.Popen(args, stdout=self.log, stderr=self.log)

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, needle, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.text():
                return
            check(self.p.poll() is None,
                  "receiptd %s exited early (rc %s)" % (self.name,
                                                         self.p.returncode))
            time.sleep(0.1)
        raise Fail("receiptd %s: no %r within %ds" % (self.name, needle,
                                                       timeout))

    def stop(self, timeout=30):
        """SIGTERM: must finish the batch, leave the group and exit 0."""
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            raise Fail("receiptd %s ignored SIGTERM for %ds" % (self.name,
                                                                timeout))
        check(rc == 0, "receiptd %s exited %d after SIGTERM" % (self.name, rc))

    def kill9(self):
        self.p.kill()
        self.p.wait(5)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
        self.log.close()


def emit(receiptctl, bootstrap, path):
    r = subprocess.run([receiptctl, "emit", "--bootstrap", bootstrap, path],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "emit failed: %s" % r.stderr)


def read_topic(bootstrap, topic, timeout=None, settled=True):
    """Every committed record of topic (read_committed): list of
    (partition, offset, key, value, headers).  On a real cluster, with
    `settled`, reads on until no transaction is open on the partitions
    (the end reached is the high watermark, not a last stable offset held
    back by an open transaction), so what it returns is final."""
    if timeout is None:
        timeout = 60 if real() else 30
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kafka-it-read",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "isolation.level": "read_committed",
                  "fetch.wait.max.ms": 10, "log_level": 3})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        eof, out = set(), []
        deadline = time.time() + timeout
        # Empty partitions report EOF at offset 0 as well.
        while len(eof) < PARTITIONS:
            check(time.time() < deadline,
                  "reading %s: no end within %ds (an open transaction?)"
                  % (topic, timeout))
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if real() and settled:
                        hi = c.get_watermark_offsets(
                            TopicPartition(topic, m.partition()),
                            timeout=10, cached=False)[1]
                        if m.offset() < hi:
                            continue   # held back by an open transaction
                    eof.add(m.partition())
                continue
            out.append((m.partition(), m.offset(),
                        m.key().decode() if m.key() else None,
                        m.value().decode(errors="surrogateescape") if m.value() is not None else None,
                        dict((k, v.decode()) for k, v in (m.headers() or []))))
        return out
    finally:
        c.close()


def free_port():
    """A loopback TCP port free now (for a metrics listener)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def end_offsets(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kafka-it-wm",
                  "log_level": 3})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p),
                                        timeout=10)[1]
                for p in range(PARTITIONS)]
    finally:
        c.close()


def checkpoint_records(bootstrap, settled):
    """(partition, checkpoint) of the state topic, in log order."""
    return [(p, json.loads(v)) for p, _, k, v, _ in
            read_topic(bootstrap, TOPICS["state"], settled=settled)
            if k and k.startswith("__checkpoint__.") and v]


def checkpoints(bootstrap):
    """{partition: next_offset of its last checkpoint}."""
    return {p: c["next_offset"]
            for p, c in checkpoint_records(bootstrap, settled=False)}


def check_checkpoint_records(bootstrap, eos):
    """The checkpoint records of each state partition, in log order, for a
    run without faults: the positions never go back.  Under exactly_once
    a batch holding enough of a partition's records opens with a copy of
    the checkpoint it starts from (its state partition then joins the
    transaction with the outputs): a record at the same position as the
    one before it is an exact copy, and some exist (the input was in the
    topic before receiptd started, so batches were full).  Under
    at_least_once every checkpoint moves on."""
    seq = collections.defaultdict(list)
    for p, c in checkpoint_records(bootstrap, settled=True):
        seq[p].append(c)
    check(seq, "no checkpoint records")
    copies = 0
    for p, cs in seq.items():
        offs = [c["next_offset"] for c in cs]
        check(offs == sorted(offs), "partition %d: checkpoints go back: %s"
              % (p, offs))
        for i in range(1, len(cs)):
            if offs[i] == offs[i - 1]:
                check(cs[i] == cs[i - 1], "partition %d: two checkpoints at "
                      "offset %d differ: %s, %s"
                      % (p, offs[i], cs[i - 1], cs[i]))
                check(i < 2 or offs[i - 2] < offs[i], "partition %d: three "
                      "checkpoints at offset %d" % (p, offs[i]))
                copies += 1
    if eos:
        check(copies > 0, "no batch opened with its checkpoint: %s"
              % dict(seq))
    else:
        check(copies == 0, "at_least_once repeated a checkpoint")
    return copies


def wait_processed(bootstrap, timeout, procs=()):
    """Until every input partition's checkpoint has passed its end."""
    ends = end_offsets(bootstrap, TOPICS["events"])
    deadline = time.time() + timeout
    while True:
        cps = checkpoints(bootstrap)
        if all(cps.get(p, 0) >= e for p, e in enumerate(ends)):
            return
        for d in procs:
            check(d.p.poll() is None, "receiptd %s died (rc %s)" %
                  (d.name, d.p.returncode))
        check(time.time() < deadline,
              "not processed within %ds: input ends %s, checkpoints %s" %
              (timeout, ends, cps))
        time.sleep(0.3)


def wait_progress(bootstrap, minimum, timeout):
    """Until the checkpoints together have passed `minimum` records."""
    deadline = time.time() + timeout
    while sum(checkpoints(bootstrap).values()) < minimum:
        check(time.time() < deadline, "no progress to %d records within %ds"
              % (minimum, timeout))
        time.sleep(0.2)


def replay(receiptctl, path, what):
    r = subprocess.run([receiptctl, "replay", "--emit", what, path],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "replay failed: %s" % r.stderr)
    return [l for l in r.stdout.split("\n") if l]


def per_job(lines):
    d = collections.defaultdict(list)
    for l in lines:
        d[json.loads(l)["job_id"]].append(l)
    return d


def compare_exact(kafka_lines, replay_lines, what):
    k, r = per_job(kafka_lines), per_job(replay_lines)
    check(set(k) == set(r), "%s: jobs differ: kafka-only %s, replay-only %s"
          % (what, sorted(set(k) - set(r)), sorted(set(r) - set(k))))
    for job in r:
        check(k[job] == r[job], "%s of %s differ:\nkafka:  %s\nreplay: %s"
              % (what, job, "\n        ".join(k[job]),
                 "\n        ".join(r[job])))


def compare_no_loss(kafka_lines, replay_lines, idkey, what):
    """After a crash: every replay output is there, in order, per job; an id
    seen twice has identical bytes both times."""
    first = {}
    for l in kafka_lines:
        i = json.loads(l)[idkey]
        if i in first:
            check(first[i] == l, "%s %s repeated with different content:\n%s"
                  "\n%s" % (what, i, first[i], l))
        else:
            first[i] = l
    dedup = [l for l in kafka_lines if first.pop(json.loads(l)[idkey], None)]
    compare_exact(dedup, replay_lines, what)
    return len(kafka_lines) - len(dedup)


def ledger_id(line):
    j = json.loads(line)
    return "%s/%s" % (j["job_id"], j["seq"])


def compare_outputs(a, bootstrap, data, exact):
    dec = [v for _, _, _, v, _ in read_topic(bootstrap, TOPICS["decisions"])]
    led = [v for _, _, _, v, _ in read_topic(bootstrap, TOPICS["ledger"])]
    rdec = replay(a.receiptctl, data, "decisions")
    rled = replay(a.receiptctl, data, "ledger")
    if exact:
        compare_exact(dec, rdec, "decisions")
        compare_exact(led, rled, "ledger rows")
        return 0
    # ledger rows carry no id field of their own: (job_id, seq) is one
    first, dup = {}, 0
    for l in led:
        i = ledger_id(l)
        if i in first:
            check(first[i] == l, "ledger row %s repeated with different "
                  "content:\n%s\n%s" % (i, first[i], l))
            dup += 1
        else:
            first[i] = l
    compare_exact(list(first.values()), rled, "ledger rows")
    return compare_no_loss(dec, rdec, "decision_id", "decisions") + dup


def dlq_reasons(bootstrap):
    return sorted(h.get("gr.error.reason")
                  for _, _, _, _, h in read_topic(bootstrap, TOPICS["dlq"]))


def replay_reject_reasons(a, data):
    return sorted(json.loads(l)["reason"]
                  for l in replay(a.receiptctl, data, "rejects"))


def make_input(src, dst, copies, chunks=1):
    """copies of the scenarios with distinct job ids, interleaved round-robin
    across jobs (each job's own order kept), split into chunk files."""
    base = collections.OrderedDict()
    for l in open(src):
        if l.strip():
            base.setdefault(json.loads(l)["job_id"], []).append(json.loads(l))
    jobs = []
    for i in range(copies):
        for job, evs in base.items():
            out = []
            for e in evs:
                e = dict(e)
                e["job_id"] = "%s-%03d" % (job, i)
                e["event_id"] = "%s-%03d" % (e["event_id"], i)
                out.append(json.dumps(e, separators=(",", ":")))
            jobs.append(out)
    lines, k = [], 0
    while any(jobs):
        for j in jobs:
            if k < len(j):
                lines.append(j[k])
        k += 1
        if k > 100:
            break
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")
    paths, n = [], (len(lines) + chunks - 1) // chunks
    for c in range(chunks):
        p = "%s.%d" % (dst, c)
        with open(p, "w") as f:
            f.write("\n".join(lines[c * n:(c + 1) * n]) + "\n")
        paths.append(p)
    return len(lines), paths


# --------------------------------------------------------------------------

def t_equiv(a, w, guarantee="exactly_once"):
    """Kafka path and `receiptctl replay` agree byte for byte per job
    (the scenarios 8 times over, in the topic before receiptd starts: each
    partition takes several full batches)."""
    data = os.path.join(w, "input.jsonl")
    n, _ = make_input(a.data, data, 8)
    b = Broker(a.receiptctl, w)
    d = None
    try:
        emit(a.receiptctl, b.bootstrap, data)
        d = Receiptd(a.receiptd, b.bootstrap, w, "A",
                     ["processing.guarantee=" + guarantee])
        wait_processed(b.bootstrap, 40, [d])
        d.stop()
        compare_outputs(a, b.bootstrap, data, exact=True)
        check(dlq_reasons(b.bootstrap) == replay_reject_reasons(a, data),
              "DLQ reasons differ from replay's rejects")
        copies = check_checkpoint_records(b.bootstrap,
                                          guarantee == "exactly_once")
        print("equiv (%s): %d events, decisions and ledger identical to "
              "replay; checkpoints in order, %d batches opened with theirs"
              % (guarantee, n, copies))
    finally:
        if d:
            d.close()
        b.stop()


def t_equiv_alo(a, w):
    t_equiv(a, w, "at_least_once")


def t_takeover(a, w):
    """Two instances share the partitions; one stops mid-stream and the
    other takes its partitions over with restored state."""
    data = os.path.join(w, "input.jsonl")
    n, chunks = make_input(a.data, data, 12, 3)
    b = Broker(a.receiptctl, w)
    da = db = None
    try:
        emit(a.receiptctl, b.bootstrap, chunks[0])
        da = Receiptd(a.receiptd, b.bootstrap, w, "A")
        db = Receiptd(a.receiptd, b.bootstrap, w, "B")
        da.wait_log("assigned", 20)
        db.wait_log("assigned", 20)
        wait_progress(b.bootstrap, n // 3, 30)
        emit(a.receiptctl, b.bootstrap, chunks[1])
        da.stop()                          # mid-stream, gracefully
        emit(a.receiptctl, b.bootstrap, chunks[2])
        wait_processed(b.bootstrap, 60, [db])
        db.stop()
        log = db.text()
        check(any("restored" in l and "restored 0 jobs" not in l
                  for l in log.splitlines()),
              "B never restored any job state:\n" + log)
        dup = compare_outputs(a, b.bootstrap, data, exact=False)
        print("takeover: %d events, no decision lost, %d identical repeats"
              % (n, dup))
    finally:
        for d in (da, db):
            if d:
                d.close()
        b.stop()


def t_kill9(a, w):
    """kill -9 mid-stream, restart: nothing lost, repeats identical."""
    data = os.path.join(w, "input.jsonl")
    n, chunks = make_input(a.data, data, 12, 4)
    b = Broker(a.receiptctl, w)
    d1 = d2 = None
    # On a real cluster the restarted instance keeps its static identity,
    # so its transactional.id is its predecessor's: init_transactions
    # aborts the transaction the kill left open (dynamic membership is
    # kafka_eos.py's resume test).
    x = ["group.instance.id=kill9"] if real() else []
    try:
        d1 = Receiptd(a.receiptd, b.bootstrap, w, "A", x)
        d1.wait_log("assigned", 20)
        for c in chunks[:3]:
            emit(a.receiptctl, b.bootstrap, c)
        wait_progress(b.bootstrap, n // 4, 30)
        d1.kill9()
        emit(a.receiptctl, b.bootstrap, chunks[3])
        d2 = Receiptd(a.receiptd, b.bootstrap, w, "A2", x)
        wait_processed(b.bootstrap, 60, [d2])
        d2.stop()
        # exactly-once is enforced on a real cluster: no repeats at all
        dup = compare_outputs(a, b.bootstrap, data, exact=real())
        print("kill9: %d events, no decision lost, %d identical repeats"
              % (n, dup))
    finally:
        for d in (d1, d2):
            if d:
                d.close()
        b.stop()


def t_faults(a, w):
    """Injected request errors and a broker outage, survived without loss."""
    data = os.path.join(w, "input.jsonl")
    n, chunks = make_input(a.data, data, 8, 4)
    b = Broker(a.receiptctl, w)
    d = None
    try:
        d = Receiptd(a.receiptd, b.bootstrap, w, "A")
        d.wait_log("assigned", 20)
        emit(a.receiptctl, b.bootstrap, chunks[0])
        # Produce (0): NOT_LEADER_FOR_PARTITION x3, retried by the client.
        b.control("errors 0 6 3")
        emit(a.receiptctl, b.bootstrap, chunks[1])
        # EndTxn (26): CONCURRENT_TRANSACTIONS, retriable commit.
        b.control("errors 26 51 2")
        # AddPartitionsToTxn (24): COORDINATOR_NOT_AVAILABLE.
        b.control("errors 24 15 2")
        # AddOffsetsToTxn (25): GROUP_AUTHORIZATION_FAILED makes
        # send_offsets_to_transaction abortable: abort, restore, rewind.
        b.control("errors 25 30 1")
        emit(a.receiptctl, b.bootstrap, chunks[2])
        wait_progress(b.bootstrap, n // 2, 40)
        d.wait_log("aborting the batch", 20)
        # The whole (one-broker) cluster goes away for two seconds.
        b.control("down 1")
        time.sleep(2)
        b.control("up 1")
        emit(a.receiptctl, b.bootstrap, chunks[3])
        wait_processed(b.bootstrap, 90, [d])
        d.stop()
        dup = compare_outputs(a, b.bootstrap, data, exact=False)
        print("faults: %d events, no decision lost, %d identical repeats"
              % (n, dup))
    finally:
        if d:
            d.close()
        b.stop()


def t_kcat(a, w):
    """kcat publishes the input and reads the decisions."""
    kcat = shutil.which("kcat")
    check(kcat, "kcat not installed (Debian package kcat)")
    keyed = os.path.join(w, "keyed.txt")
    with open(a.data) as f, open(keyed, "w") as o:
        for l in f:
            if l.strip():
                o.write("%s\t%s\n" % (json.loads(l)["job_id"], l.strip()))
    b = Broker(a.receiptctl, w)
    d = None
    try:
        with open(keyed) as f:
            r = subprocess.run([kcat, "-b", b.bootstrap, "-P", "-t",
                                TOPICS["events"], "-K", "\t",
                                "-X", "partitioner=murmur2_random"],
                               stdin=f, capture_output=True, text=True,
                               timeout=30)
        check(r.returncode == 0, "kcat -P: " + r.stderr)
        d = Receiptd(a.receiptd, b.bootstrap, w, "A")
        wait_processed(b.bootstrap, 40, [d])
        d.stop()
        r = subprocess.run([kcat, "-b", b.bootstrap, "-C", "-t",
                            TOPICS["decisions"], "-e", "-q", "-f", "%s\n"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "kcat -C: " + r.stderr)
        got = [l for l in r.stdout.split("\n") if l]
        compare_exact(got, replay(a.receiptctl, a.data, "decisions"),
                      "decisions read by kcat")
        print("kcat: %d decisions read by kcat match replay" % len(got))
    finally:
        if d:
            d.close()
        b.stop()


def conf_dumps(log):
    """librdkafka's `debug=conf` dump of each client in a log: client name
    (rdkafka#consumer-N) -> {key: value}."""
    dumps = {}
    for l in log.splitlines():
        f = l.split("|", 4)
        if len(f) == 5 and f[2] == "CONF" and " = " in f[4]:
            k, v = f[4].split("]:", 1)[-1].strip().split(" = ", 1)
            dumps.setdefault(f[3], {})[k] = v
    return dumps


def t_restore_wait(a, w):
    """The restore consumer keeps its own short fetch wait: an operator's
    long consumer.fetch.wait.max.ms (the input consumer's) must not make
    every restore wait that long for the fetch that reports the end."""
    data = os.path.join(w, "input.jsonl")
    _, chunks = make_input(a.data, data, 6, 1)
    b = Broker(a.receiptctl, w)
    da = db = None
    try:
        emit(a.receiptctl, b.bootstrap, chunks[0])
        da = Receiptd(a.receiptd, b.bootstrap, w, "A")
        wait_processed(b.bootstrap, 60, [da])
        da.stop()
        db = Receiptd(a.receiptd, b.bootstrap, w, "B",
                      ["consumer.fetch.wait.max.ms=1500",
                       "consumer.debug=conf"])
        deadline = time.time() + 60
        while db.text().count("restored") < PARTITIONS:
            check(time.time() < deadline, "B did not restore:\n" + db.text())
            time.sleep(0.1)
        log = db.text()
        db.stop()
        dumps = conf_dumps(log)
        restorer = [c for c in dumps.values()
                    if c.get("group.id", "").endswith(".restore")]
        inputs = [c for c in dumps.values() if "group.id" in c and
                  not c["group.id"].endswith(".restore")]
        check(len(restorer) == 1 and len(inputs) == 1,
              "expected one restore and one input consumer in the "
              "debug=conf dumps, got %r" % dumps)
        check(inputs[0].get("fetch.wait.max.ms") == "1500",
              "the input consumer lost the operator's fetch wait: %r"
              % inputs[0])
        check(restorer[0].get("fetch.wait.max.ms") == "5",
              "the restore consumer took the operator's fetch wait: %r"
              % restorer[0])
        # Each restore's own time, far below the 1.5 s the operator's
        # wait would cost it (twice, at its end and the next one's start).
        own = [float(l.split("ms its own")[0].rsplit("(", 1)[1])
               for l in log.splitlines() if " restored " in l]
        check(len(own) == PARTITIONS and max(own) < 1000,
              "restores took %r ms each" % own)
        print("restore_wait: %d partitions restored in %s ms each; the "
              "restore consumer fetches with 5 ms, the input one with 1500"
              % (len(own), "/".join("%.0f" % o for o in own)))
    finally:
        for d in (da, db):
            if d:
                d.close()
        b.stop()


TESTS = {"equiv": t_equiv, "equiv_alo": t_equiv_alo, "takeover": t_takeover,
         "kill9": t_kill9, "faults": t_faults, "kcat": t_kcat,
         "restore_wait": t_restore_wait}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--keep", action="store_true")
    add_broker_args(ap)
    a = ap.parse_args()
    use_broker_args(a)
    w = tempfile.mkdtemp(prefix="kafka-it-%s-" % a.test)
    try:
        TESTS[a.test](a, w)
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.test, e))
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                with open(os.path.join(w, name)) as f:
                    print("---- %s (last 40 lines)" % name)
                    print("".join(f.readlines()[-40:]))
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
