#!/usr/bin/env bash
# Run the unit tests under valgrind: every ctest test of BUILD_DIR
# whose command is a compiled program of the build (cmocka tests, fuzz
# corpus replays), not labelled kafka, each under
#   valgrind --error-exitcode=1 --leak-check=full
# Scripts (Python, shell) and the Kafka suite are left to the normal run;
# html_chromium is skipped (it drives a browser, not our code).
# BUILD_DIR must be a build WITHOUT -DGR_ASAN / -DGR_FUZZ (valgrind cannot
# run sanitizer binaries).
#
#   tests/run-valgrind.sh build [-j N] [REGEX]   (REGEX: only matching tests)
# Exit 0 when every test is clean, 1 otherwise (failures listed at the end).
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR [-j N] [REGEX]}
shift
jobs=$(nproc)
if [ "${1:-}" = -j ]; then jobs=$2; shift 2; fi
filter=${1:-.}
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
logdir="$build/valgrind"
mkdir -p "$logdir"

# name, workdir, env (;-separated), command (\x1f-separated), joined by
# \x1e (not whitespace, so an empty env field is not swallowed)
list=$(cd "$build" && ctest --show-only=json-v1 | python3 -c '
import json, os, re, sys
build, filt = sys.argv[1], re.compile(sys.argv[2])
skip = {"html_chromium"}
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    cmd = t.get("command")
    if not cmd or "kafka" in props.get("LABELS", []) or t["name"] in skip:
        continue
    if not filt.search(t["name"]):
        continue
    exe = cmd[0]
    if not exe.startswith(build + "/"):
        continue
    with open(exe, "rb") as f:
        if f.read(4) != b"\x7fELF":
            continue
    env = ";".join(props.get("ENVIRONMENT", []))
    print("\x1e".join([t["name"], props.get("WORKING_DIRECTORY", build), env,
                     "\x1f".join(cmd)]))
' "$build" "$filter")

run_one() {
        local name=$1 wd=$2 env=$3 cmd=$4 log="$logdir/$1.log"
        local -a argv envv=()
        IFS=$'\x1f' read -r -a argv <<<"$cmd"
        [ -n "$env" ] && IFS=';' read -r -a envv <<<"$env"
        if (cd "$wd" && env "${envv[@]}" valgrind --error-exitcode=1 \
                --leak-check=full --show-leak-kinds=definite,possible \
                --errors-for-leak-kinds=definite,possible \
                --suppressions="$here/tests/valgrind.supp" \
                --num-callers=30 "${argv[@]}") >"$log" 2>&1; then
                echo "ok   $name"
        else
                echo "FAIL $name (see $log)"
        fi
}
export -f run_one
export logdir here

out=$(printf '%s\n' "$list" | grep -v '^$' |
      tr '\n' '\0' |
      xargs -0 -P "$jobs" -I{} bash -c 'IFS=$'"'"'\x1e'"'"' read -r n w e c <<<"$1"; run_one "$n" "$w" "$e" "$c"' _ {})
echo "$out" | sort
n=$(echo "$out" | grep -c .)
bad=$(echo "$out" | grep -c '^FAIL' || true)
echo "valgrind: $n tests, $bad failing"
[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
