#!/usr/bin/python3
"""receiptd with event signatures required (Speed): verify
throughput through the whole Kafka path at verify.threads=1 and =2, the
same input with signatures not required (the floor), and the per-batch
cost of signed tree heads (processor.key on vs off).

Every event of the input is signed by its actor's role key
(`receiptctl sign --key ... --role ...`) and the policy requires a
signature from every role, so every event goes through the pool.

Each run gets a fresh embedded broker (in its own process), the input is
published before receiptd starts, and the clock runs from the moment the
last partition is restored to the moment the decisions topic holds every
decision replay predicts: events/s = events / that time.  CPU is
receiptd's user+system time for the whole run (start-up included).

Not a test: prints numbers.  Volumes stay under the mock cluster's ~5 MiB
per partition.  Needs /usr/bin/python3 (python3-confluent-kafka).

usage: bench_verify.py BUILD_DIR [COPIES] [REPEATS]
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "kafka"))
sys.path.insert(0, HERE)
import kafka_it as it  # noqa: E402
from bench_kafka import cpu_of, job_sequential_input  # noqa: E402

ROLES = ["marketplace", "seller", "buyer", "verifier", "reviewer"]
BATCH = ["batch.size=500", "batch.ms=20"]


def sh(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=300,
                       **kw)
    return r


def prepare(rctl, w, copies):
    data = os.path.join(HERE, "..", "tests", "data", "scenarios.jsonl")
    plain = os.path.join(w, "plain.jsonl")
    n = job_sequential_input(data, plain, copies, "v")
    entries = []
    keys = {}
    for role in ROLES + ["processor"]:
        kid = "k-bench-" + role
        r = sh([rctl, "keygen", "--role", role, "--id", kid, "--out", w,
                "--valid-from", "2020-01-01T00:00:00Z"])
        if r.returncode:
            raise it.Fail("keygen: " + r.stderr)
        keys[role] = os.path.join(w, kid + ".key.json")
        entries.append(json.load(open(os.path.join(w, kid + ".pub.json"))))
    reg = os.path.join(w, "registry.json")
    json.dump(entries, open(reg, "w"))
    src = plain
    for role in ROLES:
        dst = os.path.join(w, "signed-%s.jsonl" % role)
        with open(dst, "w") as f:
            # exit 1 only for the scenarios' deliberately bad lines
            subprocess.run([rctl, "sign", "--key", keys[role], "--role",
                            role, src], stdout=f, stderr=subprocess.DEVNULL,
                           timeout=300)
        src = dst
    pol_req = os.path.join(w, "policy-req.json")
    with open(pol_req, "w") as f:
        json.dump({"require_signatures": {"roles": ROLES}}, f)
    r = sh([rctl, "replay", "--policy", pol_req, "--keys", reg, "--emit",
            "decisions", src])
    ndec = len([l for l in r.stdout.split("\n") if l])
    r2 = sh([rctl, "replay", "--emit", "decisions", src])
    ndec_plain = len([l for l in r2.stdout.split("\n") if l])
    if r.returncode or not ndec or ndec != ndec_plain:
        raise it.Fail("replay: %d vs %d decisions %s" % (ndec, ndec_plain,
                                                          r.stderr))
    return n, src, reg, pol_req, keys["processor"], ndec


def one_run(rctl, rd, w, name, inp, ndec, extra):
    b = it.Broker(rctl, w)
    d = None
    try:
        it.emit(rctl, b.bootstrap, inp)
        d = it.Receiptd(rd, b.bootstrap, w, name, BATCH + extra)
        deadline = time.time() + 60
        while d.text().count("input resumes") < it.PARTITIONS:
            if time.time() > deadline or d.p.poll() is not None:
                raise it.Fail("%s: no restore:\n%s" % (name, d.text()))
            time.sleep(0.005)
        t0 = time.time()
        while sum(it.end_offsets(b.bootstrap,
                                 it.TOPICS["decisions"])) < ndec:
            if time.time() > t0 + 120 or d.p.poll() is not None:
                raise it.Fail("%s: decisions missing:\n%s" % (name,
                                                            d.text()))
            time.sleep(0.01)
        t = time.time() - t0
        heads = sum(it.end_offsets(b.bootstrap, "gpu.job.ledger.heads"))
        d.p.send_signal(signal.SIGTERM)
        cpu = cpu_of(d.p, 30)
        text = d.text()
        d.log.close()
        d = None
        return t, cpu, heads, text
    finally:
        if d:
            d.close()
        b.stop()


def main():
    build = sys.argv[1]
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rctl = os.path.join(build, "tools", "receiptctl")
    rd = os.path.join(build, "consumers", "receiptd")
    w = tempfile.mkdtemp(prefix="bench-verify-")
    try:
        n, inp, reg, pol_req, pkey, ndec = prepare(rctl, w, copies)
        runs = [
            ("no signatures required", []),
            ("signatures, verify.threads=1",
             ["policy.file=" + pol_req, "keys.registry=" + reg,
              "verify.threads=1"]),
            ("signatures, verify.threads=2",
             ["policy.file=" + pol_req, "keys.registry=" + reg,
              "verify.threads=2"]),
            ("no sigs + processor.key (heads)", ["processor.key=" + pkey]),
        ]
        print("events %d (%d decisions), 4 partitions, exactly_once, batch "
              "500 / 20 ms, %d CPUs, best of %d" % (n, ndec, os.cpu_count(),
                                                    repeats))
        res = {}
        for name, extra in runs:
            best = None
            for i in range(repeats):
                t, cpu, heads, text = one_run(rctl, rd, w, "r%d" % i, inp,
                                              ndec, extra)
                if "threads=1" in name or "threads=2" in name:
                    want = "verified on %s thread" % name[-1]
                    if want not in text:
                        raise it.Fail("%s: pool not in log:\n%s" % (name,
                                                                    text))
                m = re.search(r"stopped: (\d+) events through the "
                              r"verification pool \((\d+) threads\) in "
                              r"([\d.]+) ms", text)
                pool = (int(m.group(1)), float(m.group(3))) if m else None
                m = re.search(r"stopped: (\d+) tree heads signed in "
                              r"([\d.]+) ms", text)
                hs = (int(m.group(1)), float(m.group(2))) if m else None
                if best is None or t < best[0]:
                    best = (t, cpu, heads, pool, hs)
            t, cpu, heads, pool, hs = best
            res[name] = best
            print("%-34s %7.0f events/s end to end (%.3f s; receiptd CPU "
                  "%.2f s = %.1f us/event)" % (name, n / t, t, cpu,
                                               cpu / n * 1e6))
            if pool:
                print("%-34s %7.0f events/s in the pool (%d events in %.1f "
                      "ms)" % ("", pool[0] / (pool[1] / 1e3), pool[0],
                               pool[1]))
            if hs:
                print("%-34s %d tree heads, %.1f us each (frontier root + "
                      "sign + render)" % ("", hs[0], hs[1] / hs[0] * 1e3))
        t1 = res["signatures, verify.threads=1"]
        t2 = res["signatures, verify.threads=2"]
        print("2 vs 1 thread: end to end %.2fx, in the pool %.2fx"
              % (t1[0] / t2[0], (t1[3][1] / t1[3][0]) / (t2[3][1] / t2[3][0])
                 if t1[3] and t2[3] else float("nan")))
        base = res["no signatures required"]
        hd = res["no sigs + processor.key (heads)"]
        print("processor.key on: %+.1f us receiptd CPU per event (every "
              "decision signed, %d heads)" % ((hd[1] - base[1]) / n * 1e6,
                                               hd[2]))
    finally:
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
