#!/usr/bin/env bash
# Installs the Debian packages gpu-receipts needs, only those missing.
# Sourced by tools/run-demo (the demo set) and tools/run-tests (the test
# set); run on its own it installs the test set, or the demo set with
# --demo.
set -euo pipefail

# What building receiptctl/receiptd and running the demo needs: a compiler,
# cmake, pkg-config and the -dev libraries CMakeLists.txt looks for.
GR_DEMO_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libsodium-dev libjansson-dev libcmocka-dev
  libyajl-dev libssl-dev libmicrohttpd-dev
)
# What the test suite adds: Kafka and Avro clients, sanitizers and fuzzing
# (clang), valgrind, the HTML receipt check (chromium), the metrics scrape
# (prometheus), deploy file checks (yaml), HTTPS (GnuTLS, python3-
# cryptography, openssl), and for the real-Kafka tests (ctest -L kafka_real)
# a JDK to run the brokers and Maven to fetch their jars
# (tests/kafka/cluster/pom.xml).  The demo needs none of these.
GR_TEST_PACKAGES=(
  "${GR_DEMO_PACKAGES[@]}"
  kcat python3 python3-avro python3-confluent-kafka
  clang libclang-rt-14-dev valgrind
  libgnutls28-dev chromium prometheus python3-yaml
  python3-cryptography openssl
  maven default-jdk-headless
)

# gr_deps_install [demo|test]: install the missing packages of that set
# (default test).
gr_deps_install() {
  local set="${1:-test}" missing=() pkgs=()
  case $set in
    demo) pkgs=("${GR_DEMO_PACKAGES[@]}") ;;
    test) pkgs=("${GR_TEST_PACKAGES[@]}") ;;
    *) echo "gr_deps_install: unknown set '$set' (demo|test)" >&2; return 2 ;;
  esac
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Configure and build into $1 (default build/) with extra cmake args.
gr_build() {
  local dir="${1:-build}"; shift || true
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

# gr_build_quiet DIR TARGET [cmake args]: configure and build only TARGET,
# the output going to DIR/build.log, shown only when the build fails.
gr_build_quiet() {
  local dir="$1" target="$2"; shift 2
  local log="$dir/build.log"
  mkdir -p "$dir"
  # a configured tree keeps its build type (a rerun rebuilds nothing)
  [ -f "$dir/CMakeCache.txt" ] || set -- -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  echo "building $target (log: $log)" >&2
  if ! { cmake -S . -B "$dir" "$@" &&
         cmake --build "$dir" --target "$target" -j"$(nproc)"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "build FAILED (log: $log)" >&2
    return 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cd "$(dirname "$0")/.."
  case "${1:-}" in
    --demo) gr_deps_install demo ;;
    "") gr_deps_install test ;;
    *) echo "usage: tools/deps.sh [--demo]" >&2; exit 2 ;;
  esac
fi
