#!/usr/bin/env bash
# The main job: build the gateway, generate the sample (realistic HTTP/1.1
# traffic with the bundled signatures' attack examples mixed in,
# deterministic), replay it through the full gateway with the bundled
# signatures, and print the replay's summary.
# Outputs in demo-out/: sample.pcap, truth.json, forwarded.pcap, eve.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
out=demo-out
mkdir -p "$out"
rm -f "$out/eve.json"

/usr/bin/python3 scripts/sig_attacks.py "$out/attacks.json"
build/tests/tools/ips-trafgen --out "$out/sample.pcap" --truth "$out/truth.json" \
  --flows 2000 --seed 20261123 --attacks "$out/attacks.json" --attack-fraction 0.03

echo "== replay: $out/sample.pcap through build/ips-dataplane (bundled signatures)" >&2
build/ips-dataplane --config scripts/demo.conf --replay "$out/sample.pcap" \
  --write "$out/forwarded.pcap" --eve "$out/eve.json" | tee "$out/summary.json"

/usr/bin/python3 - "$out" <<'PY'
import collections, json, sys
out = sys.argv[1]
s = json.loads(open(out + "/summary.json").read().splitlines()[-1])
t = json.load(open(out + "/truth.json"))
alerts = [json.loads(l) for l in open(out + "/eve.json") if '"alert"' in l]
by_sig = collections.Counter((a["alert"]["signature_id"], a["alert"]["signature"],
                              a["alert"]["action"]) for a in alerts)
print("\n== summary", file=sys.stderr)
print("  packets in %d, forwarded %d, dropped %d, flows %d, HTTP requests %d, alerts %d"
      % (s["packets_in"], s["forwarded"], s["dropped"], s["flows"],
         s["transactions"], s["alerts"]), file=sys.stderr)
print("  generated: %d requests, %d of them attacks" % (t["requests"], t["attack_requests"]),
      file=sys.stderr)
print("  drops by reason: %s" % json.dumps(s["drops"]), file=sys.stderr)
print("  %.3f Mpps, %.3f Gbit/s (replay from disk, 1 worker)" % (s["mpps"], s["gbps"]),
      file=sys.stderr)
print("== top signatures", file=sys.stderr)
for (sid, msg, action), n in by_sig.most_common(12):
    print("  %5d  %-8s %d  %s" % (n, action, sid, msg), file=sys.stderr)
PY
