#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives a receiptctl that finds
# its bundled scenarios there (not in the source tree) and runs the demo
# from any directory; GR_DATA_DIR overrides the lookup.
set -euo pipefail
CMAKE="$1"; BUILD="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CMAKE" --install "$BUILD" --prefix "$T/prefix" > "$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install"; }
RC="$T/prefix/bin/receiptctl"
DATA="$T/prefix/share/gpu-receipts"
[ -x "$RC" ] || fail "no $RC"
[ -x "$T/prefix/bin/receiptd" ] || fail "no receiptd installed"
[ -s "$DATA/scenarios.jsonl" ] || fail "no $DATA/scenarios.jsonl"
[ -s "$DATA/canonical.jsonl" ] || fail "no $DATA/canonical.jsonl"

cd "$T"   # nowhere near the source tree
out=$("$RC" demo --help) || fail "installed demo --help exited $?"
echo "$out" | grep -qx "bundled scenarios: $DATA/scenarios.jsonl" ||
  fail "installed demo does not find its data: $(echo "$out" | tail -1)"

# the environment overrides the lookup
mkdir "$T/alt"
head -4 "$DATA/scenarios.jsonl" > "$T/alt/scenarios.jsonl"
out=$(GR_DATA_DIR="$T/alt" "$RC" demo --help)
echo "$out" | grep -qx "bundled scenarios: $T/alt/scenarios.jsonl" ||
  fail "GR_DATA_DIR not used: $(echo "$out" | tail -1)"

# the whole demo, installed
timeout 60 "$RC" demo > "$T/demo.out" 2> "$T/demo.err" ||
  { cat "$T/demo.out" "$T/demo.err"; fail "installed demo exited $?"; }
grep -q "^published [0-9]* events from $DATA/scenarios.jsonl" "$T/demo.out" ||
  fail "installed demo read: $(grep '^published' "$T/demo.out")"
grep -q '^job_id=run_8841 attempt=1 capacity=pass execution=fail output=none settlement=hold reason=container_oom retry=free$' "$T/demo.out" ||
  fail "installed demo: no canonical line"
echo "install ok"
