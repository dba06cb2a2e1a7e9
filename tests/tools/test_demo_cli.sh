#!/usr/bin/env bash
# receiptctl demo on the embedded broker: besides the summary lines and
# decisions it shows the canonical job's ledger rows in the key=value form,
# the same lines as `receiptctl replay --emit ledger --format lines` gives
# for that job from the same events (one renderer for both).
set -euo pipefail
R="$1"; DATA="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

timeout 60 "$R" demo --data "$DATA/scenarios.jsonl" > "$T/out" 2> "$T/err" ||
  { cat "$T/out" "$T/err"; fail "demo exited $?"; }
head -1 "$T/out" | grep -q '^gpu-receipts demo: embedded broker at ' || fail "first line: $(head -1 "$T/out")"
grep -q '^job_id=run_8841 attempt=1 capacity=pass execution=fail output=none settlement=hold reason=container_oom retry=free$' "$T/out" ||
  fail "no canonical summary line"
grep -q '^    decision R7 .*settlement=hold retry=free reason=container_oom' "$T/out" || fail "no canonical decision"

# the ledger section: only run_8841's rows, as replay renders them
sed -n '/^== the canonical case run_8841: ledger rows/,/^== /p' "$T/out" | grep '^job_id=' > "$T/demo.ledger" ||
  fail "no ledger rows section"
"$R" replay --emit ledger --format lines "$DATA/scenarios.jsonl" 2>/dev/null | grep '^job_id=run_8841 ' > "$T/replay.ledger"
[ -s "$T/replay.ledger" ] || fail "replay gave no run_8841 rows"
diff "$T/replay.ledger" "$T/demo.ledger" || fail "demo's ledger rows differ from replay's"
grep -q '^job_id=run_8841 seq=[0-9]* transition=execution_failed capacity_status=pass execution_status=fail output_status=none evaluation_status=[a-z_]* settlement=hold seller_packet=[^ ]* buyer_packet=[^ ]* decision=[0-9a-f]\{64\} prev_hash=[0-9a-f]\{64\} row_hash=[0-9a-f]\{64\}$' "$T/demo.ledger" ||
  fail "no execution_failed row: $(cat "$T/demo.ledger")"

# --canonical picks another job's rows
timeout 60 "$R" demo --canonical run_capfail > "$T/out2" 2>&1 || fail "demo --canonical exited $?"
sed -n '/^== the canonical case run_capfail: ledger rows/,/^== /p' "$T/out2" | grep '^job_id=' > "$T/cap.ledger" ||
  fail "no run_capfail ledger rows"
grep -qv '^job_id=run_capfail ' "$T/cap.ledger" && fail "other jobs' rows under run_capfail"

# a data file that is not there is an argument error
set +e
"$R" demo --data "$T/nope.jsonl" > /dev/null 2> "$T/err"; rc=$?
set -e
[ $rc = 2 ] || fail "demo --data missing: exit $rc"
grep -q "nope.jsonl" "$T/err" || fail "demo --data missing: $(cat "$T/err")"
echo "demo cli ok"
