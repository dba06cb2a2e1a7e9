#!/usr/bin/env python3
"""Streaming load generator for the million-job curve (Load).

Same realistic mix as gen_workload.py (whose job builder it reuses): success
with and without evaluation, every failure class, free retries then success,
two failures, budget overruns, disagreeing packets (disputes), no-shows,
cancellations, evaluation failures, missing outputs, manual review, plus
~2% duplicate deliveries, out-of-order pairs, wrong-role events and garbage
lines.  What differs:

  * sized in jobs (--jobs, up to millions), not events;
  * real calendar times (datetime), so a run may span weeks of event time;
  * job windows start every --spacing seconds of event time (default 1 s),
    so with a retention of R seconds about (R + ~1 h) / spacing jobs are
    live at once while the total grows without bound;
  * written as it is generated (stdout by default), never held in memory:
    1M jobs is ~7.7M lines, ~2.5 GB, so pipe it:

  gen_load.py --jobs 1000000 --settle-after 90 | bench_load --retention 7200 -

Same --seed, same bytes.  Standard library only.
"""
import argparse
import datetime
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_workload as gw  # noqa: E402

# Kinds the gen_workload mix leaves waiting for input that never comes (a
# free retry never taken, a dispute or a hold never reviewed, a run
# cancelled after it started and never reported).  With
# --settle-after M a reviewer closes each of them M minutes after its window
# opens (R1), as a real marketplace eventually would; otherwise they stay
# open for ever and no retention can bound memory.
OPEN_KINDS = {"fail_once", "fail_twice", "disagree", "seller_denies",
              "output_missing", "review", "impossible", "cancel_late"}
_attempt_re = re.compile(r'"attempt":(\d+)')

EPOCH = datetime.datetime(2026, 5, 20, tzinfo=datetime.timezone.utc)
_ts_cache = {}


def ts(minute):
    """Minutes since 2026-05-20T00:00:00Z -> RFC 3339 (seconds), any range."""
    sec = int(round(minute * 60))
    s = _ts_cache.get(sec)
    if s is None:
        if len(_ts_cache) > 100000:
            _ts_cache.clear()
        s = (EPOCH + datetime.timedelta(seconds=sec)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        _ts_cache[sec] = s
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--open", type=int, default=2000,
                    help="jobs emitting events at once (sliding window)")
    ap.add_argument("--spacing", type=float, default=1.0,
                    help="seconds of event time between job windows")
    ap.add_argument("--settle-after", type=float, default=0,
                    help="minutes after which a reviewer settles jobs the "
                         "mix leaves open (0 = never, the gen_workload mix)")
    ap.add_argument("--dup-rate", type=float, default=0.02)
    ap.add_argument("--garbage-rate", type=float, default=0.0005)
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()

    # gen_workload's builders format times through its module-level ts();
    # its own ts() only knows a few months, ours any date.
    gw.ts = ts
    rng = random.Random(args.seed)
    kinds = [k for k, _ in gw.MIX]
    weights = [w for _, w in gw.MIX]
    out = sys.stdout.buffer if args.output == "-" else open(args.output,
                                                            "wb")
    buf = []
    started = 0
    open_jobs = []
    lines = garbage = 0

    def new_job():
        nonlocal started
        n = started
        started += 1
        job = gw.Job("job-%07d" % n, n * args.spacing / 60.0, rng)
        kind = rng.choices(kinds, weights)[0]
        gw.build(job, kind, rng)
        if args.settle_after > 0 and kind in OPEN_KINDS:
            attempt = max(int(a) for e in job.events
                          for a in _attempt_re.findall(e))
            job.add("rz", attempt, "review_decided", args.settle_after,
                    "reviewer", '{"settlement":"refund","note":"closed"}')
        return job.events

    while len(open_jobs) < min(args.open, args.jobs):
        open_jobs.append(new_job())
    while open_jobs:
        if rng.random() < args.garbage_rate:
            tpl = gw.GARBAGE[garbage % len(gw.GARBAGE)]
            buf.append((tpl % garbage) if b"%d" in tpl else tpl)
            garbage += 1
        else:
            i = rng.randrange(len(open_jobs))
            pending = open_jobs[i]
            line = pending.pop(0)
            buf.append(line.encode())
            if rng.random() < args.dup_rate:
                pending.insert(rng.randint(0, len(pending)), line)
            if not pending:
                if started < args.jobs:
                    open_jobs[i] = new_job()
                else:
                    open_jobs[i] = open_jobs[-1]
                    open_jobs.pop()
        lines += 1
        if len(buf) >= 4096:
            buf.append(b"")
            out.write(b"\n".join(buf))
            buf = []
    if buf:
        buf.append(b"")
        out.write(b"\n".join(buf))
    out.flush()
    if out is not sys.stdout.buffer:
        out.close()
    sys.stderr.write("gen_load: %d jobs, %d lines, %d garbage, seed %d\n"
                     % (started, lines, garbage, args.seed))


if __name__ == "__main__":
    main()
