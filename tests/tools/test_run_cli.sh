#!/usr/bin/env bash
# receiptctl run with real processes: each job ends in the right failure
# class, exit status and settlement (its --stdout events, after a quote and
# a passed capacity check, through `receiptctl replay`).  Every job is
# bounded: by --timeout, or by being short (run_helper).
set -euo pipefail
R="$1"; H="$2"; DATA="$3"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "run cli: $*" >&2; for f in "$T"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2; done; exit 1; }

# quote + passed capacity for a job, as in the canonical case
pre() { head -2 "$DATA/canonical.jsonl" | sed "s/run_8841/$1/g"; }
line() { echo "job_id=$1 attempt=1 capacity=pass execution=$2 output=$3 settlement=$4 reason=$5 retry=$6"; }

# run JOB WANT_EXIT ARGS... : events in $T/JOB.jsonl, stderr in $T/JOB.err
run() {
        local job="$1" want="$2" rc=0; shift 2
        timeout 60 "$R" run --job "$job" --stdout "$@" > "$T/$job.jsonl" 2> "$T/$job.err" || rc=$?
        [ "$rc" = "$want" ] || fail "$job: exit $rc, want $want"
}
# settles JOB CLASS STDERR_CLASS SUMMARY_LINE
settles() {
        local job="$1" cls="$2" scls="$3" want="$4" got
        if [ "$cls" = none ]; then
                grep -q '"type":"execution_completed"' "$T/$job.jsonl" || fail "$job: no execution_completed"
        else
                grep -q "\"type\":\"execution_failed\".*\"failure_class\":\"$cls\"" "$T/$job.jsonl" || fail "$job: not $cls: $(cat "$T/$job.jsonl")"
                grep -q "\"stderr_class\":\"$scls\"" "$T/$job.jsonl" || fail "$job: stderr_class not $scls"
                grep -q "failure_class=$cls stderr_class=$scls" "$T/$job.err" || fail "$job: stderr summary"
        fi
        got=$( { pre "$job"; cat "$T/$job.jsonl"; } | "$R" replay --emit lines 2>/dev/null)
        [ "$got" = "$want" ] || fail "$job: replay '$got', want '$want'"
}

# ---- OOM: an allocation past the limit, after the job started ----------
# auto: a control group when the machine allows, else RLIMIT_AS (said so)
rc=0; timeout 60 "$R" run --job oom --stdout --memory-limit 32M -- "$H" alloc 256 > "$T/oom.jsonl" 2> "$T/oom.err" || rc=$?
if grep -q '^run: memory limit: cgroup-v' "$T/oom.err"; then
        [ "$rc" = 137 ] || fail "oom: exit $rc"
        [ "$(cat "$T/oom.jsonl" | wc -l)" = 2 ] || fail "oom: events"
        settles oom container_oom cgroup_oom_kill "$(line oom fail none hold container_oom free)"
        grep -q 'killed by signal 9; no timeout; oom_kill [1-9]' "$T/oom.err" || fail "oom: counters"
        grep -q '"peak_mem_mb":3[0-2]' "$T/oom.jsonl" || fail "oom: peak not at the 32 MiB limit"
        grep -q 'run_helper: started' "$T/oom.err" || fail "oom: the job did not start"
        # the control group is gone afterwards
        cg=$(sed -n 's/^run: memory limit: cgroup-v[12] (\(.*\))$/\1/p' "$T/oom.err")
        [ -n "$cg" ] && [ ! -e "$cg" ] || fail "oom: control group $cg left behind"
        echo "run cli: OOM through $(sed -n 's/^run: memory limit: \(cgroup-v[12]\).*/\1/p' "$T/oom.err")"
        # --limiter cgroup demands it
        run oom_cg 137 --limiter cgroup --memory-limit 32M -- "$H" alloc 256
        settles oom_cg container_oom cgroup_oom_kill "$(line oom_cg fail none hold container_oom free)"
else
        [ "$rc" = 1 ] || fail "oom (rlimit): exit $rc"
        echo "run cli: control groups not usable here ($(grep '^run: memory limit' "$T/oom.err")); OOM covered by RLIMIT_AS"
        grep -q '^run: memory limit: rlimit (RLIMIT_AS; no control group' "$T/oom.err" || fail "oom: fallback not said"
        settles oom container_oom rlimit_alloc_failure "$(line oom fail none hold container_oom free)"
        rc=0; "$R" run --job x --limiter cgroup --memory-limit 32M --stdout -- true >/dev/null 2>&1 || rc=$?
        [ "$rc" = 125 ] || fail "--limiter cgroup without control groups: exit $rc"
fi

# the RLIMIT_AS path, forced by option and by environment
run oom_rl 1 --limiter rlimit --memory-limit 32M -- "$H" alloc 256
grep -q '^run: memory limit: rlimit (RLIMIT_AS, as asked)' "$T/oom_rl.err" || fail "oom_rl: limiter"
grep -q 'run_helper: allocation [0-9]* MiB: Cannot allocate memory' "$T/oom_rl.err" || fail "oom_rl: no allocation failure"
settles oom_rl container_oom rlimit_alloc_failure "$(line oom_rl fail none hold container_oom free)"
rc=0; GR_RUN_LIMITER=rlimit timeout 60 "$R" run --job oom_env --memory-limit 32M --stdout -- "$H" alloc 256 > "$T/oom_env.jsonl" 2> "$T/oom_env.err" || rc=$?
[ "$rc" = 1 ] || fail "oom_env: exit $rc"
settles oom_env container_oom rlimit_alloc_failure "$(line oom_env fail none hold container_oom free)"

# under the limit nothing happens
run small 0 --memory-limit 64M -- "$H" alloc 8
settles small none none "$(line small pass none hold output_missing none)"

# ---- timeout: SIGTERM at the deadline ----------------------------------
start=$(date +%s)
run slow 124 --timeout 0.5 -- "$H" sleep 30
[ $(( $(date +%s) - start )) -lt 10 ] || fail "slow: the timeout did not stop it"
settles slow timeout wall_timeout "$(line slow fail none hold timeout free)"
# a job ignoring SIGTERM is killed after the grace period
run stubborn 124 --timeout 0.3 -- sh -c 'trap "" TERM; exec '"$H"' sleep 30'
settles stubborn timeout wall_timeout "$(line stubborn fail none hold timeout free)"

# SIGTERM to run itself is passed to the job, and the lifecycle still closes
"$R" run --job termed --stdout -- "$H" sleep 30 > "$T/termed.jsonl" 2> "$T/termed.err" &
rpid=$!
for _ in $(seq 1 100); do grep -q execution_started "$T/termed.jsonl" && break; sleep 0.1; done
kill -TERM "$rpid"
rc=0; for _ in $(seq 1 100); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$rpid" 2>/dev/null && { kill -9 "$rpid"; fail "termed: run did not stop"; }
wait "$rpid" || rc=$?
[ "$rc" = 143 ] || fail "termed: exit $rc"
settles termed runtime_error signal_sigterm "$(line termed fail none hold runtime_error free)"

# what the job leaves running when it ends is stopped with it
start=$(date +%s)
run leftover 0 -- sh -c "'$H' sleep 37 & exit 0"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "leftover: run waited for the background child"
for _ in $(seq 1 20); do pgrep -f "run_helper sleep 37" >/dev/null || break; sleep 0.1; done
pgrep -f "run_helper sleep 37" >/dev/null && fail "leftover: background child still running"

# a reader that goes away: run reports it (125) after the job, not killed by SIGPIPE
set +e
"$R" run --job piped --stdout -- "$H" sleep 1 2> "$T/piped.err" | head -c 10 > /dev/null
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 125 ] || fail "piped: exit $rc"
grep -q 'could not publish execution_completed' "$T/piped.err" || fail "piped: not said"
rm -f "$T/piped.err"

# ---- crashes ------------------------------------------------------------
run segv 139 -- "$H" segv
settles segv runtime_error signal_sigsegv "$(line segv fail none hold runtime_error free)"
run abrt 134 -- "$H" abort
settles abrt runtime_error signal_sigabrt "$(line abrt fail none hold runtime_error free)"
run ex3 3 -- "$H" exit 3
settles ex3 nonzero_exit exit_3 "$(line ex3 fail none hold nonzero_exit free)"

# ---- stderr evidence ----------------------------------------------------
run cuda 1 -- "$H" say 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' 1
settles cuda container_oom cuda_oom "$(line cuda fail none hold container_oom free)"
run drv 1 -- "$H" say 'CUDA driver version is insufficient for CUDA runtime version' 1
settles drv driver_mismatch cuda_driver_mismatch "$(line drv fail none hold driver_mismatch free)"

# ---- the command cannot be executed ------------------------------------
run nf 127 -- /nonexistent/command --flag
settles nf image_pull_failed exec_enoent "$(line nf fail none hold image_pull_failed free)"
grep -q 'cannot execute /nonexistent/command: No such file or directory' "$T/nf.err" || fail "nf: message"
printf '#!/bin/sh\n' > "$T/noexec"; chmod 644 "$T/noexec"
# (even root cannot execute a file without any x bit)
run noexec 126 -- "$T/noexec"
settles noexec image_pull_failed exec_eacces "$(line noexec fail none hold image_pull_failed free)"

# ---- a clean run with an output file ------------------------------------
run ok 0 --output "$T/out.txt" --image sha256:7b3a --model-hash sha256:aa9f --manifest-hash sha256:19c2 -- "$H" write "$T/out.txt" "the answer"
settles ok none none "$(line ok pass present release delivered none)"
sum=$(sha256sum "$T/out.txt" | cut -d' ' -f1)
grep -q "\"type\":\"output_delivered\".*\"output_hash\":\"sha256:$sum\"" "$T/ok.jsonl" || fail "ok: output hash"
grep -q '"container_image":"sha256:7b3a","command":"[^"]*run_helper write [^"]*","model_hash":"sha256:aa9f","input_manifest_hash":"sha256:19c2"' "$T/ok.jsonl" || fail "ok: execution_started body"
grep -q '"wall_ms":[0-9]*,"cpu_ms":[0-9]*' "$T/ok.jsonl" || fail "ok: resources"
# an output that was already there and not rewritten is not this run's
run stale 0 --output "$T/out.txt" -- "$H" exit 0
grep -q output_delivered "$T/stale.jsonl" && fail "stale: old output claimed"
settles stale none none "$(line stale pass none hold output_missing none)"
# a failed run that wrote its output says so (and delivers nothing: I1)
run half 139 --output "$T/half.txt" -- sh -c "'$H' write '$T/half.txt' partial && exec '$H' segv"
grep -q '"output_written":true' "$T/half.jsonl" || fail "half: output_written"
settles half runtime_error signal_sigsegv "$(line half fail none hold runtime_error free)"

# ---- events: deterministic ids, wall-clock times, no GPU numbers here --
[ "$(grep -o '"event_id":"[^"]*"' "$T/ok.jsonl" | tr '\n' ' ')" = '"event_id":"ok-a1-execution_started" "event_id":"ok-a1-execution_completed" "event_id":"ok-a1-output_delivered" ' ] || fail "event ids"
run ok2 0 --attempt 2 -- "$H" exit 0
grep -q '"event_id":"ok2-a2-execution_started","job_id":"ok2","attempt":2' "$T/ok2.jsonl" || fail "attempt 2 ids"
grep -q "\"occurred_at\":\"$(date -u +%Y-%m-%d)T" "$T/ok2.jsonl" || fail "occurred_at is not the wall clock"
# nvidia-smi is optional: absent (this machine, an empty PATH entry, or a
# path that does not exist) means no GPU fields, not an error
rc=0; PATH=/usr/bin:/bin GR_NVIDIA_SMI=/nonexistent/nvidia-smi "$R" run --job nogpu --stdout -- "$H" exit 0 > "$T/nogpu.jsonl" 2> "$T/nogpu.err" || rc=$?
[ "$rc" = 0 ] || fail "nogpu: exit $rc"
grep -q 'gpu not measured (no nvidia-smi)' "$T/nogpu.err" || fail "nogpu: not said"
grep -q 'peak_vram_mb\|gpu_seconds' "$T/nogpu.jsonl" && fail "nogpu: invented GPU numbers"
if ! command -v nvidia-smi >/dev/null; then
        grep -q 'peak_vram_mb\|gpu_seconds' "$T"/*.jsonl && fail "GPU numbers without nvidia-smi"
fi

# (no GPU here: a stand-in nvidia-smi that reports 1234 MiB for the job's
# process checks the sampling and the fields, not any real GPU)
cat > "$T/fake-smi" <<EOF2
#!/bin/sh
for p in \$(pgrep -f "run_helper sleep 2"); do echo "\$p, 1234"; done
echo "99999999, 777"
EOF2
chmod +x "$T/fake-smi"
rc=0; GR_NVIDIA_SMI="$T/fake-smi" "$R" run --job fakegpu --stdout -- "$H" sleep 2 > "$T/fakegpu.jsonl" 2> "$T/fakegpu.err" || rc=$?
[ "$rc" = 0 ] || fail "fakegpu: exit $rc"
grep -q '"resources":{"peak_vram_mb":1234,"gpu_seconds":[1-3][.0-9]*,' "$T/fakegpu.jsonl" || fail "fakegpu: $(cat "$T/fakegpu.jsonl")"
grep -q 'gpu sampled with nvidia-smi' "$T/fakegpu.err" || fail "fakegpu: not said"

# ---- signed with the seller's key --------------------------------------
"$R" keygen --role seller --id k-w1 --out "$T" >/dev/null
"$R" keygen --role buyer --id k-b1 --out "$T" >/dev/null
run signed 137 --key "$T/k-w1.key.json" --worker worker-17 -- sh -c 'kill -9 $$'
grep -q '"key_id":"k-w1"' "$T/signed.jsonl" && grep -q '"sig":"' "$T/signed.jsonl" || fail "signed: no signature"
echo '{"require_signatures":{"roles":["seller"]}}' > "$T/policy.json"
got=$( { pre signed; cat "$T/signed.jsonl"; } | "$R" replay --policy "$T/policy.json" --keys "$T/k-w1.pub.json" --emit lines 2>/dev/null)
[ "$got" = "$(line signed fail none hold runtime_error free)" ] || fail "signed replay: $got"
rej=$( { pre signed; sed 's/runtime_error/driver_mismatch/' "$T/signed.jsonl"; } | "$R" replay --policy "$T/policy.json" --keys "$T/k-w1.pub.json" --emit rejects - 2>/dev/null)
echo "$rej" | grep -q '"event_id":"signed-a1-execution_failed".*"reason":"bad_signature"' || fail "signed: tampered class accepted: $rej"

# ---- unusable arguments: exit 2, nothing runs --------------------------
for args in "--stdout -- true" "--job j --stdout" "--job j --memory-limit lots --stdout -- true" \
            "--job j --memory-limit -5 --stdout -- true" "--job j --timeout 0 --stdout -- true" \
            "--job j --attempt 0 --stdout -- true" "--job j --limiter bogus --stdout -- true" \
            "--job j --stdout --bootstrap 127.0.0.1:1 -- true" "--job j --key $T/k-b1.key.json --stdout -- true" \
            "--job j --key /nonexistent --stdout -- true" "--job j --bogus --stdout -- true" \
            "--job $(printf 'x%.0s' $(seq 1 200)) --stdout -- true" "--job j --image $(printf 'x%.0s' $(seq 1 200)) --stdout -- true" \
            "--job j --output $(printf 'x%.0s' $(seq 1 1100)) --stdout -- true"; do
        rc=0; env -u GR_BOOTSTRAP "$R" run $args > "$T/bad.out" 2> "$T/bad.err" || rc=$?
        [ "$rc" = 2 ] || fail "'$args': exit $rc"
        [ ! -s "$T/bad.out" ] || fail "'$args': printed events"
        grep -q '^run: \|^usage\|^receiptctl run: ' "$T/bad.err" || fail "'$args': no message"
done
rc=0; "$R" run --job j --worker "" --stdout -- true >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "empty --worker: exit $rc"
rc=0; GR_RUN_LIMITER=bogus "$R" run --job j --stdout -- true >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "GR_RUN_LIMITER=bogus: exit $rc"
# events that cannot be delivered: exit 125, and the command never starts
rc=0; timeout 60 "$R" run --job unreachable --bootstrap 127.0.0.1:1 -X message.timeout.ms=1000 \
        -- "$H" write "$T/marker" started > /dev/null 2> "$T/unreachable.err" || rc=$?
[ "$rc" = 125 ] || fail "unreachable Kafka: exit $rc"
[ ! -e "$T/marker" ] || fail "unreachable Kafka: the command ran"
grep -q 'the command was not started' "$T/unreachable.err" || fail "unreachable Kafka: not said"
rm -f "$T/unreachable.err"
# a job id too long for a readable event id still gets a deterministic one
long=$(printf 'j%.0s' $(seq 1 120))
run "$long" 0 -- true
grep -q '"event_id":"run-[0-9a-f]\{40\}"' "$T/$long.jsonl" || fail "long job id"
echo "run cli ok"
