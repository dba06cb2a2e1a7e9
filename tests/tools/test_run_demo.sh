#!/usr/bin/env bash
# tools/run-demo builds quietly: its stdout starts with the demo's own first
# line (the build log stays in BUILD/build.log) and the only build line on
# stderr names the log.  A failed build shows its log and exits non-zero.
set -euo pipefail
SRC="$1"; BUILD="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

GR_BUILD_DIR="$BUILD" timeout 300 "$SRC/tools/run-demo" > "$T/out" 2> "$T/err" ||
  { cat "$T/out" "$T/err"; fail "run-demo exited $?"; }
head -1 "$T/out" | grep -q '^gpu-receipts demo: embedded broker at ' ||
  fail "stdout does not start with the demo: $(head -3 "$T/out")"
grep -Eq 'Building C|Linking C|Built target|^-- ' "$T/out" "$T/err" && fail "build output shown"
[ "$(cat "$T/err")" = "building receiptctl (log: $BUILD/build.log)" ] || fail "stderr: $(cat "$T/err")"
grep -q 'Built target receiptctl' "$BUILD/build.log" || fail "no build log in $BUILD/build.log"
grep -q 'settlement=hold reason=container_oom retry=free' "$T/out" || fail "no canonical line"

cd "$SRC"
. tools/deps.sh
# run-demo installs the demo set: what builds receiptctl, none of the test
# tools; the test set (run-tests, .ci) is a superset
grep -qx 'gr_deps_install demo' tools/run-demo || fail "run-demo does not install the demo set"
for p in kcat valgrind chromium prometheus clang python3-confluent-kafka; do
  case " ${GR_DEMO_PACKAGES[*]} " in *" $p "*) fail "demo set has $p" ;; esac
  case " ${GR_TEST_PACKAGES[*]} " in *" $p "*) ;; *) fail "test set lacks $p" ;; esac
done
for p in "${GR_DEMO_PACKAGES[@]}"; do
  case " ${GR_TEST_PACKAGES[*]} " in *" $p "*) ;; *) fail "test set lacks $p" ;; esac
done
grep -qx 'gr_deps_install test' tools/run-tests || fail "run-tests does not install the test set"

# a failing build: its log on stderr, exit non-zero (configure only: the
# target does not exist)
set +e
gr_build_quiet "$T/b" no_such_target > "$T/out" 2> "$T/err"; rc=$?
set -e
[ $rc != 0 ] || fail "a failed build returned 0"
[ ! -s "$T/out" ] || fail "a failed build wrote to stdout"
grep -q 'no_such_target' "$T/err" && grep -q "build FAILED (log: $T/b/build.log)" "$T/err" ||
  fail "failed build: $(cat "$T/err")"
echo "run-demo ok"
