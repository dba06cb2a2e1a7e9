#!/usr/bin/env python3
"""Plain-Python reference replay: the "plain Python script applying the same
rules with the standard json module" that the speed target compares
`receiptctl replay` against.

A straightforward reimplementation of docs/SPEC.md §3-§6: decode each JSON line with
json.loads, validate it (required fields, types, roles, a price with both
members and never negative), drive a per-job state machine (attempts,
preconditions, parking at most 16 per job with the park timeout in event
time, duplicates by event_id, invariants I1-I5 with the I5 lock held per
attempt), run rules R1-R12 in SPEC order (R12 right after R2), work out the
decision's amounts (docs/SPEC.md §6), chain ledger rows with SHA-256, and emit a
decision (with decision_id, receipt_hash, policy_hash, amounts) whenever
(settlement, retry, reason) or the amounts change.  It does the same work
per event as `receiptctl replay --emit decisions`, written the way one would
write it in Python, without tricks.  The JSON bytes of receipts and ledger
rows are not byte-identical to the C canonical forms (so hashes differ);
summary lines, rules, seq numbers, decision_ids and amounts are meant to
agree.

Standard library only.  Usage:
  replay_ref.py [--emit decisions|lines|rejects] [FILE|-]
"""
import datetime
import hashlib
import json
import sys

POLICY_JSON = ('{"free_retries_per_job":1,"park_limit":16,'
               '"park_timeout_seconds":3600,"require_signatures":false,'
               '"window_clock":false,"retention_seconds":604800}')
POLICY_HASH = hashlib.sha256(POLICY_JSON.encode()).hexdigest()
FREE_RETRIES = 1
PARK_LIMIT = 16
PARK_TIMEOUT_MS = 3600 * 1000

FAILURES = {"container_oom", "driver_mismatch", "conflicting_process",
            "image_pull_failed", "runtime_error", "timeout", "worker_lost",
            "nonzero_exit", "unknown"}
ROLES = {"marketplace", "seller", "buyer", "verifier", "reviewer"}
RESULTS = {"pass", "fail"}
SETTLEMENTS = {"pending", "refund", "hold", "release", "partial_refund",
               "escalate"}
FINAL = {"refund", "release", "partial_refund"}

# docs/SPEC.md §3 type table: allowed roles, required body fields.
TYPES = {
    "quote_accepted": ({"marketplace"}, ["quote_id", "provider_id", "gpu",
                                         "vram_gb", "window_start",
                                         "window_end"]),
    "capacity_checked": ({"verifier"}, ["check", "result"]),
    "reservation_accepted": ({"seller"}, ["worker_id"]),
    "execution_started": ({"seller"}, ["container_image", "command"]),
    "execution_failed": ({"seller"}, ["failure_class"]),
    "execution_completed": ({"seller"}, []),
    "output_delivered": ({"seller"}, ["output_hash"]),
    "evaluation_reported": ({"buyer", "verifier"}, ["status"]),
    "seller_packet": ({"seller"}, ["packet_hash"]),
    "buyer_packet": ({"buyer"}, ["packet_hash", "memory_budget_gb"]),
    "job_cancelled": ({"buyer"}, []),
    "reservation_expired": ({"marketplace"}, []),
    "review_decided": ({"reviewer"}, ["settlement"]),
}

# Body field kinds: s=string (max bytes), n=number, i=integer, t=time,
# b=bool, f=failure class (null = none), r=pass/fail, S=settlement.
BODY = {
    "quote_id": ("s", 128), "provider_id": ("s", 128), "gpu": ("s", 128),
    "vram_gb": ("n", 0), "region": ("s", 128), "driver_family": ("s", 128),
    "window_start": ("t", 0), "window_end": ("t", 0), "check": ("s", 128),
    "result": ("r", 0), "worker_status": ("s", 128),
    "vram_declared_gb": ("n", 0), "vram_observed_gb": ("n", 0),
    "detail": ("s", 1024), "worker_id": ("s", 128),
    "container_image": ("s", 160), "command": ("s", 1024),
    "model_hash": ("s", 160), "input_manifest_hash": ("s", 160),
    "failure_class": ("f", 0), "output_written": ("b", 0),
    "stderr_class": ("s", 128), "output_hash": ("s", 160),
    "output_path": ("s", 1024), "status": ("r", 0), "rule": ("s", 1024),
    "packet_hash": ("s", 160), "capacity_result": ("r", 0),
    "memory_budget_gb": ("n", 0), "expected_output_path": ("s", 1024),
    "evaluation_rule": ("s", 1024), "observed_failure_class": ("f", 0),
    "reason": ("s", 1024), "settlement": ("S", 0), "note": ("s", 1024),
}
NESTED = {"price": {"amount_minor": ("i", 0), "currency": ("s", 16)},
          "resources": {"peak_vram_mb": ("i", 0), "gpu_seconds": ("n", 0)}}


class Reject(Exception):
    def __init__(self, reason, detail):
        Exception.__init__(self, detail)
        self.reason = reason
        self.detail = detail


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
ONE_MS = datetime.timedelta(milliseconds=1)


def parse_time(s):
    """RFC 3339 text -> integer milliseconds since the epoch (exact: the
    amounts are computed from these, so no float timestamp)."""
    try:
        dt = datetime.datetime.fromisoformat(s)
    except ValueError:
        raise Reject("schema", "%r is not an RFC 3339 time" % s[:40])
    if dt.tzinfo is None:
        raise Reject("schema", "%r has no offset" % s[:40])
    return (dt - EPOCH) // ONE_MS


def format_time(ms):
    """Integer ms -> RFC 3339 UTC as the outputs write it (docs/SPEC.md §3: outputs
    carry times from events), milliseconds only when there are some."""
    dt = EPOCH + datetime.timedelta(milliseconds=ms)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
    if ms % 1000:
        text += ".%03d" % (ms % 1000)
    return text + "Z"


def check(kind, size, name, v):
    """Type-check one value; returns the typed value."""
    if kind == "s":
        if not isinstance(v, str):
            raise Reject("schema", "%s must be a string" % name)
        if len(v.encode()) >= size:
            raise Reject("too_large", "%s too long" % name)
        if "\0" in v:
            raise Reject("schema", "%s contains NUL" % name)
        return v
    if kind in "ni":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Reject("schema", "%s must be a number" % name)
        if kind == "i" and isinstance(v, float):
            if v != int(v):
                raise Reject("schema", "%s must be an integer" % name)
            v = int(v)
        return v
    if kind == "t":
        if not isinstance(v, str):
            raise Reject("schema", "%s must be an RFC 3339 time" % name)
        return parse_time(v)
    if kind == "b":
        if not isinstance(v, bool):
            raise Reject("schema", "%s must be a boolean" % name)
        return v
    if kind == "f":
        if v not in FAILURES:
            raise Reject("schema", "%s is not a failure_class" % name)
        return v
    if kind == "r":
        if v not in RESULTS:
            raise Reject("schema", "%s must be pass or fail" % name)
        return v
    if kind == "S":
        if v not in SETTLEMENTS:
            raise Reject("schema", "%s is not a settlement" % name)
        return v
    raise AssertionError(kind)


def decode(line):
    """JSON line -> validated event dict, or raise Reject."""
    try:
        doc = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise Reject("invalid_json", str(e)[:120])
    if not isinstance(doc, dict):
        raise Reject("schema", "top level is not an object")
    ev = {}
    for k in ("event_id", "job_id", "sig"):
        v = doc.get(k)
        if v is not None:
            ev[k] = check("s", 128, k, v)
    ev["_ids"] = (ev.get("event_id"), ev.get("job_id"))
    attempt = doc.get("attempt")
    if attempt is not None:
        ev["attempt"] = check("i", 0, "attempt", attempt)
    typ = doc.get("type")
    if typ is not None:
        if not isinstance(typ, str):
            raise Reject("schema", "type must be an event type")
        if typ not in TYPES:
            raise Reject("unknown_type", "type %r is not a lifecycle event "
                         "type" % typ[:40])
        ev["type"] = typ
    occ = doc.get("occurred_at")
    if occ is not None:
        ev["occurred_at"] = check("t", 0, "occurred_at", occ)
    actor = doc.get("actor")
    if actor is not None:
        if not isinstance(actor, dict):
            raise Reject("schema", "actor must be an object")
        role = actor.get("role")
        if role is not None:
            if role not in ROLES:
                raise Reject("schema", "actor.role is not a role")
            ev["role"] = role
        for k in ("id", "key_id"):
            if actor.get(k) is not None:
                check("s", 128, "actor." + k, actor[k])
    body = doc.get("body")
    b = {}
    if body is not None:
        if not isinstance(body, dict):
            raise Reject("schema", "body must be an object")
        for k, v in body.items():
            if k in NESTED:
                if v is None:
                    continue
                if not isinstance(v, dict):
                    raise Reject("schema", "body.%s must be an object" % k)
                for k2, v2 in v.items():
                    spec = NESTED[k].get(k2)
                    if spec and v2 is not None:
                        b[k + "." + k2] = check(spec[0], spec[1], k2, v2)
                continue
            spec = BODY.get(k)
            if spec is None:
                continue  # unknown keys are ignored
            if v is None:
                if spec[0] == "f":
                    b[k] = None  # null failure class = no failure claimed
                continue
            b[k] = check(spec[0], spec[1], k, v)
    ev["body"] = b

    # Whole-event validation.
    for k in ("event_id", "job_id", "type", "occurred_at", "role"):
        if k not in ev:
            raise Reject("missing_field", "%s required" % k)
    if not ev["event_id"] or not ev["job_id"]:
        raise Reject("missing_field", "event_id/job_id is empty")
    if "attempt" not in ev:
        ev["attempt"] = 1
    elif not 1 <= ev["attempt"] <= 1000000:
        raise Reject("schema", "attempt out of range")
    roles, required = TYPES[typ]
    if ev["role"] not in roles:
        raise Reject("unauthorized_role", "%s may not send %s"
                     % (ev["role"], typ))
    for k in required:
        if k not in b:
            raise Reject("missing_field", "body.%s required for %s"
                         % (k, typ))
    if typ == "quote_accepted":
        if b["window_end"] <= b["window_start"]:
            raise Reject("schema", "window_end is not after window_start")
        if b["vram_gb"] <= 0:
            raise Reject("schema", "vram_gb must be positive")
        # A price is money: both members or none, and never negative.
        has_amount = "price.amount_minor" in b
        if has_amount != ("price.currency" in b):
            raise Reject("missing_field",
                         "body.price needs amount_minor and currency")
        if has_amount and b["price.amount_minor"] < 0:
            raise Reject("schema", "price.amount_minor must not be negative")
    elif typ == "execution_failed" and b["failure_class"] is None:
        raise Reject("missing_field", "body.failure_class required")
    elif typ == "review_decided" and b["settlement"] == "pending":
        raise Reject("schema", "a review must decide a posture")
    elif typ == "buyer_packet" and b["memory_budget_gb"] <= 0:
        raise Reject("schema", "memory_budget_gb must be positive")
    return ev


# ---- job state ------------------------------------------------------------

class Attempt:
    def __init__(self):
        self.capacity = "unknown"
        self.execution = "not_started"
        self.output = "none"
        self.evaluation = "not_started"
        self.failure_class = None
        self.cancelled = False
        self.cancelled_while = None  # execution status at the first cancel
        self.cancelled_at = None
        self.expired = False
        self.reviewed = False
        self.review_settlement = "pending"
        self.lane = {}  # receipt detail: strings and times per lane

    def copy(self):
        a = Attempt.__new__(Attempt)
        a.__dict__.update(self.__dict__)
        a.lane = dict(self.lane)
        return a


class Job:
    def __init__(self, job_id):
        self.job_id = job_id
        self.attempt = 1
        self.time = None
        self.seq = 0
        self.chain = "0" * 64
        self.free_retries_used = 0
        self.settlement = "pending"
        self.retry = "none"
        self.reason = "in_progress"
        self.rule = None
        self.amounts = None
        self.locked = False  # I5, for the current attempt only
        self.quote = None
        self.seller = None
        self.buyer = None
        self.cur = Attempt()
        self.history = []
        self.seen = set()
        self.parked = []

    def copy(self):
        j = Job.__new__(Job)
        j.__dict__.update(self.__dict__)
        j.cur = self.cur.copy()
        j.history = list(self.history)
        return j

    def line(self):
        a = self.cur
        return ("job_id=%s attempt=%d capacity=%s execution=%s output=%s "
                "settlement=%s reason=%s retry=%s"
                % (self.job_id, self.attempt, a.capacity, a.execution,
                   a.output, self.settlement, self.reason, self.retry))


JOB_LEVEL = {"seller_packet", "buyer_packet"}
WAIT, MET, NEVER = "wait", "met", "never"


def precondition(a, typ):
    """docs/SPEC.md §4 precondition table -> (MET|WAIT|NEVER, why)."""
    if typ == "execution_started":
        if a.capacity == "fail":
            return NEVER, "I3: capacity failed"
        if a.execution != "not_started":
            return NEVER, "execution already started"
        if a.capacity != "pass":
            return WAIT, "needs capacity pass"
    elif typ in ("execution_failed", "execution_completed"):
        if a.execution in ("pass", "fail"):
            return NEVER, "execution already ended"
        if a.execution != "running":
            return WAIT, "needs execution running"
    elif typ == "output_delivered":
        if a.execution == "fail":
            return NEVER, "I1: execution failed"
        if a.output == "present":
            return NEVER, "this attempt already has an output"
        if a.execution != "pass":
            return WAIT, "needs execution pass"
    elif typ == "evaluation_reported":
        if a.execution == "fail":
            return NEVER, "I2: execution failed"
        if a.evaluation in ("pass", "fail"):
            return NEVER, "evaluation already reported"
        if a.output != "present":
            return WAIT, "needs output present"
    return MET, ""


def concluded(j):
    a = j.cur
    return (a.capacity == "fail" or a.execution == "fail" or
            a.evaluation == "fail" or a.reviewed or
            (a.execution == "not_started" and (a.expired or j.rule == "R4")))


def gate(j, ev):
    typ, att = ev["type"], ev["attempt"]
    if att == j.attempt or typ in JOB_LEVEL:
        return precondition(j.cur, typ)
    if att < j.attempt:
        return NEVER, "attempt already closed"
    if att > j.attempt + 1:
        return NEVER, "attempt skips ahead"
    if not concluded(j):
        return WAIT, "needs the previous attempt to conclude"
    return precondition(Attempt(), typ)


def effect(j, ev):
    typ, att, b, t = ev["type"], ev["attempt"], ev["body"], ev["occurred_at"]
    if att == j.attempt + 1 and typ not in JOB_LEVEL:
        c = j.cur
        j.history.append({"attempt": j.attempt, "capacity": c.capacity,
                          "execution": c.execution, "output": c.output,
                          "evaluation": c.evaluation,
                          "failure_class": c.failure_class,
                          "settlement": j.settlement, "retry": j.retry,
                          "reason": j.reason, "rule": j.rule,
                          "amounts": j.amounts})
        j.cur = Attempt()
        if j.retry == "free":  # docs/SPEC.md §5: consumed when attempt n+1 begins
            j.free_retries_used += 1
        j.locked = False  # I5 is per attempt: n+1 begins pending
        j.attempt = att
    if j.time is None or t > j.time:
        j.time = t
    a = j.cur
    if typ == "quote_accepted":
        if j.quote is None or j.quote["attempt"] < att:
            q = dict(b)
            q["attempt"] = att
            j.quote = q
    elif typ == "capacity_checked":
        if a.capacity == "unknown":  # the first result of an attempt stands
            a.capacity = b["result"]
            a.lane["capacity"] = b
            a.lane["checked_at"] = t
    elif typ == "reservation_accepted":
        a.lane["worker_id"] = b["worker_id"]
    elif typ == "execution_started":
        a.execution = "running"
        a.lane["execution"] = b
        a.lane["started_at"] = t
    elif typ == "execution_failed":
        a.execution = "fail"
        a.failure_class = b["failure_class"]
        a.lane["failed"] = b
        a.lane["failed_at"] = t
    elif typ == "execution_completed":
        a.execution = "pass"
        a.lane["completed"] = b
        a.lane["completed_at"] = t
    elif typ == "output_delivered":
        a.output = "present"
        a.lane["output"] = b
    elif typ == "evaluation_reported":
        a.evaluation = b["status"]
        a.lane["evaluation_rule"] = b.get("rule")
    elif typ == "seller_packet":
        j.seller = b
    elif typ == "buyer_packet":
        j.buyer = b
    elif typ == "job_cancelled":
        if not a.cancelled:  # the first cancel of an attempt stands
            a.cancelled = True
            a.cancelled_while = a.execution
            a.cancelled_at = t
    elif typ == "reservation_expired":
        a.expired = True
    elif typ == "review_decided":
        a.reviewed = True
        a.review_settlement = b["settlement"]


def packets_disagree(j):
    s = j.seller.get("failure_class") if j.seller is not None else None
    bo = j.buyer.get("observed_failure_class") if j.buyer is not None else None
    if s is not None and bo is not None and s != bo:
        return True
    if j.seller is not None and s is None and j.cur.execution == "fail":
        return True
    if j.buyer is not None and bo is not None and j.cur.execution == "pass":
        return True
    return False


def decide(j):
    """docs/SPEC.md §5: first matching rule -> (settlement, retry, reason, rule)."""
    a = j.cur
    failed_no_output = a.execution == "fail" and a.output == "none"
    if a.reviewed:
        v = (a.review_settlement, "none", "manual_review", "R1")
    elif a.cancelled and a.cancelled_while == "not_started":
        v = ("refund", "none", "buyer_cancelled", "R2")
    elif a.cancelled and a.cancelled_while == "running":
        v = ("partial_refund", "none", "buyer_cancelled", "R12")
    elif a.capacity == "fail":
        v = ("refund", "reassign", "capacity_fail", "R3")
    elif a.execution == "not_started" and (
            a.expired or (j.quote is not None and j.time is not None and
                          j.time > j.quote["window_end"])):
        v = ("refund", "reassign", "provider_no_show", "R4")
    elif (failed_no_output and j.buyer is not None and j.quote is not None
          and j.buyer["memory_budget_gb"] > j.quote["vram_gb"]):
        v = ("partial_refund", "none", "memory_budget_exceeds_quote", "R5")
    elif a.execution in ("fail", "pass") and packets_disagree(j):
        v = ("escalate", "manual_review", "logs_disagree", "R6")
    elif failed_no_output and j.free_retries_used < FREE_RETRIES:
        v = ("hold", "free", a.failure_class, "R7")
    elif a.execution == "fail":
        v = ("hold", "none", a.failure_class, "R8")
    elif (a.execution == "pass" and a.output == "present" and
          a.evaluation == "fail"):
        v = ("release", "quality_review", "evaluation_failed", "R9")
    elif a.execution == "pass" and a.output == "present":
        v = ("release", "none", "delivered", "R10")
    elif a.execution == "pass" and a.output == "none":
        v = ("hold", "none", "output_missing", "R11")
    else:
        v = ("pending", "none", "in_progress", None)
    # I5: a final posture moves only by review.
    if j.locked and v[3] != "R1":
        v = (j.settlement,) + v[1:]
    return v


def amounts(j, v, now):
    """docs/SPEC.md §6: what decision v means for the attempt's money at event time
    `now` (ms), or None when the quote has no price."""
    q = j.quote
    if q is None or "price.amount_minor" not in q:
        return None
    price = q["price.amount_minor"]
    settlement = v[0]
    charge = refund = held = 0
    if settlement == "refund":
        refund = price
    elif settlement == "release":
        charge = price
    elif settlement == "partial_refund":
        window = q["window_end"] - q["window_start"]
        if window > 0:  # a window of zero length charges 0
            charge = price * used_ms(j, v[3], now) // window
        refund = price - charge
    else:  # hold, escalate, pending
        held = price
    return {"currency": q["price.currency"], "price_minor": price,
            "charge_minor": charge, "refund_minor": refund,
            "held_minor": held}


def used_ms(j, rule, now):
    """How long the buyer held the machine in this attempt, in [0, window]."""
    a, q = j.cur, j.quote
    window = q["window_end"] - q["window_start"]
    start = a.lane.get("started_at")
    if start is None:
        return 0
    if rule == "R12":
        end = a.cancelled_at
    elif rule == "R5":
        end = a.lane.get("failed_at")
    else:  # a review: up to the last execution time, or now while running
        end = a.lane.get("failed_at")
        if end is None:
            end = a.lane.get("completed_at")
        if end is None:
            end = now
    if end is None:
        return 0
    return min(max(end - start, 0), window)


def impossible(j, v):
    a = j.cur
    if a.output == "present" and a.execution != "pass":
        return "I1"
    if a.output == "none" and a.evaluation not in ("not_started",
                                                   "not_applicable"):
        return "I2"
    if a.capacity == "fail" and a.execution != "not_started":
        return "I3"
    if a.execution == "fail" and v[0] == "release":
        return "I4"
    return None


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def receipt(j):
    a = j.cur
    return {
        "job_id": j.job_id, "attempt": j.attempt, "line": j.line(),
        "quote": j.quote,
        "capacity": {"status": a.capacity,
                     "detail": a.lane.get("capacity"),
                     "checked_at": a.lane.get("checked_at")},
        "execution": {"status": a.execution,
                      "worker_id": a.lane.get("worker_id"),
                      "started": a.lane.get("execution"),
                      "started_at": a.lane.get("started_at"),
                      "failed_at": a.lane.get("failed_at"),
                      "completed_at": a.lane.get("completed_at"),
                      "failure_class": a.failure_class,
                      "failed": a.lane.get("failed"),
                      "completed": a.lane.get("completed")},
        "output": {"status": a.output, "output": a.lane.get("output"),
                   "evaluation_status": a.evaluation,
                   "evaluation_rule": a.lane.get("evaluation_rule")},
        "settlement": {"posture": j.settlement, "retry": j.retry,
                       "reason": j.reason, "rule": j.rule,
                       "amounts": j.amounts,
                       "free_retries_used": j.free_retries_used},
        "packets": {"seller": j.seller and j.seller.get("packet_hash"),
                    "buyer": j.buyer and j.buyer.get("packet_hash")},
        "attempts": j.history + [{
            "attempt": j.attempt, "capacity": a.capacity,
            "execution": a.execution, "output": a.output,
            "evaluation": a.evaluation, "failure_class": a.failure_class,
            "settlement": j.settlement, "retry": j.retry,
            "reason": j.reason, "rule": j.rule, "amounts": j.amounts}],
        "ledger": {"seq": j.seq, "head": j.chain},
    }


class Replay:
    def __init__(self, emit, out):
        self.emit = emit
        self.out = out
        self.jobs = {}
        self.stats = {"events": 0, "applied": 0, "parked": 0,
                      "duplicates": 0, "rejected": 0, "decisions": 0}

    def reject(self, ids, reason, detail):
        self.stats["rejected"] += 1
        if self.emit == "rejects":
            self.out.write(dumps({"event_id": ids[0], "job_id": ids[1],
                                  "reason": reason, "detail": detail}))
            self.out.write("\n")

    def commit(self, j, ev):
        dry = j.copy()
        effect(dry, ev)
        v = decide(dry)
        broken = impossible(dry, v)
        if broken:
            self.reject(ev["_ids"], "impossible_transition",
                        "%s (attempt %d): %s" % (ev["type"], ev["attempt"],
                                                 broken))
            return False
        effect(j, ev)
        # While I5 keeps the attempt's posture its amounts stay as decided;
        # a review decides them anew.
        if j.locked and ev["type"] != "review_decided":
            money = j.amounts
        else:
            money = amounts(j, v, ev["occurred_at"])
        changed = ((v[0], v[1], v[2]) != (j.settlement, j.retry, j.reason)
                   or money != j.amounts)
        j.settlement, j.retry, j.reason, j.rule = v
        j.amounts = money
        if v[0] in FINAL:
            j.locked = True
        j.seen.add(ev["event_id"])
        j.seq += 1
        a = j.cur
        when = format_time(ev["occurred_at"])
        did = None
        if changed:
            did = sha256_hex("%s\n%d\n%d" % (j.job_id, j.attempt, j.seq))
        row = {"job_id": j.job_id, "attempt": j.attempt, "seq": j.seq,
               "transition": ev["type"], "event_id": ev["event_id"],
               "occurred_at": when,
               "capacity_status": a.capacity,
               "execution_status": a.execution,
               "output_status": a.output,
               "evaluation_status": a.evaluation,
               "settlement": j.settlement,
               "seller_packet": j.seller and j.seller.get("packet_hash"),
               "buyer_packet": j.buyer and j.buyer.get("packet_hash"),
               "decision": did, "prev_hash": j.chain}
        j.chain = sha256_hex(dumps(row))
        self.stats["applied"] += 1
        if changed:
            self.stats["decisions"] += 1
            d = {"decision_id": did, "job_id": j.job_id,
                 "attempt": j.attempt, "seq": j.seq, "settlement": v[0],
                 "retry": v[1], "reason": v[2], "rule": v[3],
                 "line": j.line(),
                 "receipt_hash": sha256_hex(dumps(receipt(j))),
                 "policy_hash": POLICY_HASH,
                 "decided_at": when,
                 "amounts": money, "key_id": None, "sig": None}
            if self.emit == "decisions":
                self.out.write(dumps(d))
                self.out.write("\n")
        return True

    def drain(self, j):
        moved = True
        while moved:
            moved = False
            for i, p in enumerate(j.parked):
                g, why = gate(j, p)
                if g == WAIT:
                    continue
                del j.parked[i]
                self.stats["parked"] -= 1
                if g == NEVER:
                    self.reject(p["_ids"], "impossible_transition", why)
                else:
                    self.commit(j, p)
                moved = True
                break
        keep = []
        for p in j.parked:
            if j.locked and p["attempt"] <= j.attempt:
                reason = "job settled"
            elif (j.time is not None and
                  j.time - p["occurred_at"] > PARK_TIMEOUT_MS):
                reason = "park timeout passed in event time"
            else:
                keep.append(p)
                continue
            self.stats["parked"] -= 1
            self.reject(p["_ids"], "precondition_timeout", reason)
        j.parked = keep

    def apply(self, ev):
        j = self.jobs.get(ev["job_id"])
        if j is None:
            j = self.jobs[ev["job_id"]] = Job(ev["job_id"])
        if ev["event_id"] in j.seen:
            self.stats["duplicates"] += 1
            return
        g, why = gate(j, ev)
        if g == NEVER:
            self.reject(ev["_ids"], "impossible_transition", why)
            return
        if g == WAIT:
            if len(j.parked) >= PARK_LIMIT:
                self.reject(ev["_ids"], "precondition_timeout",
                            "park limit reached")
                return
            j.parked.append(ev)
            j.seen.add(ev["event_id"])
            self.stats["parked"] += 1
            return
        if self.commit(j, ev):
            self.drain(j)

    def feed(self, line):
        if not line.strip():
            return
        self.stats["events"] += 1
        try:
            ev = decode(line)
        except Reject as r:
            self.reject((None, None), r.reason, r.detail)
            return
        self.apply(ev)


def main(argv):
    emit, path = "decisions", "-"
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a == "--emit" and args:
            emit = args.pop(0)
            if emit not in ("decisions", "lines", "rejects"):
                sys.stderr.write("replay_ref: unknown --emit %s\n" % emit)
                return 2
        elif a.startswith("-") and a != "-":
            sys.stderr.write(__doc__)
            return 2
        else:
            path = a
    try:
        inp = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        sys.stderr.write("replay_ref: %s\n" % e)
        return 2
    out = sys.stdout
    r = Replay(emit, out)
    for line in inp:
        r.feed(line)
    if emit == "lines":
        for job_id in sorted(r.jobs):
            out.write(r.jobs[job_id].line())
            out.write("\n")
    s = r.stats
    sys.stderr.write("replay_ref: %d events: %d applied, %d parked, "
                     "%d duplicates, %d rejected; %d jobs, %d decisions\n"
                     % (s["events"], s["applied"], s["parked"],
                        s["duplicates"], s["rejected"], len(r.jobs),
                        s["decisions"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
