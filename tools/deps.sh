#!/usr/bin/env bash
# Installs the Debian packages gpu-receipts needs, only those missing.
# Sourced by tools/run-demo (GR_PACKAGES) and tools/run-tests (also
# GR_TEST_PACKAGES); run on its own (as .ci/run does) it installs both.
set -euo pipefail

GR_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libsodium-dev libjansson-dev libcmocka-dev
  libyajl-dev libssl-dev
  kcat python3 python3-avro python3-confluent-kafka
  clang libclang-rt-14-dev valgrind
  libmicrohttpd-dev chromium prometheus python3-yaml
)

# Only the real-Kafka tests (ctest -L kafka_real) need these: a JDK to run
# the brokers, Maven to fetch their jars (tests/kafka/cluster/pom.xml).
# The demo and the embedded-broker tests do not.
GR_TEST_PACKAGES=(maven default-jdk-headless)

gr_deps_install() {
  gr_apt_missing "${GR_PACKAGES[@]}"
}

# The test-only packages; a JDK >= 17 and mvn already on PATH will do.
gr_deps_install_test() {
  local jv=0
  if command -v java >/dev/null; then
    jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  fi
  if command -v mvn >/dev/null && [ "${jv:-0}" -ge 17 ]; then
    return 0
  fi
  gr_apt_missing "${GR_TEST_PACKAGES[@]}"
}

gr_apt_missing() {
  local missing=()
  for p in "$@"; do
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

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cd "$(dirname "$0")/.."
  gr_deps_install
  gr_deps_install_test
fi
