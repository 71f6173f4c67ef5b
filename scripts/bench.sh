#!/usr/bin/env bash
# bench.sh - the pcap replay benchmark (issue 4) in one command: installs
# and builds what it needs (scripts/setup.sh for the release tree build/,
# plus build-bench/, a -Dbench_cycles=true tree for the per-stage cycle
# breakdown), then runs scripts/bench.py, which generates (or with --reuse
# reuses) a 2 GiB capture and writes bench-out/results.json and
# bench-out/*.png and prints the result table.
# Options pass through to bench.py: --size 2G, --quick, --out DIR,
# --reuse, --repeat N, --seed S, --floods-only.  Progress goes to stderr.
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

# The floods section compares with the gateway as it was before pools
# evicted their stalled holders: the parent of the commit that added
# dataplane/hold.h (IPS_FLOODS_BEFORE overrides), built in build-before/.
before_args=()
before_ref=${IPS_FLOODS_BEFORE:-}
if [ -z "$before_ref" ] && git rev-parse --git-dir >/dev/null 2>&1; then
  first=$(git log --diff-filter=A --format=%H -- dataplane/hold.h | tail -1)
  [ -n "$first" ] && before_ref="$first^"
fi
if [ -n "$before_ref" ]; then
  if [ ! -x build-before/build/ips-dataplane ] ||
     [ "$(cat build-before/REF 2>/dev/null)" != "$(git rev-parse "$before_ref")" ]; then
    rm -rf build-before && mkdir -p build-before/src
    git archive "$before_ref" | tar -x -C build-before/src
    git rev-parse "$before_ref" > build-before/REF
    meson setup build-before/build build-before/src >&2
  fi
  nice ninja -C build-before/build -j2 ips-dataplane ipsctl >&2
  before_args=(--floods-before build-before/build/ips-dataplane)
fi

exec /usr/bin/python3 scripts/bench.py --build build --bench-build build-bench \
  --native-build build-native "${before_args[@]}" "$@"
