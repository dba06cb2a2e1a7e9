#!/usr/bin/env bash
# receiptctl replay's command-line contract (docs/SPEC.md §7).
set -euo pipefail
R="$1"; DATA="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
want='job_id=run_8841 attempt=1 capacity=pass execution=fail output=none settlement=hold reason=container_oom retry=free'

[ "$("$R" replay --emit lines "$DATA/canonical.jsonl" 2>/dev/null)" = "$want" ]
[ "$("$R" replay --emit lines - < "$DATA/canonical.jsonl" 2>/dev/null)" = "$want" ]
[ "$("$R" replay --emit lines < "$DATA/canonical.jsonl" 2>/dev/null)" = "$want" ]

# lines are sorted by job_id, one per job
"$R" replay --emit lines "$DATA/scenarios.jsonl" 2>/dev/null > "$T/lines"
sort -c "$T/lines"
[ "$(wc -l < "$T/lines")" = "$(grep -o '"job_id":"[^"]*"' "$DATA/scenarios.jsonl" | sort -u | wc -l)" ]

# exit 2: unusable arguments or files
set +e
"$R" replay --emit bogus "$DATA/canonical.jsonl" 2>/dev/null; [ $? = 2 ] || exit 1
"$R" replay /nonexistent/file 2>/dev/null; [ $? = 2 ] || exit 1
"$R" replay --policy /nonexistent "$DATA/canonical.jsonl" 2>/dev/null; [ $? = 2 ] || exit 1
echo '{"bogus_key":1}' > "$T/p.json"
"$R" replay --policy "$T/p.json" "$DATA/canonical.jsonl" 2>/dev/null; [ $? = 2 ] || exit 1
set -e

# exit 0 with rejects; every input line accounted for
printf 'not json\n{"event_id":"x"}\n\n' | cat - "$DATA/canonical.jsonl" > "$T/mixed"
"$R" replay --emit rejects "$T/mixed" > "$T/rej" 2> "$T/err"
grep -q '"reason":"invalid_json"' "$T/rej"
grep -q '"reason":"missing_field"' "$T/rej"
grep -q '6 events: 4 applied, 0 parked, 0 duplicates, 2 rejected' "$T/err"

# an over-long line is a too_large reject, not a crash or a stall
/usr/bin/python3 -c 'print("{\"event_id\":\"" + "x"*70000 + "\"}")' > "$T/big"
"$R" replay --emit rejects "$T/big" | grep -q '"reason":"too_large"'

# deterministic: same input, same bytes
a=$("$R" replay --emit decisions "$DATA/scenarios.jsonl" 2>/dev/null | sha256sum)
b=$("$R" replay --emit decisions "$DATA/scenarios.jsonl" 2>/dev/null | sha256sum)
[ "$a" = "$b" ]
# --emit ledger --format lines: each ledger row as key=value pairs in
# ledger-row order, single spaces, - for null; the same rows, in the same
# order, as the JSON form, which stays the default
"$R" replay --emit ledger "$DATA/scenarios.jsonl" 2>/dev/null > "$T/ledger.json"
"$R" replay --emit ledger --format json "$DATA/scenarios.jsonl" 2>/dev/null | cmp - "$T/ledger.json"
"$R" replay --emit ledger --format lines "$DATA/scenarios.jsonl" 2>/dev/null > "$T/ledger.lines"
/usr/bin/python3 - "$T/ledger.json" "$T/ledger.lines" <<'PY'
import json, sys
fields = ["job_id", "seq", "transition", "capacity_status", "execution_status",
          "output_status", "evaluation_status", "settlement", "seller_packet",
          "buyer_packet", "decision", "prev_hash", "row_hash"]
rows = [json.loads(l) for l in open(sys.argv[1])]
lines = open(sys.argv[2]).read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
assert len(rows) == len(lines) > 0, (len(rows), len(lines))
for row, line in zip(rows, lines):
    pairs = [p.split("=", 1) for p in line.split(" ")]
    assert [k for k, _ in pairs] == fields, line
    for k, v in pairs:
        want = row[k]
        want = "-" if want is None else str(want)
        assert v == want, (k, v, want, line)
PY
grep -q '^job_id=run_8841 seq=4 transition=execution_failed capacity_status=pass execution_status=fail output_status=none evaluation_status=[a-z_]* settlement=hold seller_packet=[^ ]* buyer_packet=[^ ]* decision=[0-9a-f]\{64\} prev_hash=[0-9a-f]\{64\} row_hash=[0-9a-f]\{64\}$' "$T/ledger.lines"
set +e
"$R" replay --emit ledger --format yaml "$DATA/canonical.jsonl" 2>/dev/null; [ $? = 2 ] || exit 1
"$R" replay --emit decisions --format lines "$DATA/canonical.jsonl" 2>/dev/null; [ $? = 2 ] || exit 1
set -e
echo "replay cli ok"
