#!/usr/bin/env python3
"""Deterministic JSON-lines workload for the replay benchmark (Speed).

Writes N lifecycle events (docs/SPEC.md §3), one per line, shaped like
tests/data/scenarios.jsonl (~300 bytes each), for jobs drawn from a mix of
outcomes that covers every settlement rule:

  success with evaluation pass, success without evaluation, capacity fail
  (some reassigned to attempt 2), free retry then success, every failure
  class, two failures (no free retry left), budget overrun (R5), disagreeing
  packets (R6), no-show by reservation_expired and by job time (R4),
  cancellations before and after start, evaluation fail (R9), output missing
  (R11), manual review (R1), output after a failed run (impossible).

On top of the mix: ~2% duplicate events (same bytes, later), out-of-order
pairs (execution_started before capacity_checked, some output before
execution_completed), events from a wrong role, and a few garbage lines
(invalid JSON, invalid UTF-8, unknown type, missing field, wrong type).

Jobs are interleaved like a real topic: a sliding window of --open jobs
(default 2000) is kept open, each step emits the next event of a random
open job, and a job that has emitted its last event is replaced by a new
one.  Same --seed, same bytes.

Standard library only.  Usage:
  gen_workload.py [-n EVENTS] [--seed S] [--open JOBS] [-o FILE]
"""
import argparse
import random
import sys

FAILURE_CLASSES = ["container_oom", "driver_mismatch", "conflicting_process",
                   "image_pull_failed", "runtime_error", "timeout",
                   "worker_lost", "nonzero_exit", "unknown"]

# (scenario name, weight).  Weights are percent-ish of jobs.
MIX = [
    ("ok_eval", 30), ("ok_noeval", 6), ("ok_packets", 4),
    ("capfail", 6), ("capfail_reassign", 2),
    ("retry_ok", 8), ("fail_once", 10), ("fail_twice", 3),
    ("budget", 4), ("disagree", 3), ("seller_denies", 1),
    ("noshow", 4), ("noshow_time", 1),
    ("cancel", 3), ("cancel_late", 1),
    ("evalfail", 5), ("output_missing", 2),
    ("review", 2), ("impossible", 1),
]

BASE_DAY = 20  # 2026-05-20


def ts(minute):
    """Minutes since 2026-05-20T00:00:00Z -> RFC 3339 (seconds resolution)."""
    sec = int(round(minute * 60))
    d, rem = divmod(sec, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    day = BASE_DAY + d
    month = 5
    # May has 31 days; June 30; enough for a few weeks of jobs.
    while True:
        mdays = 31 if month in (5, 7, 8) else 30
        if day <= mdays:
            break
        day -= mdays
        month += 1
    return "2026-%02d-%02dT%02d:%02d:%02dZ" % (month, day, h, m, s)


def actor(role):
    ids = {"marketplace": ("mkt-1", "k-mkt-1"),
           "seller": ("worker-17", "k-worker-17"),
           "buyer": ("buyer-5", "k-buyer-5"),
           "verifier": ("verifier-2", "k-verifier-2"),
           "reviewer": ("rev-1", "k-rev-1")}[role]
    return '{"role":"%s","id":"%s","key_id":"%s"}' % (role, ids[0], ids[1])


def envelope(job, suffix, attempt, typ, minute, role, body):
    return ('{"event_id":"%s-%s","job_id":"%s","attempt":%d,"type":"%s",'
            '"occurred_at":"%s","actor":%s,"body":%s}'
            % (job, suffix, job, attempt, typ, ts(minute), actor(role), body))


class Job:
    """Builds one job's events in their intended (per-job) order."""

    def __init__(self, job_id, t0, rng):
        self.id = job_id
        self.t0 = t0  # window_start, minutes
        self.rng = rng
        self.events = []

    def add(self, suffix, attempt, typ, off, role, body):
        self.events.append(envelope(self.id, suffix, attempt, typ,
                                    self.t0 + off, role, body))

    def quote(self, attempt=1, off=3):
        self.add("q%d" % attempt, attempt, "quote_accepted", off,
                 "marketplace",
                 '{"quote_id":"q-%s","provider_id":"prov-9","gpu":"A100-80GB",'
                 '"vram_gb":80,"region":"us-east","driver_family":"535",'
                 '"window_start":"%s","window_end":"%s",'
                 '"price":{"amount_minor":420,"currency":"USD"}}'
                 % (self.id, ts(self.t0), ts(self.t0 + 30)))

    def capacity(self, attempt, off, ok=True, role="verifier"):
        if ok:
            body = ('{"check":"hourly_capacity_challenge","result":"pass",'
                    '"worker_status":"verified","vram_declared_gb":80,'
                    '"vram_observed_gb":80}')
        else:
            body = ('{"check":"hourly_capacity_challenge","result":"fail",'
                    '"worker_status":"unreachable","vram_declared_gb":80,'
                    '"vram_observed_gb":0}')
        self.add("c%d" % attempt, attempt, "capacity_checked", off, role,
                 body)

    def reserve(self, attempt, off):
        self.add("r%d" % attempt, attempt, "reservation_accepted", off,
                 "seller", '{"worker_id":"worker-17"}')

    def start(self, attempt, off):
        self.add("s%d" % attempt, attempt, "execution_started", off, "seller",
                 '{"container_image":"sha256:7b3a","command":"python infer.py '
                 '--input manifest-42.json","model_hash":"sha256:aa9f",'
                 '"input_manifest_hash":"sha256:19c2"}')

    def fail(self, attempt, off, cls):
        self.add("f%d" % attempt, attempt, "execution_failed", off, "seller",
                 '{"failure_class":"%s","output_written":false,'
                 '"stderr_class":"cuda_oom","resources":{"peak_vram_mb":81920,'
                 '"gpu_seconds":149}}' % cls)

    def done(self, attempt, off):
        self.add("d%d" % attempt, attempt, "execution_completed", off,
                 "seller",
                 '{"resources":{"peak_vram_mb":60000,"gpu_seconds":600}}')

    def output(self, attempt, off):
        self.add("o%d" % attempt, attempt, "output_delivered", off, "seller",
                 '{"output_hash":"sha256:0ut%s","output_path":'
                 '"s3://out/%s/result.json"}' % (attempt, self.id))

    def evaluate(self, attempt, off, ok=True, role="buyer"):
        self.add("e%d" % attempt, attempt, "evaluation_reported", off, role,
                 '{"status":"%s","rule":"bleu>=0.3"}' % ("pass" if ok else
                                                        "fail"))

    def seller_packet(self, attempt, off, cls):
        fc = "null" if cls is None else '"%s"' % cls
        self.add("sp", attempt, "seller_packet", off, "seller",
                 '{"packet_hash":"sha256:6e10","quote_id":"q-%s",'
                 '"worker_id":"worker-17","capacity_result":"pass",'
                 '"failure_class":%s}' % (self.id, fc))

    def buyer_packet(self, attempt, off, budget, cls):
        fc = "null" if cls is None else '"%s"' % cls
        self.add("bp", attempt, "buyer_packet", off, "buyer",
                 '{"packet_hash":"sha256:88cc","container_image":"sha256:7b3a",'
                 '"command":"python infer.py --input manifest-42.json",'
                 '"model_hash":"sha256:aa9f","input_manifest_hash":'
                 '"sha256:19c2","memory_budget_gb":%d,"expected_output_path":'
                 '"s3://out/result.json","evaluation_rule":"bleu>=0.3",'
                 '"observed_failure_class":%s}' % (budget, fc))

    def cancel(self, attempt, off):
        self.add("x%d" % attempt, attempt, "job_cancelled", off, "buyer",
                 '{"reason":"changed my mind"}')

    def expire(self, attempt, off):
        self.add("n%d" % attempt, attempt, "reservation_expired", off,
                 "marketplace", '{}')

    def review(self, attempt, off, settlement):
        self.add("rv", attempt, "review_decided", off, "reviewer",
                 '{"settlement":"%s","note":"split"}' % settlement)


def build(job, kind, rng):
    """Fill job.events for one scenario kind."""
    cls = rng.choice(FAILURE_CLASSES)
    ooo = rng.random() < 0.10  # execution_started before capacity_checked
    j = job

    def run_ok(a, base, eval_ok=True, evaluate=True):
        if ooo and a == 1:
            j.start(a, base + 6)
            j.capacity(a, base + 3)
        else:
            j.capacity(a, base + 3)
            if rng.random() < 0.3:
                j.reserve(a, base + 4)
            j.start(a, base + 6)
        if rng.random() < 0.03:  # output seen before completion
            j.output(a, base + 18)
            j.done(a, base + 17)
        else:
            j.done(a, base + 17)
            j.output(a, base + 18)
        if evaluate:
            j.evaluate(a, base + 22, eval_ok,
                       role=rng.choice(["buyer", "verifier"]))

    def run_fail(a, base, c):
        if ooo and a == 1:
            j.start(a, base + 6)
            j.capacity(a, base + 3)
        else:
            j.capacity(a, base + 3)
            j.start(a, base + 6)
        j.fail(a, base + 8, c)

    j.quote()
    if kind == "ok_eval":
        run_ok(1, 0)
    elif kind == "ok_noeval":
        run_ok(1, 0, evaluate=False)
    elif kind == "ok_packets":
        run_ok(1, 0)
        j.seller_packet(1, 24, None)
        j.buyer_packet(1, 25, 40, None)
    elif kind == "capfail":
        j.capacity(1, 3, ok=False)
    elif kind == "capfail_reassign":
        j.capacity(1, 3, ok=False)
        run_ok(2, 5)
    elif kind == "retry_ok":
        run_fail(1, 0, cls)
        run_ok(2, 10)
    elif kind == "fail_once":
        run_fail(1, 0, cls)
    elif kind == "fail_twice":
        run_fail(1, 0, cls)
        run_fail(2, 10, rng.choice(FAILURE_CLASSES))
    elif kind == "budget":
        j.capacity(1, 3)
        j.start(1, 6)
        j.buyer_packet(1, 7, 120, "container_oom")
        j.fail(1, 8, "container_oom")
    elif kind == "disagree":
        run_fail(1, 0, cls)
        other = rng.choice([c for c in FAILURE_CLASSES if c != cls])
        j.seller_packet(1, 11, cls)
        j.buyer_packet(1, 12, 40, other)
    elif kind == "seller_denies":
        run_fail(1, 0, cls)
        j.seller_packet(1, 11, None)
    elif kind == "noshow":
        j.capacity(1, 3)
        j.expire(1, 30)
    elif kind == "noshow_time":
        j.capacity(1, 3)
        j.reserve(1, 35)  # job time passes window_end, nothing started
    elif kind == "cancel":
        if rng.random() < 0.5:
            j.capacity(1, 3)
        j.cancel(1, 5)
    elif kind == "cancel_late":
        j.capacity(1, 3)
        j.start(1, 6)
        j.cancel(1, 9)
    elif kind == "evalfail":
        run_ok(1, 0, eval_ok=False)
    elif kind == "output_missing":
        j.capacity(1, 3)
        j.start(1, 6)
        j.done(1, 17)  # completed, but no output_delivered ever comes
    elif kind == "review":
        run_fail(1, 0, cls)
        j.seller_packet(1, 11, None)
        j.review(1, 60, rng.choice(["partial_refund", "refund", "hold"]))
    elif kind == "impossible":
        run_fail(1, 0, cls)
        j.output(1, 9)
    else:
        raise ValueError(kind)

    if rng.random() < 0.015:  # an event from a role not allowed to send it
        pos = rng.randrange(1, len(j.events) + 1)
        ev = envelope(j.id, "w", 1, "capacity_checked", j.t0 + 4, "seller",
                      '{"check":"self","result":"pass"}')
        j.events.insert(pos, ev)


GARBAGE = [
    b'{"event_id":"g-%d","job_id":"garbage","attempt":1,"type":"quote_acc',
    b'{"event_id":"g-%d","job_id":"garbage","type":"execution_started",'
    b'"occurred_at":"2026-05-25T08:09:04Z","actor":{"role":"seller"},'
    b'"body":{"container_image":"sha256:\xff\xfe","command":"x"}}',
    b'{"event_id":"g-%d","job_id":"garbage","type":"teleported",'
    b'"occurred_at":"2026-05-25T08:09:04Z","actor":{"role":"seller"},'
    b'"body":{}}',
    b'{"event_id":"g-%d","job_id":"garbage","type":"execution_started",'
    b'"actor":{"role":"seller"},"body":{"container_image":"i","command":"c"}}',
    b'{"event_id":"g-%d","job_id":"garbage","attempt":"one","type":'
    b'"job_cancelled","occurred_at":"2026-05-25T08:09:04Z",'
    b'"actor":{"role":"buyer"},"body":{}}',
    b'[1,2,3] %d',
    b'not json at all %d',
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--events", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--open", type=int, default=2000,
                    help="jobs open at once (sliding window)")
    ap.add_argument("--dup-rate", type=float, default=0.02)
    ap.add_argument("--garbage-rate", type=float, default=0.0005)
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    out = sys.stdout.buffer if args.output == "-" else open(args.output,
                                                            "wb")
    next_job = 0
    open_jobs = []  # [job_id, pending lines]

    def new_job():
        nonlocal next_job
        n = next_job
        next_job += 1
        job = Job("job-%07d" % n, n * 0.5, rng)  # a new window every 30 s
        build(job, rng.choices(kinds, weights)[0], rng)
        return [job.id, [e.encode() for e in job.events]]

    while len(open_jobs) < args.open:
        open_jobs.append(new_job())

    written = 0
    garbage = 0
    while written < args.events:
        if rng.random() < args.garbage_rate:
            tpl = GARBAGE[garbage % len(GARBAGE)]
            out.write((tpl % garbage) if b"%d" in tpl else tpl)
            out.write(b"\n")
            garbage += 1
            written += 1
            continue
        i = rng.randrange(len(open_jobs))
        pending = open_jobs[i][1]
        line = pending.pop(0)
        out.write(line)
        out.write(b"\n")
        written += 1
        if rng.random() < args.dup_rate:
            # Redelivery: the same bytes again, a little later in the job.
            pending.insert(rng.randint(0, len(pending)), line)
        if not pending:
            open_jobs[i] = new_job()
    if out is not sys.stdout.buffer:
        out.close()
    sys.stderr.write("gen_workload: %d events, %d jobs started, %d garbage "
                     "lines, seed %d\n" % (written, next_job, garbage,
                                           args.seed))


if __name__ == "__main__":
    main()
