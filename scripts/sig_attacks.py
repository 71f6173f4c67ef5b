#!/usr/bin/python3
"""sig_attacks.py - the bundled signatures' match examples as attack requests.

Writes the traffic generator's --attacks JSON ([{"sid": N, "request": raw}])
from signatures/examples/*.yaml, so generated traffic carries exactly the
attacks the bundled rules are tested against.  --max-bytes keeps requests
that fit in one TCP segment: then every client byte of the capture is
inspected (the gateway blocks at the segment that completes an attack,
which is then also the last one of its request), which the benchmark's
honesty check relies on.

usage: sig_attacks.py [--max-bytes N] [--examples DIR] OUT.json
"""
import argparse
import glob
import json
import os
import sys

import yaml


def attacks(examples_dir, max_bytes):
    out = []
    for path in sorted(glob.glob(os.path.join(examples_dir, "*.yaml"))):
        for entry in yaml.safe_load(open(path)) or []:
            if entry.get("port", 80) not in (80, 8080):
                continue        # the generator's servers listen on 80/8080
            for req in entry.get("match", []):
                if max_bytes and len(req.encode("latin-1")) > max_bytes:
                    continue
                out.append({"sid": int(entry["sid"]), "request": req})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-bytes", type=int, default=1460)
    ap.add_argument("--examples",
                    default=os.path.join(here, "..", "signatures", "examples"))
    ap.add_argument("out")
    a = ap.parse_args()
    found = attacks(a.examples, a.max_bytes)
    if not found:
        sys.exit("sig_attacks: no match examples under %s" % a.examples)
    with open(a.out, "w") as f:
        json.dump(found, f)
    print("sig_attacks: %d attack requests from %d signatures"
          % (len(found), len({x["sid"] for x in found})), file=sys.stderr)


if __name__ == "__main__":
    main()
