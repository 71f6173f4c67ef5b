#!/usr/bin/python3
"""suricata_verify.py - replay Suricata's own regression tests
(../shared/corpora/suricata-verify) through the gateway and compare the
alerts with what each test.yaml expects.

For every test directory with a test.yaml:
  1. decide whether it applies: a pcap, no `lt-version` (behaviour of
     older Suricata), no feature we lack (Lua, ...), only command-line
     arguments that change nothing here (-k none, --simulate-ips,
     stream.inline, statistics switches);
  2. load its rules with `ipsctl check --json` (Suricata's default
     variables): a test whose rules do not all load is reported with the
     reasons and left out of the pass rate ("whose rules load");
  3. replay the pcap with `ips-dataplane --replay` and the test's rules;
  4. evaluate every `filter` check on alerts (event_type alert, with
     alert.signature_id / alert.action / alert.gid / alert.rev when given):
     the number of matching EVE alerts must equal `count` (or be at least
     `min-count`).  Checks on other event types are Suricata logging
     details and are not evaluated; a test with no alert check left does
     not apply.

Prints one line per test, a summary and `N passed, N failed`; writes a
Markdown report (--report, default BUILD/suricata-verify.md) listing
every failure with its reason and every test whose rules do not load.
Exit status 0 when every applicable test passed, 1 otherwise.

Usage: suricata_verify.py [--build DIR] [--corpus DIR] [--report FILE]
                          [--json FILE] [TEST...]
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = SOURCE.parent / "shared" / "corpora" / "suricata-verify"

# Suricata's default suricata.yaml address and port groups.
SURICATA_VARS = {
    "HOME_NET": "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]",
    "EXTERNAL_NET": "!$HOME_NET",
    "HTTP_SERVERS": "$HOME_NET", "SMTP_SERVERS": "$HOME_NET",
    "SQL_SERVERS": "$HOME_NET", "DNS_SERVERS": "$HOME_NET",
    "TELNET_SERVERS": "$HOME_NET", "AIM_SERVERS": "$EXTERNAL_NET",
    "DC_SERVERS": "$HOME_NET", "DNP3_SERVER": "$HOME_NET",
    "DNP3_CLIENT": "$HOME_NET", "MODBUS_CLIENT": "$HOME_NET",
    "MODBUS_SERVER": "$HOME_NET", "ENIP_CLIENT": "$HOME_NET",
    "ENIP_SERVER": "$HOME_NET",
    "HTTP_PORTS": "80", "SHELLCODE_PORTS": "!80", "ORACLE_PORTS": "1521",
    "SSH_PORTS": "22", "DNP3_PORTS": "20000", "MODBUS_PORTS": "502",
    "FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]", "FTP_PORTS": "21",
    "GENEVE_PORTS": "6081", "VXLAN_PORTS": "4789", "TEREDO_PORTS": "3544",
}

# Command-line arguments of test.yaml that change nothing for an inline
# gateway that inspects every packet (checksums are not verified in the
# replay configuration below; it is inline already).
NEUTRAL_ARGS = {"-k none", "--simulate-ips", "--set stream.inline=true",
                "--set stream.midstream=false",
                "--set stats.decoder-events=true",
                "--set stats.stream-events=true",
                "--set runmode=single", "--runmode=single",
                "--set stream.async-oneside=false"}
NEUTRAL_PREFIXES = ("--set packet-alert-max=",)

# Failures whose cause is known and lies outside rule evaluation, with it.
# tests/replay/test_suricata_verify.py keeps this list exact: a new
# failure, or one of these passing, fails that test.
KNOWN_FAILURES = {
    "tcp-fastopen-01": "the request travels in the SYN (TCP Fast Open); "
                       "the stream stage does not take data from a SYN",
    "tcp-fastopen-02": "the request travels in the SYN (TCP Fast Open); "
                       "the stream stage does not take data from a SYN",
    "tcp-fastopen-06": "the request travels in the SYN (TCP Fast Open); "
                       "the stream stage does not take data from a SYN",
    "http-not09-file": "the client's bytes are not HTTP, so the gateway "
                       "does not parse the flow as HTTP; Suricata finds "
                       "HTTP from the server's response",
}

ALERT_KEYS = {"event_type", "alert.signature_id", "alert.action",
              "alert.gid", "alert.rev"}

CONF = """eal = [ "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
        "--log-level=error" ];
pmd_dir = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";
workers = 1;
mode = "l2";
limits = {{
  flows = 4096; flow_timeout_syn = 30; flow_timeout_established = 600;
  flow_timeout_closed = 10; flow_timeout_udp = 60;
  stream_held_per_flow = 63; stream_held = 4096;
  http_transactions = 1024; http_header_bytes = 16384;
  body_streams = 64; raw_streams = 256; frag_datagrams = 256;
  frag_timeout_ms = 2000; alert_ring = 4096; mbufs = 0;
}};
policy = {{
  malformed = "drop"; midstream = "drop"; flow_table_full = "evict";
  stream_hold_full = "drop"; http_ambiguous = "drop";
  http_malformed = "drop"; http_txn_full = "drop"; detect_error = "drop";
  verify_ip_checksum = false;
}};
http = {{ ports = [ 80, 8080 ]; detect_by_content = true; }};
signatures = {{
  files = [ ];
  classification = "{classification}";
  vars = {{ {vars} }};
}};
"""


class Outcome:
    def __init__(self, name, status, reason="", detail=None):
        self.name = name
        self.status = status        # pass, fail, rules, n/a
        self.reason = reason
        self.detail = detail or {}


def test_dirs(corpus, names):
    base = corpus / "tests"
    if names:
        return [base / n for n in names]
    return sorted(p.parent for p in base.rglob("test.yaml"))


def load_yaml(d):
    with open(d / "test.yaml") as f:
        return yaml.safe_load(f) or {}


def applies(d, meta):
    """None when the test applies here, else why not."""
    req = meta.get("requires") or {}
    if "lt-version" in req:
        return "requires Suricata < %s (older behaviour)" % req["lt-version"]
    for feat in req.get("features") or []:
        return "requires feature %s" % feat
    if req.get("pcap") is False or meta.get("pcap") is False:
        return "no pcap"
    if "command" in meta:
        return "runs its own command"
    args = meta.get("args") or []
    for a in (args if isinstance(args, list) else [args]):
        a = " ".join(str(a).split())
        for part in a.replace("--set", "\0--set").split("\0"):
            part = part.strip()
            if not part or part in NEUTRAL_ARGS or \
                    part.startswith(NEUTRAL_PREFIXES):
                continue
            if part.startswith("-k none"):
                rest = part[len("-k none"):].strip()
                if not rest or rest in NEUTRAL_ARGS:
                    continue
                part = rest
            return "argument %r" % part
    return None


def find_pcap(d, meta):
    if meta.get("pcap"):
        p = (d / meta["pcap"]).resolve()
        return p if p.exists() else None
    pcaps = sorted(d.glob("*.pcap"))
    return pcaps[0] if len(pcaps) == 1 else None


# Link-layer headers to strip before the IP packet, by pcap link type
# (null/loopback, raw IP, IPv4, IPv6, Linux cooked).
LINK_STRIP = {0: 4, 101: 0, 228: 0, 229: 0, 113: 16}


def ethernet_pcap(src, tmp):
    """src itself when its frames are Ethernet, else a copy whose IP
    packets are framed in Ethernet (the gateway's ports carry Ethernet),
    or None when the link type is not one of LINK_STRIP."""
    data = Path(src).read_bytes()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return None                 # pcapng: not handled
    link = struct.unpack(end + "I", data[20:24])[0]
    if link == 1:
        return src
    if link not in LINK_STRIP:
        return None
    strip = LINK_STRIP[link]
    out = [data[:20] + struct.pack(end + "I", 1)]
    at = 24
    while at + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(end + "IIII", data[at:at + 16])
        pkt = data[at + 16:at + 16 + incl][strip:]
        at += 16 + incl
        if not pkt:
            continue
        etype = b"\x86\xdd" if pkt[0] >> 4 == 6 else b"\x08\x00"
        frame = b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01" + \
            etype + pkt
        out.append(struct.pack(end + "IIII", sec, usec, len(frame),
                               orig - strip + 14) + frame)
    path = tmp / "ethernet.pcap"
    path.write_bytes(b"".join(out))
    return path


def find_rules(d, meta, tmp):
    if isinstance(meta.get("rules"), list):
        p = tmp / "inline.rules"
        p.write_text("\n".join(meta["rules"]) + "\n")
        return p
    p = d / "test.rules"
    if p.exists():
        return p
    # else the rule file its suricata.yaml names (rule-files), or the
    # only one there is
    names = []
    if (d / "suricata.yaml").exists():
        try:
            conf = yaml.safe_load((d / "suricata.yaml").read_text()) or {}
            names = [n for n in conf.get("rule-files") or []
                     if (d / n).exists()]
        except yaml.YAMLError:
            names = []
    if len(names) == 1:
        return d / names[0]
    found = sorted(d.glob("*.rules"))
    return found[0] if len(found) == 1 else None


def alert_checks(meta):
    """(match, count, min_count) of every filter check on alerts only."""
    out = []
    for c in meta.get("checks") or []:
        f = c.get("filter") if isinstance(c, dict) else None
        if not f:
            continue
        match = f.get("match") or {}
        if match.get("event_type") != "alert":
            continue
        if not set(match) <= ALERT_KEYS:
            continue                # e.g. alert.metadata: logging detail
        if "count" not in f and "min-count" not in f:
            continue
        out.append((match, f.get("count"), f.get("min-count")))
    return out


def var_args(vars_):
    args = []
    for k, v in vars_.items():
        args += ["--vars", "%s=%s" % (k, v)]
    return args


def check_rules(build, rules, classification):
    proc = subprocess.run(
        [str(build / "ipsctl"), "check", "--json", "--no-default-vars",
         "--classification", str(classification)] + var_args(SURICATA_VARS) +
        [str(rules)], capture_output=True, text=True, timeout=120)
    try:
        return json.loads(proc.stdout.splitlines()[-1])
    except (ValueError, IndexError):
        return {"accepted": 0, "rejected": 1, "errors": [
            {"reason": "ipsctl check failed: " + proc.stderr.strip()[-300:],
             "keyword": "rule", "line": 0}]}


def write_conf(tmp, classification):
    libvars = "; ".join('%s = "%s"' % (k, v) for k, v in SURICATA_VARS.items())
    conf = tmp / "sv.conf"
    conf.write_text(CONF.format(classification=classification,
                                vars=libvars + ";"))
    return conf


def eve_alerts(path):
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                ev = json.loads(line)
                if ev.get("event_type") == "alert":
                    out.append(ev)
    return out


def field(ev, dotted):
    for k in dotted.split("."):
        if not isinstance(ev, dict) or k not in ev:
            return None
        ev = ev[k]
    return ev


def run_one(d, corpus, build, classification):
    name = str(d.relative_to(corpus / "tests"))
    meta = load_yaml(d)
    why = applies(d, meta)
    if why:
        return Outcome(name, "n/a", why)
    checks = alert_checks(meta)
    if not checks:
        return Outcome(name, "n/a", "no check on alerts")
    pcap = find_pcap(d, meta)
    if pcap is None:
        return Outcome(name, "n/a", "no pcap")
    with tempfile.TemporaryDirectory(prefix="sv-") as t:
        tmp = Path(t)
        rules = find_rules(d, meta, tmp)
        if rules is None:
            return Outcome(name, "n/a", "no rules")
        chk = check_rules(build, rules, classification)
        if chk["rejected"]:
            e = chk["errors"][0]
            return Outcome(name, "rules", "%d of %d rules rejected: %s "
                           "(line %s, %s)" % (chk["rejected"],
                                              chk["rejected"] + chk["accepted"],
                                              e["reason"], e["line"],
                                              e["keyword"]),
                           {"errors": chk["errors"]})
        pcap = ethernet_pcap(pcap, tmp)
        if pcap is None:
            return Outcome(name, "n/a", "pcap link type not convertible "
                           "to Ethernet")
        conf = write_conf(tmp, classification)
        eve = tmp / "eve.json"
        cmd = [str(build / "ips-dataplane"), "--config", str(conf),
               "--replay", str(pcap), "--write", str(tmp / "out.pcap"),
               "--write-reverse", str(tmp / "rev.pcap"), "--eve", str(eve),
               "--rules", str(rules)]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=300, cwd=str(tmp))
        if proc.returncode != 0:
            return Outcome(name, "fail", "replay exited %d: %s" % (
                proc.returncode, proc.stderr.strip()[-300:]))
        alerts = eve_alerts(eve)
    problems = []
    for match, count, min_count in checks:
        got = sum(1 for a in alerts
                  if all(field(a, k) == v for k, v in match.items()))
        want_ok = got == count if count is not None else got >= min_count
        if not want_ok:
            what = ", ".join("%s=%s" % (k, v) for k, v in match.items()
                             if k != "event_type") or "any alert"
            problems.append("%s: %d alerts, want %s" % (
                what, got, count if count is not None else
                ">= %d" % min_count))
    sids = sorted({field(a, "alert.signature_id") for a in alerts})
    if problems:
        return Outcome(name, "fail", "; ".join(problems), {"raised": sids})
    return Outcome(name, "pass", "", {"raised": sids})


def report(outcomes, path):
    by = {}
    for o in outcomes:
        by.setdefault(o.status, []).append(o)
    npass, nfail = len(by.get("pass", [])), len(by.get("fail", []))
    lines = ["# suricata-verify through the gateway", "",
             "Tests whose rules load, replayed with `--replay`, alerts "
             "compared with each test.yaml's checks on alerts.", "",
             "| | tests |", "| --- | --- |",
             "| passed | %d |" % npass, "| failed | %d |" % nfail,
             "| pass rate | %.1f%% |" % (100.0 * npass / max(1, npass + nfail)),
             "| rules do not load | %d |" % len(by.get("rules", [])),
             "| not applicable | %d |" % len(by.get("n/a", [])), ""]
    for o in by.get("fail", []):
        o.reason += " -- cause: " + KNOWN_FAILURES.get(
            o.name, "not yet explained")
    for status, title in (("fail", "Failures"),
                          ("rules", "Rules that do not load"),
                          ("n/a", "Not applicable")):
        if by.get(status):
            lines += ["## %s" % title, ""]
            lines += ["- `%s`: %s" % (o.name, o.reason) for o in by[status]]
            lines.append("")
    Path(path).write_text("\n".join(lines))
    return npass, nfail


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get(
        "IPS_BUILD_DIR", str(SOURCE / "build")))
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    ap.add_argument("--report")
    ap.add_argument("--json")
    ap.add_argument("tests", nargs="*")
    a = ap.parse_args(argv)
    build, corpus = Path(a.build).resolve(), Path(a.corpus).resolve()
    # ET Open's: the classtypes Suricata ships
    classification = corpus.parent / "et-open" / "classification.config"
    outcomes = []
    for d in test_dirs(corpus, a.tests):
        o = run_one(d, corpus, build, classification)
        outcomes.append(o)
        print("%-6s %s%s" % (o.status, o.name,
                             ": " + o.reason if o.reason else ""), flush=True)
    npass, nfail = report(outcomes, a.report or build / "suricata-verify.md")
    if a.json:
        Path(a.json).write_text(json.dumps(
            [{"test": o.name, "status": o.status, "reason": o.reason,
              **o.detail} for o in outcomes], indent=1))
    print("pass rate %.1f%% of the tests whose rules load; %d rules do not "
          "load; %d not applicable" % (
              100.0 * npass / max(1, npass + nfail),
              sum(o.status == "rules" for o in outcomes),
              sum(o.status == "n/a" for o in outcomes)))
    print("%d passed, %d failed" % (npass, nfail))
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
