#!/usr/bin/env bash
# End to end through the CLI: keygen -> sign -> replay with a policy that
# requires seller signatures.  Signed input decides the canonical line;
# a tampered body is `bad_signature`; the same signed events replayed under
# another job_id are `bad_signature`; no registry is `unknown_key`.
set -euo pipefail
R="$1"; DATA="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo '{"require_signatures":{"roles":["seller"]}}' > "$T/policy.json"
"$R" keygen --role seller --id k-worker-17 --out "$T" --valid-from 2026-01-01T00:00:00Z >/dev/null
"$R" sign --key "$T/k-worker-17.key.json" --role seller "$DATA/canonical.jsonl" > "$T/signed.jsonl"

# A secret key file that group or others may read is refused, by every
# command that reads one, before anything is signed; a directory too.
cp "$T/k-worker-17.key.json" "$T/open.key.json"; chmod 644 "$T/open.key.json"
refused() {  # refused WHAT ARGS...: exit 2, the reason, no output
        local what=$1 rc; shift
        set +e
        "$R" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?
        set -e
        [ $rc = 2 ] || { echo "$what with a 0644 key: exit $rc"; cat "$T/err"; exit 1; }
        grep -q 'open.key.json is accessible to group or others (mode 0644); chmod 600 it' "$T/err" ||
                { echo "$what with a 0644 key: $(cat "$T/err")"; exit 1; }
        [ ! -s "$T/out" ] || { echo "$what with a 0644 key wrote output"; exit 1; }
}
refused sign sign --role seller --key "$T/open.key.json" "$DATA/canonical.jsonl"
refused "ledger seal" ledger seal --key "$T/open.key.json" "$DATA/canonical.jsonl"
refused run run --job j --stdout --key "$T/open.key.json" -- true
set +e
"$R" sign --role seller --key "$T" "$DATA/canonical.jsonl" >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q 'not a regular file' "$T/err" || { echo "sign with a directory as key: exit $rc $(cat "$T/err")"; exit 1; }

want='job_id=run_8841 attempt=1 capacity=pass execution=fail output=none settlement=hold reason=container_oom retry=free'
got=$("$R" replay --policy "$T/policy.json" --keys "$T/k-worker-17.pub.json" --emit lines "$T/signed.jsonl" 2>/dev/null)
[ "$got" = "$want" ] || { echo "signed replay: got '$got'"; exit 1; }

rej=$(sed 's/container_oom/driver_mismatch/' "$T/signed.jsonl" |
      "$R" replay --policy "$T/policy.json" --keys "$T/k-worker-17.pub.json" --emit rejects - 2>/dev/null)
echo "$rej" | grep -q '"event_id":"run_8841-f1".*"reason":"bad_signature"' || { echo "tamper: $rej"; exit 1; }

rej=$(sed 's/run_8841/run_9999/g' "$T/signed.jsonl" |
      "$R" replay --policy "$T/policy.json" --keys "$T/k-worker-17.pub.json" --emit rejects - 2>/dev/null)
[ "$(echo "$rej" | grep -c '"reason":"bad_signature"')" = 2 ] || { echo "replayed under other job: $rej"; exit 1; }

rej=$("$R" replay --policy "$T/policy.json" --emit rejects "$T/signed.jsonl" 2>/dev/null)
[ "$(echo "$rej" | grep -c '"reason":"unknown_key"')" = 2 ] || { echo "no registry: $rej"; exit 1; }

# The ledger of the same events, sealed with a processor key.
"$R" replay --emit ledger "$DATA/scenarios.jsonl" 2>/dev/null > "$T/ledger.jsonl"
"$R" keygen --role processor --id p-old --out "$T" --valid-from 2026-01-01T00:00:00Z >/dev/null 2>&1
"$R" ledger seal --key "$T/p-old.key.json" --batch 10 "$T/ledger.jsonl" > "$T/sealed.jsonl"

# Without a key: the chains are checked (exit 0) and it says plainly that
# the tree heads' signatures were not.
set +e
"$R" ledger verify "$T/sealed.jsonl" > "$T/out" 2> "$T/err"; rc=$?
set -e
[ $rc = 0 ] || { echo "keyless verify: exit $rc"; cat "$T/out" "$T/err"; exit 1; }
grep -q '^ledger chains ok: [0-9]* rows' "$T/out" || { echo "keyless verify: $(cat "$T/out")"; exit 1; }
grep -q 'tree heads NOT checked' "$T/out" || { echo "keyless verify does not say heads were not checked"; exit 1; }
grep -q 'NOT checked' "$T/err" || { echo "keyless verify: no warning on stderr"; exit 1; }
# ... and a broken chain is still found without a key (exit 1, named row)
sed '5s/"settlement":"[a-z_]*"/"settlement":"release"/' "$T/sealed.jsonl" > "$T/bad.jsonl"
cmp -s "$T/bad.jsonl" "$T/sealed.jsonl" && { echo "tamper did not change the ledger"; exit 1; }
set +e
"$R" ledger verify "$T/bad.jsonl" > "$T/out" 2> "$T/err"; rc=$?
set -e
[ $rc = 1 ] || { echo "keyless verify of a tampered ledger: exit $rc"; exit 1; }
grep -q '^ledger BAD: first bad row at line 5 .*row_hash_mismatch' "$T/out" || { echo "tampered: $(cat "$T/out")"; exit 1; }
grep -q 'NOT checked' "$T/err" || { echo "tampered keyless verify: no warning"; exit 1; }
# With the key both are checked.
out=$("$R" ledger verify --key "$T/p-old.pub.json" "$T/sealed.jsonl" 2>&1)
echo "$out" | grep -q '^ledger ok: .* tree heads valid' || { echo "keyed verify: $out"; exit 1; }
echo "$out" | grep -q 'NOT checked' && { echo "keyed verify says NOT checked: $out"; exit 1; }

# A key made now (keygen's default) cannot sign for May: the error names
# the times and what to do, and keygen said so when it made the key.
"$R" keygen --role processor --id p-new --out "$T" > /dev/null 2> "$T/keygen.err"
grep -q -- '--valid-from' "$T/keygen.err" || { echo "keygen gave no --valid-from hint: $(cat "$T/keygen.err")"; exit 1; }
"$R" ledger seal --key "$T/p-new.key.json" "$T/ledger.jsonl" > "$T/sealed-new.jsonl"
set +e
out=$("$R" ledger verify --key "$T/p-new.pub.json" "$T/sealed-new.jsonl" 2>&1); rc=$?
set -e
[ $rc = 1 ] || { echo "verify with a key made now: exit $rc: $out"; exit 1; }
echo "$out" | grep -q 'tree head key "p-new" is not valid at 2026-05-25T[0-9:]*Z, only from .*: make the key with receiptctl keygen --valid-from 2026-05-25T[0-9:]*Z (or earlier) (unknown_key)' ||
  { echo "key validity message: $out"; exit 1; }
# the same advice where a signed event predates its key
"$R" keygen --role seller --id k-late --out "$T" --valid-from 2026-06-01T00:00:00Z >/dev/null 2>&1
"$R" sign --key "$T/k-late.key.json" --role seller "$DATA/canonical.jsonl" > "$T/late.jsonl"
rej=$("$R" replay --policy "$T/policy.json" --keys "$T/k-late.pub.json" --emit rejects "$T/late.jsonl" 2>/dev/null)
echo "$rej" | grep -q '"reason":"unknown_key".*only from 2026-06-01T00:00:00Z: make the key with receiptctl keygen --valid-from' ||
  { echo "event before its key: $rej"; exit 1; }
echo "signed replay ok"
