#!/usr/bin/env bash
# bench.sh - the pcap replay benchmark (issue 4) in one command: installs
# and builds what it needs (scripts/setup.sh for the release tree build/,
# plus build-bench/, a -Dbench_cycles=true tree for the per-stage cycle
# breakdown), then runs scripts/bench.py, which generates (or with --reuse
# reuses) a 2 GiB capture and writes bench-out/results.json and
# bench-out/*.png and prints the result table.
# Options pass through to bench.py: --size 2G, --quick, --out DIR,
# --reuse, --repeat N, --seed S.  Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build at most two jobs at a time (a 2-core machine is the reference);
# setup.sh's own build step is then a no-op.
if command -v meson >/dev/null && command -v ninja >/dev/null &&
   pkg-config --exists libdpdk libhs 2>/dev/null; then
  [ -f build/build.ninja ] || meson setup build >&2
  nice ninja -C build -j2 >&2
fi
bash scripts/setup.sh
[ -f build-bench/build.ninja ] || meson setup build-bench -Dbench_cycles=true >&2
# ipsctl too: given rule files, the dataplane runs the ipsctl beside it.
nice ninja -C build-bench -j2 ips-dataplane ipsctl >&2
# build-native: the same code tuned for this CPU (-Dnative=true), reported
# beside the default -march build in the I/O yardstick.
[ -f build-native/build.ninja ] || meson setup build-native -Dnative=true >&2
nice ninja -C build-native -j2 ips-dataplane ipsctl >&2

exec /usr/bin/python3 scripts/bench.py --build build --bench-build build-bench \
  --native-build build-native "$@"
