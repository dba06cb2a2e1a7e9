#!/usr/bin/python3
"""The policy's window_clock end to end on the embedded broker.

receiptd with `"window_clock": true` publishes `reservation_expired` into
the input topic for owned jobs whose window passed on the wall clock with
execution not started; the job decides R4 (provider_no_show) from it, and
a replay of the input topic as it stands afterwards decides the same.
kill -9 and a restart (the state restored from the changelog) must not make
a second expiry count: every copy in the input carries the same event_id,
and the ledger holds one reservation_expired row per job and attempt.

Jobs: `wc-past` (window in 2026-05, capacity passed, never started: due),
`wc-future` (window in 2099: not due), `wc-started` (window passed but the
container started: not due), `wc-refunded` (capacity failed: R3 decided,
not due).  Runs under /usr/bin/python3 like kafka_it.py, whose helpers it
uses.

usage: window_clock_it.py --receiptctl PATH --receiptd PATH
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_it as K  # noqa: E402
from kafka_it import check, Fail  # noqa: E402


def ev(eid, job, typ, when, role, body, attempt=1):
    return {"event_id": eid, "job_id": job, "attempt": attempt, "type": typ,
            "occurred_at": when, "actor": {"role": role, "id": role + "-1"},
            "body": body}


def quote(job, start, end):
    return ev(job + "-q", job, "quote_accepted", "2026-05-25T08:01:00Z",
              "marketplace",
              {"quote_id": "q-" + job, "provider_id": "p1", "gpu": "A100-80GB",
               "vram_gb": 80, "window_start": start, "window_end": end,
               "price": {"amount_minor": 900, "currency": "USD"}})


def capacity(job, result):
    return ev(job + "-c", job, "capacity_checked", "2026-05-25T08:02:00Z",
              "verifier", {"check": "hourly", "result": result})


def inputs():
    past = ("2026-05-25T08:00:00Z", "2026-05-25T08:30:00Z")
    return [
        quote("wc-past", *past), capacity("wc-past", "pass"),
        quote("wc-future", "2099-01-01T00:00:00Z", "2099-01-01T01:00:00Z"),
        capacity("wc-future", "pass"),
        quote("wc-started", *past), capacity("wc-started", "pass"),
        ev("wc-started-s", "wc-started", "execution_started",
           "2026-05-25T08:03:00Z", "seller",
           {"container_image": "sha256:i", "command": "run"}),
        quote("wc-refunded", *past), capacity("wc-refunded", "fail"),
    ]


def replay(a, policy, path, what):
    r = subprocess.run([a.receiptctl, "replay", "--policy", policy, "--emit",
                        what, path], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "replay failed: %s" % r.stderr)
    return [l for l in r.stdout.split("\n") if l]


def input_log(bootstrap):
    """The input topic as replay sees it: per partition, in offset order."""
    recs = sorted(K.read_topic(bootstrap, K.TOPICS["events"]))
    return [v for _, _, _, v, _ in recs]


def wait_decision(bootstrap, job, reason, procs, timeout):
    deadline = time.time() + timeout
    while True:
        for _, _, _, v, _ in K.read_topic(bootstrap, K.TOPICS["decisions"]):
            d = json.loads(v)
            if d["job_id"] == job and d["reason"] == reason:
                return d
        for d in procs:
            check(d.p.poll() is None, "receiptd %s died" % d.name)
        check(time.time() < deadline, "no %s decision for %s within %ds"
              % (reason, job, timeout))
        time.sleep(0.3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    w = tempfile.mkdtemp(prefix="window-clock-it-")
    b = d1 = d2 = None
    try:
        data = os.path.join(w, "input.jsonl")
        with open(data, "w") as f:
            for e in inputs():
                f.write(json.dumps(e) + "\n")
        policy = os.path.join(w, "policy.json")
        with open(policy, "w") as f:
            json.dump({"window_clock": True}, f)
        extra = ["policy.file=" + policy, "window.clock.interval.ms=100",
                 "log.level=2"]
        b = K.Broker(a.receiptctl, w)
        K.emit(a.receiptctl, b.bootstrap, data)
        d1 = K.Receiptd(a.receiptd, b.bootstrap, w, "A", extra)
        d1.wait_log("window clock:", 20)
        dec = wait_decision(b.bootstrap, "wc-past", "provider_no_show", [d1],
                            40)
        check(dec["rule"] == "R4" and dec["settlement"] == "refund",
              "wc-past decided %s" % dec)
        d1.kill9()
        # A restart restores the job from the changelog: the expiry is in
        # its state, so nothing more is due; a second instance's clock runs
        # over every partition for a while.
        d2 = K.Receiptd(a.receiptd, b.bootstrap, w, "B", extra)
        d2.wait_log("assigned", 20)
        time.sleep(1.5)
        K.wait_processed(b.bootstrap, 40, [d2])
        d2.stop()

        log = input_log(b.bootstrap)
        clock = [json.loads(v) for v in log
                 if json.loads(v)["type"] == "reservation_expired"]
        check(clock, "no reservation_expired was published")
        jobs = collections.Counter(e["job_id"] for e in clock)
        check(set(jobs) == {"wc-past"},
              "expired other jobs than wc-past: %s" % dict(jobs))
        ids = {e["event_id"] for e in clock}
        check(len(ids) == 1 and next(iter(ids)).startswith("window-clock:"),
              "event ids not deterministic: %s" % ids)
        check(all(e["actor"]["role"] == "marketplace" for e in clock),
              "clock events not sent as marketplace")

        # Replay of the input as it now stands decides the same.
        logged = os.path.join(w, "logged.jsonl")
        with open(logged, "w") as f:
            f.write("\n".join(log) + "\n")
        dec = [v for _, _, _, v, _ in
               K.read_topic(b.bootstrap, K.TOPICS["decisions"])]
        dup = K.compare_no_loss(dec, replay(a, policy, logged, "decisions"),
                                "decision_id", "decisions")
        led = {}
        for _, _, _, v, _ in K.read_topic(b.bootstrap, K.TOPICS["ledger"]):
            r = json.loads(v)
            check(led.get((r["job_id"], r["seq"]), v) == v,
                  "ledger row repeated with other content: %s" % v)
            led[(r["job_id"], r["seq"])] = v
        K.compare_exact(list(led.values()),
                        replay(a, policy, logged, "ledger"), "ledger rows")
        expired_rows = [v for v in led.values()
                        if json.loads(v)["transition"] == "reservation_expired"]
        check(len(expired_rows) == 1,
              "%d reservation_expired ledger rows" % len(expired_rows))
        lines = replay(a, policy, logged, "lines")
        want = {"wc-past": "settlement=refund reason=provider_no_show",
                "wc-future": "settlement=pending reason=in_progress",
                "wc-started": "settlement=pending reason=in_progress",
                "wc-refunded": "settlement=refund reason=capacity_fail"}
        for l in lines:
            job = l.split()[0].split("=", 1)[1]
            check(want[job] in l, "%s: %s" % (job, l))
        print("window clock: %d copies of one expiry (%s) in the input, one "
              "applied; decisions equal replay (%d identical repeats)"
              % (len(clock), next(iter(ids)), dup))
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL window_clock: %s" % e)
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                with open(os.path.join(w, name)) as f:
                    print("---- %s (last 40 lines)" % name)
                    print("".join(f.readlines()[-40:]))
        return 1
    finally:
        for d in (d1, d2):
            if d:
                d.close()
        if b:
            b.stop()
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
