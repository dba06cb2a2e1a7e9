#!/usr/bin/env bash
# Installs the Debian packages gpu-receipts needs, only those missing.
# Sourced by tools/run-demo and tools/run-tests; safe to run on its own.
set -euo pipefail

GR_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libsodium-dev libjansson-dev libcmocka-dev
  libyajl-dev libssl-dev
  kcat python3 python3-avro python3-confluent-kafka
  clang libclang-rt-14-dev valgrind
  libmicrohttpd-dev libgnutls28-dev chromium prometheus python3-yaml
  python3-cryptography openssl
)

gr_deps_install() {
  local missing=()
  for p in "${GR_PACKAGES[@]}"; do
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
fi
