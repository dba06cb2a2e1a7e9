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
echo "signed replay ok"
