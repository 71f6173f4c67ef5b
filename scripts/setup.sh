#!/usr/bin/env bash
# Install every Debian package the build, the demo, the tests and the
# benchmark need, then build the release tree (build/).  Idempotent.
# Usage: scripts/setup.sh [--asan] [--fuzz]   (extra build trees for tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential pkg-config meson ninja-build git
  dpdk dpdk-dev libdpdk-dev libhyperscan-dev libjansson-dev libconfig-dev
  libpcre2-dev                       # pcre confirmation (PCRE2 + JIT)
  zlib1g-dev                         # gzip/deflate response bodies
  libpcap-dev libcmocka-dev
  clang libclang-rt-14-dev          # libFuzzer, sanitizers
  python3 python3-scapy python3-pytest python3-matplotlib python3-yaml
  libhtp-dev                         # test oracle only
  iproute2 ethtool tcpdump curl      # netns end-to-end tests
  iputils-ping util-linux            # e2e: ping the gateway; setpriv (start-up test)
  nginx-light                        # e2e: the nginx pods (test_http_servers, test_l3_gateway)
  nftables                           # e2e: a loss after the gateway (test_stream_window.py)
  wrk apache2-utils                  # e2e load test through the gateway (wrk; ab as a fallback)
  openssl                            # e2e: a TLS server and client (test_tls_live.py)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

build_tree() {  # dir, "targets" (empty: all), meson options...
  local dir=$1 targets=$2; shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >&2
  fi
  # shellcheck disable=SC2086
  ninja -C "$dir" $targets >&2
}

FUZZ_TARGETS="tests/fuzz_decode tests/fuzz_l3 tests/fuzz_http tests/fuzz_http_uri tests/fuzz_tls tests/fuzz_x509 tests/fuzz_rule_parse tests/fuzz_config tests/fuzz_bundle tests/fuzz_ctl"

build_tree build ""
for arg in "$@"; do
  case "$arg" in
    --asan) build_tree build-asan "" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false ;;
    --fuzz) CC=clang build_tree build-fuzz "$FUZZ_TARGETS" -Dbuildtype=debug -Dfuzz=true -Db_lundef=false ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done
