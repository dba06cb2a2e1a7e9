#!/usr/bin/env bash
# receiptctl run on the embedded broker.
#   receiptd: a quote and a passed capacity check emitted, then a real job
#     allocating past its memory limit published by `receiptctl run
#     --bootstrap`; receiptd's receipt for the job says container_oom/hold.
#   demo: `receiptctl demo --live` shows the live job's canonical line and
#     its receipt.
# Every wait is bounded (deadlines below, `timeout` around each command).
set -euo pipefail
MODE="$1"; R="$2"; RD="$3"; H="$4"; DATA="$5"
T=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do
                for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$p" 2>/dev/null || true
        done
        rm -rf "$T"
}
trap cleanup EXIT
fail() {
        echo "run kafka: $*" >&2
        for f in "$T"/*.log "$T"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; } >&2; done
        exit 1
}
want='capacity=pass execution=fail output=none settlement=hold reason=container_oom retry=free'

if [ "$MODE" = demo ]; then
        # (sanitizer builds: see lsan-demo.supp)
        LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan-demo.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        timeout 90 "$R" demo --live > "$T/demo.out" 2> "$T/demo.err" || fail "demo --live exited $?"
        grep -q "^live job run_live: .*failure_class=container_oom stderr_class=\(cgroup_oom_kill\|rlimit_alloc_failure\)" "$T/demo.out" || fail "no live job line: $(head -3 "$T/demo.out")"
        grep -q "^job_id=run_live attempt=1 $want$" "$T/demo.out" || fail "no live canonical line"
        grep -q '^== the canonical case run_live: receipt' "$T/demo.out" || fail "receipt not of the live job"
        grep -q "\"line\": \"job_id=run_live attempt=1 $want\"" "$T/demo.out" || fail "receipt line"
        # the scripted canonical case is still there, unchanged
        grep -q "^job_id=run_8841 attempt=1 $want$" "$T/demo.out" || fail "scripted canonical case lost"
        grep '^live job' "$T/demo.out"
        echo "demo --live ok"
        exit 0
fi

# ---- receiptd ----------------------------------------------------------
mkfifo "$T/ctl"
"$R" broker --partitions 4 < "$T/ctl" > "$T/broker.log" 2>&1 &
pids+=($!)
exec 3> "$T/ctl" # keeps the broker's control channel open
B=
for _ in $(seq 1 100); do
        B=$(sed -n 's/^bootstrap.servers=//p' "$T/broker.log" | head -1)
        [ -n "$B" ] && break
        sleep 0.1
done
[ -n "$B" ] || fail "broker did not print its address within 10 s"

"$RD" -X bootstrap.servers="$B" -X consumer.fetch.wait.max.ms=10 \
      -X consumer.session.timeout.ms=6000 -X consumer.heartbeat.interval.ms=500 \
      -X batch.ms=20 -X log_level=3 > "$T/receiptd.log" 2>&1 &
pids+=($!)

head -2 "$DATA/canonical.jsonl" | sed 's/run_8841/run_k1/g' > "$T/pre.jsonl"
timeout 60 "$R" emit --bootstrap "$B" "$T/pre.jsonl" 2> "$T/emit.err" || fail "emit"
rc=0
timeout 60 "$R" run --job run_k1 --bootstrap "$B" --memory-limit 32M --worker worker-17 \
        -- "$H" alloc 256 2> "$T/run.err" || rc=$?
case "$rc" in
137) grep -q 'stderr_class=cgroup_oom_kill' "$T/run.err" || fail "137 without an oom kill";;
1) grep -q 'stderr_class=rlimit_alloc_failure' "$T/run.err" || fail "exit 1 without an allocation failure";;
*) fail "run exited $rc";;
esac

deadline=$(( $(date +%s) + 60 ))
got=
while [ "$(date +%s)" -lt "$deadline" ]; do
        got=$(timeout 20 "$R" receipt run_k1 --bootstrap "$B" --timeout-ms 5000 2>/dev/null | sed -n 's/^  "line": "\(.*\)",$/\1/p' || true)
        [ "$got" = "job_id=run_k1 attempt=1 $want" ] && break
        sleep 0.5
done
[ "$got" = "job_id=run_k1 attempt=1 $want" ] || fail "receipt line '$got'"
echo "receiptd: $got"
echo "run kafka ok"
