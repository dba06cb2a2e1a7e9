#!/usr/bin/python3
"""receiptd on the embedded broker (Speed), side by side in one run,
the broker in its own process; on a real Kafka cluster with
GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR (tests/kafka/kafka_cluster.py):

  - CPU time per event: receiptd vs bench_passthrough (bare consume ->
    produce with the same client settings and transactional batches; the
    median of three runs), and the floor of that ratio: the passthrough
    plus the engine alone on the same records (receiptctl replay);
  - produce -> decision latency p50/p99 at a modest steady rate;
  - restore rate: state records per second on assignment.

Not a test: prints numbers. On the embedded broker volumes stay under the
mock cluster's ~5 MiB per partition (DEVELOPERS.md). Needs /usr/bin/python3 (python3-confluent-kafka).

usage: bench_kafka.py BUILD_DIR [COPIES]
       bench_kafka.py BUILD_DIR --drain [EVENTS [PARTITIONS [BATCH]]]

--drain: full load.  The input topic is filled with a backlog first
(default 200000 events over 16 partitions, ~4 MiB each), then receiptd
drains it with processing.threads=1 and =2, each on a fresh broker; the
time runs from the first partition's input starting to the last record
applied (read from receiptd's /metrics).  Prints events/s, receiptd's CPU by thread (its workers,
librdkafka's threads) and the broker process's CPU over the same window,
and `processing.threads 2/1: X.XXx events/s`, then three bounds on that
ratio from the one-worker run: batches in series as they are (a perfect
split of the decode-and-apply step); any design (all the CPU measured, on
every core, against the one-worker rate measured); batches overlapped (one
worker's processing thread never waiting).
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
PT_RUNS = 3  # passthrough runs; the median is compared


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


def child_cpu(cmd):
    """user+system CPU seconds of one run of cmd (output discarded)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    cpu = cpu_of(p, 120)
    if p.returncode != 0:
        raise it.Fail("%s exited %d" % (" ".join(cmd), p.returncode))
    return cpu


def proc_cpu(pid):
    """user+system CPU seconds of a process so far (/proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fs = f.read().rsplit(")", 1)[1].split()
    return (int(fs[11]) + int(fs[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu(pid):
    """{thread name: CPU seconds} of a process's threads, same names
    summed (librdkafka names its threads rdk:*)."""
    out = collections.Counter()
    tck = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fs = st.rsplit(")", 1)[1].split()
        name = name.split("/")[0] if name.startswith("rdk:") else name
        out[name] += (int(fs[11]) + int(fs[12])) / tck
    return out


def records_out(log):
    """Records receiptd produced (decisions, ledger rows, state records,
    DLQ records; checkpoints and tree heads left out, a few per batch),
    from its "stopped:" line."""
    for line in log.splitlines():
        if "stopped:" in line and "decisions" in line:
            words = line.replace(",", " ").split()
            return sum(int(words[words.index(w) - 1]) for w in
                       ("decisions", "ledger", "state", "DLQ"))
    raise it.Fail("receiptd did not report its outputs:\n" + log)


def metrics_progress(port):
    """(input records read, batches committed) from receiptd's /metrics:
    cheap to ask often, unlike reading the checkpoints back."""
    import urllib.request
    txt = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                 timeout=5).read().decode()
    evs = commits = 0
    for l in txt.splitlines():
        if l.startswith("gr_events_in_total{"):
            evs += int(float(l.split()[-1]))
        elif l.startswith("gr_txn_commit_seconds_count"):
            commits = int(float(l.split()[-1]))
    return evs, commits


def broker_cpu(b):
    """CPU seconds of the broker: the embedded one's process, or the real
    cluster's live nodes (0 for an external cluster)."""
    if hasattr(b, "p"):
        return proc_cpu(b.p.pid)
    return sum(proc_cpu(nd["pid"]) for nd in b.cluster.nodes
               if not b.cluster.external and nd.get("pid") and
               b.cluster.alive(nd["id"]))


def drain_once(rctl, rd, w, inp, n, partitions, threads, batch):
    """A fresh broker with n events in the input; receiptd drains them."""
    b = it.Broker(rctl, w, partitions)
    try:
        r = subprocess.run([rctl, "emit", "--bootstrap", b.bootstrap, inp],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise it.Fail("emit failed: %s" % r.stderr)
        port = it.free_port()
        d = it.Receiptd(rd, b.bootstrap, w, "drain%d" % threads,
                        ["batch.size=%d" % batch, "batch.ms=100",
                         "processing.threads=%d" % threads,
                         "metrics.listen=127.0.0.1:%d" % port])
        deadline = time.time() + 120
        # The clock starts when the first partition's input starts (the
        # others follow as their restores, empty here, finish).
        while d.text().count("input resumes") < 1:
            if time.time() > deadline or d.p.poll() is not None:
                raise it.Fail("receiptd did not restore:\n" + d.text())
            time.sleep(0.02)
        t0 = time.time()
        c0, b0, th0 = proc_cpu(d.p.pid), broker_cpu(b), threads_cpu(d.p.pid)
        deadline = t0 + 900
        while True:
            # Done when every record was applied (its batch commits
            # within batch.ms after).
            th1 = threads_cpu(d.p.pid)
            c1, b1, t1 = proc_cpu(d.p.pid), broker_cpu(b), time.time()
            evs, _ = metrics_progress(port)
            if evs >= n:
                break
            if time.time() > deadline or d.p.poll() is not None:
                raise it.Fail("receiptd did not drain:\n" + d.text())
            time.sleep(0.1)
        d.stop()
        d.close()
        busy = t1 - t0
        per = {k: th1[k] - th0.get(k, 0) for k in th1}
        return {"busy": busy, "eps": n / busy, "cpu": c1 - c0,
                "broker": b1 - b0, "threads": per}
    finally:
        b.stop()


def drain(build, argv):
    n_want = int(argv[0]) if argv else 200000
    partitions = int(argv[1]) if len(argv) > 1 else 16
    batch = int(argv[2]) if len(argv) > 2 else 500
    rctl = os.path.join(build, "tools", "receiptctl")
    rd = os.path.join(build, "consumers", "receiptd")
    data = os.path.join(HERE, "..", "tests", "data", "scenarios.jsonl")
    w = tempfile.mkdtemp(prefix="bench-drain-")
    inp = os.path.join(w, "input.jsonl")
    base = sum(1 for l in open(data) if l.strip())
    n = job_sequential_input(data, inp, max(1, n_want // base), "d")
    it.PARTITIONS = partitions
    res = {}
    print("drain: %d events backlog, %d partitions, exactly_once, batch %d "
          "/ 100 ms, %d online CPUs, %s"
          % (n, partitions, batch, os.cpu_count(),
             "a real Kafka cluster" if it.real() else
             "embedded broker in its own process"))
    for threads in (1, 2):
        r = res[threads] = drain_once(rctl, rd, w, inp, n, partitions,
                                      threads, batch)
        wall = r["busy"]
        print("processing.threads=%d: %.1f s, %.0f events/s; CPU over the "
              "window: receiptd %.2f s (%.0f%% of %d cores), broker %.2f s "
              "(%.0f%%)"
              % (threads, wall, r["eps"], r["cpu"],
                 100 * r["cpu"] / wall / os.cpu_count(), os.cpu_count(),
                 r["broker"], 100 * r["broker"] / wall / os.cpu_count()))
        top = sorted(r["threads"].items(), key=lambda kv: -kv[1])
        print("  receiptd threads (CPU s): " +
              ", ".join("%s %.2f" % kv for kv in top if kv[1] >= 0.05))
    print("processing.threads 2/1: %.2fx events/s (goal >= 1.7)"
          % (res[2]["eps"] / res[1]["eps"]))
    # What more workers could give on this machine, from the one-worker
    # run.  (1) Batches as they are, one after another: the workers split
    # only the decode-and-apply step, so even a perfect split leaves the
    # batch's other phases (receiptd's own per-batch timers) as they are.
    # (2) Any design: all of receiptd's and the broker's CPU on every core,
    # none of it added by the second worker, against the one-worker rate
    # measured.  (3) A design that overlaps batches, so that one worker's
    # processing thread never waits: one worker then already runs at
    # min(1 / its thread's CPU, cores / all the CPU), two at the second.
    ph = batch_phases(os.path.join(w, "receiptd-drain1.log"))
    one = res[1]
    main_cpu = one["threads"].get("receiptd", 0)
    if ph and main_cpu:
        total, apply = sum(ph), ph[2]
        allcpu, cores = one["cpu"] + one["broker"], os.cpu_count()
        print("bound         batches in series: %.1f ms per batch, %.1f of "
              "it decode and apply; split perfectly over 2 workers <= "
              "%.2fx" % (total, apply, total / (total - apply / 2)))
        print("bound         any design: receiptd and the broker used %.2f s "
              "CPU in %.1f s with one worker; on %d cores <= %.2fx"
              % (allcpu, one["busy"], cores, cores * one["busy"] / allcpu))
        print("bound         batches overlapped: one worker's processing "
              "thread used %.2f s of those %.2f s; one worker would already "
              "run at the rate of the busier of its thread and the machine: "
              "<= %.2fx" % (main_cpu, allcpu,
                            max(1.0, cores * main_cpu / allcpu)))


def batch_phases(log):
    """receiptd's per-batch phase times in ms (gap, input wait, decode and
    apply, acks, state, commit) from its last "per batch" line, or None."""
    import re
    last = None
    for line in open(log):
        if "per batch (" in line:
            last = line
    if not last:
        return None
    vals = [float(x) for x in re.findall(r"([0-9.]+) ms", last)]
    return vals if len(vals) == 6 else None


def main():
    build = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "--drain":
        return drain(build, sys.argv[3:])
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

        # 1. receiptd over n events, from start to SIGTERM after the last.
        # Besides the whole run, its CPU in the window from "input
        # resumes" to the commit of the last batch: sampled with each
        # /metrics poll, the window ends at the first sample that shows
        # all n events in and the commit count at its final value (it
        # overshoots by at most one 50 ms poll of an idle receiptd).
        port = it.free_port()
        d = it.Receiptd(rd, b.bootstrap, w, "cpu", BATCH +
                        ["metrics.listen=127.0.0.1:%d" % port])
        t0 = time.time()
        while "input resumes" not in d.text():  # polled finely: the window
            if time.time() > t0 + 60 or d.p.poll() is not None:  # starts here
                raise it.Fail("receiptd did not restore:\n" + d.text())
            time.sleep(0.005)
        t1 = time.time()            # joined and restored: processing starts
        c1, th1 = proc_cpu(d.p.pid), threads_cpu(d.p.pid)
        samples = []            # (events in, commits, CPU, time, threads)
        deadline = t1 + 600
        while True:
            evs, commits = metrics_progress(port)
            samples.append((evs, commits, proc_cpu(d.p.pid), time.time(),
                            threads_cpu(d.p.pid)))
            if evs >= n and len(samples) > 1 and \
                    samples[-2][0] >= n and samples[-2][1] == commits:
                # In and no commit since the last poll: confirm with the
                # checkpoints that the last batch is committed.
                it.wait_processed(b.bootstrap, 60, [d])
                if metrics_progress(port)[1] == commits:
                    break
            if time.time() > deadline or d.p.poll() is not None:
                raise it.Fail("receiptd did not process:\n" + d.text())
            time.sleep(0.05)
        final = samples[-1][1]
        first = next(x for x in samples if x[0] >= n and x[1] == final)
        win_rd, busy = first[2] - c1, first[3] - t1
        win_th = sorted(((k, v - th1.get(k, 0)) for k, v in first[4].items()),
                        key=lambda kv: -kv[1])
        wall = time.time() - t0
        d.p.send_signal(signal.SIGTERM)
        cpu_rd = cpu_of(d.p, 30)
        d.log.close()

        out = records_out(open(d.log_path).read())

        # 2. the bare passthrough over the same n records (it reports its
        # own window: first record to last commit): three times copying
        # each record once (the median is the one compared: its CPU
        # varies from run to run more than receiptd's does, most on a
        # real cluster), once producing as many records as receiptd did
        def passthrough(fanout, run):
            p = subprocess.Popen([pt, b.bootstrap, str(n), "500", "120",
                                  "%.4f" % fanout, str(run)],
                                 stdout=subprocess.PIPE, text=True)
            cpu = cpu_of(p, 150)
            if p.returncode != 0:
                raise it.Fail("passthrough did not finish")
            text = p.stdout.read()
            th = {}     # its threads' CPU in its window
            for line in text.splitlines():
                if line.startswith("window_threads"):
                    th = {k: float(v) for k, v in
                          (w.split("=") for w in line.split()[1:])}
            return cpu, float(text.split()[-1]), th
        pts = sorted((passthrough(1, run) for run in range(PT_RUNS)),
                     key=lambda x: x[:2])
        cpu_pt, win_pt, th_pt = pts[len(pts) // 2]
        fan = out / n
        _, win_fan, _ = passthrough(fan, 0)

        # 2b. the engine alone on the same records: receiptctl replay of
        # the input file (the same JSON decoding, state machine, hashing
        # and rendering, no broker, no state records).  receiptd does the
        # passthrough's work and at least this, so (passthrough + engine)
        # / passthrough is as low as its ratio can go.
        engine = min(child_cpu([rctl, "replay", "--emit", "decisions", inp])
                     for _ in range(3))

        # 3. restore: a new instance restores every partition
        d2 = it.Receiptd(rd, b.bootstrap, w, "restore", BATCH)
        deadline = time.time() + 60
        while d2.text().count("restored") < it.PARTITIONS:
            if time.time() > deadline:
                raise it.Fail("restore did not finish")
            time.sleep(0.1)
        # Per partition: its records over its own restore time (restores
        # run one after another on one thread; the time a partition waits
        # behind the others is reported apart).
        recs = ms = ready = 0
        for line in d2.text().splitlines():
            if "restored" in line:
                ws = line.split()
                recs += int(ws[ws.index("from") + 1])
                ready = max(ready, float(ws[ws.index("in") + 1]))
                ms += float(ws[ws.index("own,") - 3].lstrip("("))

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
        print("window        first record to last commit: receiptd %.2f s, "
              "passthrough %.2f s CPU (%.1f / %.1f us/event)"
              % (win_rd, win_pt, win_rd / n * 1e6, win_pt / n * 1e6))
        print("ratio         receiptd/passthrough CPU per event %.2fx "
              "(goal <= 1.5); whole runs incl. join and shutdown %.2fx; "
              "passthrough windows %s s, the median compared"
              % (win_rd / win_pt, cpu_rd / cpu_pt,
                 " ".join("%.2f" % x[1] for x in pts)))
        print("floor         the engine alone on these records (receiptctl "
              "replay, best of 3): %.2f s CPU (%.1f us/event); receiptd "
              "cannot go below (passthrough + engine) / passthrough = "
              "%.2fx" % (engine, engine / n * 1e6,
                         (win_pt + engine) / win_pt))
        print("threads       receiptd's in the window: " +
              ", ".join("%s %.2f" % kv for kv in win_th if kv[1] >= 0.01))
        print("threads       the passthrough's (the median run): " +
              ", ".join("%s %.2f" % kv for kv in
                        sorted(th_pt.items(), key=lambda kv: -kv[1])
                        if kv[1] >= 0.01))
        print("outputs       receiptd produced %.2f records per input "
              "record; a passthrough producing as many: %.2f s CPU "
              "(%.1f us/event), receiptd/that %.2fx"
              % (fan, win_fan, win_fan / n * 1e6, win_rd / win_fan))
        print("restore       %d state records in %.0f ms of restores = "
              "%.0f records/s (goal >= 100000 per partition); all %d "
              "partitions ready %.0f ms after assignment"
              % (recs, ms, recs / (ms / 1000.0) if ms else float("nan"),
                 it.PARTITIONS, ready))
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
