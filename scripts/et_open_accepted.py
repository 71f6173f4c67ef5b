#!/usr/bin/python3
"""et_open_accepted.py - the ET Open rules ipsctl accepts, as one file.

Runs `ipsctl check --json` over the rule files given (by default every
*.rules of ../shared/corpora/et-open) and writes the active rules it did
not reject, unchanged, to OUT: the set the benchmark's rule-scale row and
the false-positive test load.  Prints accepted/rejected counts.
--expand-vars writes the rule headers with ipsctl's default variables
($HOME_NET, $HTTP_PORTS, ...) replaced by their values, for tools that
define none (ips-hsbench, a dataplane configured without them).

Usage: et_open_accepted.py [--ipsctl PATH] [--classification FILE]
                           [--expand-vars] -o OUT [FILE...]
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent
ET_DIR = SOURCE.parent / "shared" / "corpora" / "et-open"


# ipsctl's defaults (control/ipsctl.c, ctl_default_vars).
DEFAULT_VARS = {
    "HOME_NET": "any", "EXTERNAL_NET": "any", "HTTP_SERVERS": "any",
    "SQL_SERVERS": "any", "DNS_SERVERS": "any", "SMTP_SERVERS": "any",
    "TELNET_SERVERS": "any", "AIM_SERVERS": "any", "DC_SERVERS": "any",
    "DNP3_SERVER": "any", "DNP3_CLIENT": "any", "MODBUS_SERVER": "any",
    "MODBUS_CLIENT": "any", "ENIP_SERVER": "any", "ENIP_CLIENT": "any",
    "HTTP_PORTS": "[80,8080]", "SHELLCODE_PORTS": "!80",
    "ORACLE_PORTS": "1521", "SSH_PORTS": "22", "FTP_PORTS": "21",
    "DNP3_PORTS": "20000", "MODBUS_PORTS": "502",
    "FILE_DATA_PORTS": "[80,8080,110,143]", "GTP_PORTS": "[2123,2152,3386]",
}
VAR_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_header(rule):
    """The rule with the variables of its header replaced by values."""
    head, sep, rest = rule.partition("(")
    for _ in range(8):              # values may name variables
        head = VAR_RE.sub(lambda m: DEFAULT_VARS[m.group(1)], head)
    return head + sep + rest


def accepted_rules(ipsctl, files, classification):
    """(accepted rule lines, check object) of files."""
    proc = subprocess.run([str(ipsctl), "check", "--json", "--classification",
                           str(classification)] + [str(f) for f in files],
                          capture_output=True, text=True, timeout=600)
    check = json.loads(proc.stdout.splitlines()[-1])
    bad = {(e["file"], e["line"]) for e in check["errors"]}
    lines = []
    for f in files:
        for n, text in enumerate(Path(f).read_text().splitlines(), 1):
            t = text.strip()
            if t and not t.startswith("#") and (str(f), n) not in bad:
                lines.append(t)
    return lines, check


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipsctl", default=str(SOURCE / "build" / "ipsctl"))
    ap.add_argument("--classification",
                    default=str(ET_DIR / "classification.config"))
    ap.add_argument("--expand-vars", action="store_true")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    files = a.files or sorted(str(p) for p in ET_DIR.glob("*.rules"))
    lines, check = accepted_rules(a.ipsctl, files, a.classification)
    if len(lines) != check["accepted"]:
        sys.exit("et_open_accepted: %d rule lines kept, ipsctl accepted %d "
                 "(multi-line rules?)" % (len(lines), check["accepted"]))
    if a.expand_vars:
        lines = [expand_header(l) for l in lines]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("%d accepted, %d rejected (%.1f%%): %s" % (
        check["accepted"], check["rejected"],
        100.0 * check["accepted"] / (check["accepted"] + check["rejected"]),
        a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
