#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and builds what it
# needs, then runs unit + replay integration tests on the release build and
# again under ASan+UBSan, and a short libFuzzer run of every harness.
# Ends with one line "N passed, N failed[, N skipped]"; exits non-zero on
# any failure or skip (a skipped test is not a passed one).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --asan --fuzz || { echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0; skipped=0
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"

run_meson_tests() {  # build dir, label
  local dir=$1 label=$2 log
  echo "=== $label: meson test -C $dir" >&2
  meson test -C "$dir" --print-errorlogs --num-processes 1 >&2
  log="$dir/meson-logs/testlog.json"
  read -r ok fail skip < <(/usr/bin/python3 - "$log" <<'PY'
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r == "OK": ok += 1
    elif r in ("SKIP",): skip += 1
    else: fail += 1
print(ok, fail, skip)
PY
)
  echo "=== $label: $ok ok, $fail failed, $skip skipped" >&2
  passed=$((passed + ok)); failed=$((failed + fail)); skipped=$((skipped + skip))
}

run_meson_tests build "release"
run_meson_tests build-asan "asan+ubsan"

# libFuzzer smoke: each harness for a short bounded run from its seeds.
for h in build-fuzz/tests/fuzz_*; do
  [ -f "$h" ] && [ -x "$h" ] || continue
  name=$(basename "$h"); name=${name#fuzz_}
  seeds="tests/fuzz/corpus/$name"; work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
  echo "=== fuzz $name (30 s)" >&2
  if "$h" -max_total_time=30 -rss_limit_mb=4096 "$work" >/tmp/fuzz_$name.log 2>&1; then
    passed=$((passed + 1))
  else
    tail -40 /tmp/fuzz_$name.log >&2; failed=$((failed + 1))
  fi
  rm -rf "$work"
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]
