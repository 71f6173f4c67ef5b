"""test_false_positives - every bundled rule over benign traffic: zero alerts.

Owns: the false-positive measurement of the bundled rule set
(signatures/*.rules), one replay per corpus through the real gateway:

  (a) zeek   - the Zeek HTTP test captures (../shared/corpora/
               zeek-http-traces), minus the captures that are attacks
               (EXCLUDED_TRACES says why, one by one);
  (b) crs    - the OWASP CRS regression stages whose expected outcome is
               "no match" (no_expect_ids only), built into requests the way
               test_signatures builds CRS cases;
  (c) trafgen - the benchmark's benign generated traffic (ips-trafgen
               without --attacks).

Each test prints one line: rules loaded, requests scanned (the gateway's
http_requests counter), alerts; and fails on any alert.  A run that scanned
too little proves nothing, so each also checks the request count against
what the corpus holds.

The Zeek captures are not all replayable as they are: some are raw-IP or
null-link captures (the gateway reads Ethernet), some are pcapng, some
start mid-stream (no SYN: the gateway drops such flows, policy midstream).
So every packet is rebuilt as Ethernet/IP with the addresses of its capture
remapped to a block of its own (captures reuse the same 4-tuples and are
concatenated into one replay), and a flow whose handshake is not in the
capture gets one synthesized just before its first packet, from the
sequence numbers that packet carries.  Payload bytes and their order are
untouched, so every request in the captures is parsed and inspected.
"""

import gzip
import json
import re
import socket
import struct
import subprocess
from array import array
from collections import Counter
from pathlib import Path

import pytest
import yaml
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

import test_signatures as sig
from conftest import BINARY, BUILD_DIR, REPLAY_TIMEOUT_S
from tcpgen import CLIENT_MAC, SERVER_MAC, http_session, write_pcap

TRAFGEN = BUILD_DIR / "tests" / "tools" / "ips-trafgen"

# Captures that are not benign traffic, so not a false-positive corpus.
EXCLUDED_TRACES = {
    # DVWA SQL injection attacks (' OR '1'='1, UNION SELECT): the alerts it
    # raises are true positives.
    "cooper-grill-dvwa.pcapng": "DVWA SQL injection attack traffic",
    # A malware sample's command-and-control beacons (CTU malware capture
    # 62604, POST /c2sock): compromised-host traffic, not a benign client.
    "ctu-62604-80.pcap": "malware command-and-control traffic (CTU-62604)",
    # A docker client driving dockerd over plain TCP 2375: create, attach,
    # start a container.  Legitimate between a CLI and its daemon, but on a
    # public ingress exactly the exposed-Engine-API abuse docker_api.rules
    # exists to block.
    "docker-http-upgrade.pcap": "Docker Engine API control (docker_api.rules' target)",
}

# Methods that start a request line, for counting what a capture holds.
REQUEST_LINE = re.compile(
    rb"(?:^|\n)(?:GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT|"
    rb"PROPFIND|QUERY|get|post) [^\r\n ]* ?[^\r\n]*HTTP/\d\.\d\r?\n")
# The gateway must parse at least this share of the request lines found.
MIN_PARSED_SHARE = 0.9

TRAFGEN_ARGS = ["--flows", 1500, "--seed", 7, "--max-body", 65536]


class Scan:
    """What a scan replay produced: the summary line and the alerts."""

    def __init__(self, summary, alerts):
        self.summary, self.alerts = summary, alerts
        self.counters = summary.get("counters", {})


def scan(tmp_path, pcap_path, name, bundle=None):
    """Replay pcap_path through the gateway with every bundled rule (or
    the rules of bundle, a file from ipsctl compile).

    Like conftest's run_replay, but the forwarded packets are not read
    back: only alerts and counters matter here, and decoding ~100,000
    output frames with scapy would cost more than the replay itself."""
    assert BINARY.exists(), "binary %s not found (set IPS_BUILD_DIR)" % BINARY
    eve = tmp_path / (name + "-eve.json")
    cmd = [str(BINARY), "--config", str(sig.signature_conf(tmp_path)),
           "--replay", str(pcap_path), "--write", str(tmp_path / (name + "-out.pcap")),
           "--eve", str(eve)]
    if bundle is not None:
        cmd += ["--bundle", str(bundle)]
    for path in sig.RULE_FILES if bundle is None else ():
        cmd += ["--rules", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=REPLAY_TIMEOUT_S, cwd=str(tmp_path))
    assert proc.returncode == 0, "replay failed: %s\n%s" % (" ".join(cmd), proc.stderr[-4000:])
    assert "runtime error:" not in proc.stderr, "sanitizer report:\n" + proc.stderr[-4000:]
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    assert lines, "replay printed no summary line\n" + proc.stderr[-4000:]
    events = [json.loads(l) for l in eve.read_text().splitlines() if l.strip()] \
        if eve.exists() else []
    return Scan(json.loads(lines[-1]), [e for e in events if e.get("event_type") == "alert"])


def report(corpus, res, requests_in_corpus):
    """The one line per corpus the brief asks for; returns the alert lines."""
    counters = res.counters
    scanned = counters.get("http_requests", 0)
    alerts = res.alerts
    print("\nFP %-8s rules=%s requests_scanned=%s (corpus holds %s) alerts=%d"
          % (corpus, res.summary.get("rules"), scanned, requests_in_corpus,
             len(alerts)))
    return scanned


def alert_lines(alerts, label=lambda a: ""):
    by = Counter()
    for a in alerts:
        http = a.get("http", {})
        by[(a["alert"]["signature_id"], label(a), http.get("http_method"),
            http.get("url"))] += 1
    return ["sid %s %s %s %s (x%d)" % (k + (n,)) for k, n in sorted(
        by.items(), key=lambda kv: str(kv[0]))]


# -- (a) Zeek captures ------------------------------------------------------------

def zeek_traces():
    names = []
    for p in sorted(sig.ZEEK_DIR.rglob("*")):
        if p.is_file() and re.search(r"\.pcap(?:ng)?(?:\.gz)?$", p.name):
            rel = str(p.relative_to(sig.ZEEK_DIR))
            if rel not in EXCLUDED_TRACES:
                names.append(rel)
    return names


def load_capture(rel, tmp_path):
    path = sig.ZEEK_DIR / rel
    if rel.endswith(".gz"):
        plain = tmp_path / Path(rel).name[:-3]
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        path = plain
    return rdpcap(str(path))


class AddressMap:
    """Each capture's addresses moved to a block of its own."""

    def __init__(self, index):
        self.index = index
        self.map = {}

    def __call__(self, addr):
        if addr not in self.map:
            n = len(self.map) + 1
            if ":" in addr:
                self.map[addr] = "fd00:%x::%x" % (self.index + 1, n)
            else:
                self.map[addr] = "10.%d.%d.%d" % (self.index + 1, n >> 8, n & 255)
        return self.map[addr]


def _l3(pkt):
    if IP in pkt:
        return pkt[IP]
    if IPv6 in pkt:
        return pkt[IPv6]
    return None


def _payload(l3):
    tcp = l3[TCP]
    if isinstance(l3, IP):
        n = l3.len - l3.ihl * 4 - tcp.dataofs * 4
    else:
        n = l3.plen - tcp.dataofs * 4
    return bytes(tcp.payload)[:max(0, n)]


ETH_HEADER = {4: bytes.fromhex("020000000002020000000001") + b"\x08\x00",
              6: bytes.fromhex("020000000002020000000001") + b"\x86\xdd"}


def _csum(data):
    """Internet checksum, packed in native order (RFC 1071: summing the
    16-bit words in either byte order gives the byte-swapped sum)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return struct.pack("=H", ~total & 0xffff)


def _frame(l3, src=None, dst=None):
    """Ethernet frame of an IPv4/IPv6 TCP packet with its addresses
    replaced by src and dst, checksums recomputed.  Byte-level: rebuilding ~13,000 packets with scapy would
    take longer than the replay."""
    if isinstance(l3, IP):
        raw = bytearray(bytes(l3)[:l3.len])
        ihl = (raw[0] & 15) * 4
        raw[12:16] = socket.inet_aton(src or l3.src)
        raw[16:20] = socket.inet_aton(dst or l3.dst)
        raw[10:12] = b"\0\0"
        raw[10:12] = _csum(bytes(raw[:ihl]))
        if raw[9] == 6 and not (l3.frag or l3.flags.MF):
            seg = raw[ihl:]
            seg[16:18] = b"\0\0"
            pseudo = bytes(raw[12:20]) + struct.pack("!BBH", 0, 6, len(seg))
            raw[ihl + 16:ihl + 18] = _csum(pseudo + bytes(seg))
        return ETH_HEADER[4] + bytes(raw)
    raw = bytearray(bytes(l3)[:40 + l3.plen])
    raw[8:24] = socket.inet_pton(socket.AF_INET6, src or l3.src)
    raw[24:40] = socket.inet_pton(socket.AF_INET6, dst or l3.dst)
    if raw[6] == 6:
        seg = raw[40:]
        seg[16:18] = b"\0\0"
        pseudo = bytes(raw[8:40]) + struct.pack("!IxxxB", len(seg), 6)
        raw[56:58] = _csum(pseudo + bytes(seg))
    return ETH_HEADER[6] + bytes(raw)


def _handshake(l3, client, server, cseq, sseq):
    """SYN, SYN-ACK, ACK for a flow first seen mid-stream."""
    mk = IPv6 if isinstance(l3, IPv6) else IP
    (cip, cport), (sip, sport) = client, server
    pkts = [mk(src=cip, dst=sip) / TCP(sport=cport, dport=sport, flags="S",
                                       seq=(cseq - 1) & 0xffffffff),
            mk(src=sip, dst=cip) / TCP(sport=sport, dport=cport, flags="SA",
                                       seq=(sseq - 1) & 0xffffffff, ack=cseq),
            mk(src=cip, dst=sip) / TCP(sport=cport, dport=sport, flags="A",
                                       seq=cseq, ack=sseq)]
    return [_frame(mk(bytes(p))) for p in pkts]


def capture_frames(packets, amap):
    """Ethernet frames for one capture: addresses remapped, handshakes
    added for flows without one.  Returns (frames, request lines seen,
    flows given a handshake)."""
    tcp_pkts = []    # (l3 as captured, its TCP, remapped src, remapped dst)
    for p in packets:
        l3 = _l3(p)
        if l3 is None or TCP not in l3:
            continue
        tcp_pkts.append((l3, l3[TCP], amap(l3.src), amap(l3.dst)))
    flows = {}       # frozenset of endpoints -> what the capture shows of it
    for l3, tcp, sip, dip in tcp_pkts:
        src, dst = (sip, tcp.sport), (dip, tcp.dport)
        f = flows.setdefault(frozenset((src, dst)), {"syn": False, "client": None,
                                                     "first": {}, "start": l3})
        if tcp.flags.S and not tcp.flags.A:
            f["syn"] = True
            f["client"] = src
        f["first"].setdefault(src, (tcp.seq, tcp.ack))
        if f["client"] is None and REQUEST_LINE.match(b"\n" + _payload(l3)):
            f["client"] = src
    frames, seen, requests, synthesized = [], set(), 0, 0
    for l3, tcp, sip, dip in tcp_pkts:
        src, dst = (sip, tcp.sport), (dip, tcp.dport)
        f = flows[frozenset((src, dst))]
        if f["start"] is l3 and not f["syn"] and f["client"] is not None:
            client = f["client"]
            server = dst if client == src else src
            cseq = f["first"][client][0]
            if server in f["first"]:
                sseq = f["first"][server][0]
            else:
                sseq = f["first"][client][1]   # the client's ack
            frames += _handshake(l3, client, server, cseq, sseq)
            synthesized += 1
        if src == f["client"]:
            data = _payload(l3)
            key = (src, dst, tcp.seq, len(data))
            if data and key not in seen:
                seen.add(key)
                requests += len(REQUEST_LINE.findall(b"\n" + data))
        frames.append(_frame(l3, sip, dip))
    return frames, requests, synthesized


def zeek_pcap(tmp_path):
    """Every benign Zeek capture in one replayable pcap: (path, request
    lines, flows given a handshake, label(alert) naming its capture)."""
    frames, requests, synthesized, owner = [], 0, 0, {}
    names = zeek_traces()
    assert len(names) > 70, "zeek corpus not found at %s" % sig.ZEEK_DIR
    for i, rel in enumerate(names):
        amap = AddressMap(i)
        f, r, s = capture_frames(load_capture(rel, tmp_path), amap)
        frames += f
        requests += r
        synthesized += s
        owner[i + 1] = rel
    pcap_path = tmp_path / "zeek.pcap"
    write_pcap(pcap_path, frames)
    print("FP zeek    %d captures (%d excluded), %d flows given a synthesized "
          "handshake" % (len(names), len(EXCLUDED_TRACES), synthesized))

    def label(a):
        ip = a.get("src_ip", "")
        m = re.match(r"10\.(\d+)\.|fd00:([0-9a-f]+):", ip)
        idx = int(m.group(1)) if m and m.group(1) else int(m.group(2), 16) if m else 0
        return owner.get(idx, ip)
    return pcap_path, requests, label


def test_zeek_captures_raise_no_alert(tmp_path):
    pcap_path, requests, label = zeek_pcap(tmp_path)
    res = scan(tmp_path, pcap_path, "zeek")
    scanned = report("zeek", res, requests)
    hits = alert_lines(res.alerts, label)
    assert not hits, "%d false positives on Zeek captures:\n%s" % (
        len(res.alerts), "\n".join(hits[:60]))
    assert scanned > 0 and scanned >= MIN_PARSED_SHARE * requests, (
        "the gateway parsed %d requests of the %d request lines in the "
        "captures" % (scanned, requests))


# Alerts of the accepted ET Open set on the benign Zeek captures, each
# explained in the README ("ET Open on the Zeek captures"): (sid, capture)
# -> why the rule is right to fire there.
ET_EXPECTED_ALERTS = {
    # "GPL WEB_SERVER DELETE attempt" (http.method; content:"DELETE";
    # web-application-activity): a policy rule that flags every DELETE;
    # methods.pcap sends three.
    (2101603, "methods.pcap"): "every DELETE request is its target",
    # "ET ATTACK_RESPONSE Output of id command from HTTP server" (raw
    # stream, no direction: the server's bytes too): testmyids.com serves
    # "uid=0(root) gid=0(root) groups=0(root)" precisely to trip it.
    (2019284, "testmyids.pcap"): "the page is the output of id",
}


def test_zeek_captures_et_open(tmp_path):
    """The ET Open rules the parser accepts, over the same captures: every
    alert must be one the README explains (ET_EXPECTED_ALERTS)."""
    from conftest import SOURCE_DIR
    et_dir = sig.CORPORA / "et-open"
    rules = tmp_path / "et-accepted.rules"
    subprocess.run(["/usr/bin/python3",
                    str(SOURCE_DIR / "scripts" / "et_open_accepted.py"),
                    "--ipsctl", str(BUILD_DIR / "ipsctl"), "-o", str(rules)],
                   check=True, capture_output=True, text=True, timeout=600)
    bundle = tmp_path / "et.bundle"
    subprocess.run([str(BUILD_DIR / "ipsctl"), "compile", "--classification",
                    str(et_dir / "classification.config"), str(rules), "-o",
                    str(bundle)], check=True, capture_output=True, text=True,
                   timeout=600)
    pcap_path, requests, label = zeek_pcap(tmp_path)
    res = scan(tmp_path, pcap_path, "zeek-et", bundle=bundle)
    scanned = report("zeek-et", res, requests)
    seen = {(a["alert"]["signature_id"], label(a)) for a in res.alerts}
    unexplained = sorted(seen - set(ET_EXPECTED_ALERTS))
    gone = sorted(set(ET_EXPECTED_ALERTS) - seen)
    assert not unexplained, "%d ET Open alerts not explained:\n%s" % (
        len(unexplained), "\n".join(alert_lines(
            [a for a in res.alerts
             if (a["alert"]["signature_id"], label(a)) in unexplained],
            label)[:80]))
    assert not gone, "explained alerts no longer raised: %s" % gone
    assert scanned >= MIN_PARSED_SHARE * requests


# -- (b) OWASP CRS regression negatives ---------------------------------------------

# CRS "no match" stages are negatives for one CRS rule at one paranoia
# level, not benign requests: many carry an attack that the rule under test
# leaves to a sibling rule.  These are attacks (the payload is quoted) and
# are left out; every other no_expect_ids stage is scanned.
CRS_ATTACK_STAGES = {
    "942101/11": "UNION ALL SELECT 1,2,3 FROM aa in the path",
    "942360/30": "'||(select(pg_sleep(15))where(true))||' (sqlmap time-based blind)",
    "942360/31": "UNION ALL SELECT NULL,NULL,CONCAT(...)-- (sqlmap UNION probe)",
    "941100/5": "Referer: ...?input=<script xmlns=...>...document.createElement(\"script\")",
    "941110/10": "%bcalert(1);%bc/script%9e: <script> with the high bit set (US-ASCII evasion)",
    "941140/14": "url(javascript:alert(1)) in a parameter",
    "934110/6": "169.254.169.254/latest/user-data (AWS metadata SSRF)",
    "934110/7": "http://169.254.169.254/latest (AWS metadata SSRF)",
    "934110/8": "http://metadata.google.internal (GCP metadata SSRF)",
    "934120/13": "2852039166 (169.254.169.254 as one decimal)",
    "934120/16": "[::ffff:a9fe:a9fe (169.254.169.254 as IPv4-mapped IPv6)",
    "934120/17": "[::ffff:a9fe:a9fe] (169.254.169.254 as IPv4-mapped IPv6)",
    "934120/19": "[0:0:0:0:0:ffff:169.254.169.254] (metadata address, IPv6 form)",
    # A Wikipedia article on SQL injection posted as form text: it quotes
    # the payloads ' or 1=1; -- and ' OR '1'='1 verbatim, byte for byte
    # what an attacker sends; no signature can tell the quote from the use.
    "942521/16": "article quoting ' or 1=1; -- and ' OR '1'='1 verbatim",
    "942522/8": "the same article",
}
# 932230 (Unix RCE, PL2 split) negatives from old ModSecurity regressions and
# payloadbox: system('... wget http://... ; curl -O ...'), ;cat /etc/passwd,
# <!--#exec cmd="/bin/cat /etc/shadow"-->, Shellshock () { :;}; /bin/bash -c.
CRS_ATTACK_STAGES.update({"932230/%d" % n: "Unix command injection payload"
                          for n in (1, 2, 10, 11, 12, 14, 15, 16, 18, 19, 20,
                                    21, 23, 26)})


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # 8x faster


def crs_negative_requests():
    cases = []
    for path in sorted(sig.CRS_DIR.glob("*/*.yaml")):
        for test in yaml.load(path.read_text(), Loader=YAML_LOADER)["tests"]:
            for n, stage in enumerate(test["stages"]):
                log = ((stage.get("output") or {}).get("log") or {})
                ref = "%s/%s" % (path.stem, test["test_id"])
                if ref in CRS_ATTACK_STAGES:
                    continue
                if log.get("no_expect_ids") and not log.get("expect_ids"):
                    cases.append(("%s/%s#%d" % (path.stem, test["test_id"], n),
                                  sig.crs_input_request(stage["input"])))
    return cases


def test_crs_negatives_raise_no_alert(tmp_path):
    cases = crs_negative_requests()
    assert len(cases) > 500, "CRS corpus not found at %s" % sig.CRS_DIR
    packets = []
    for i, (_, raw) in enumerate(cases):
        packets += http_session([raw], client=(sig.CLIENT_IP, sig.FIRST_CLIENT_PORT + i),
                                server=(sig.SERVER_IP, 80)).packets
    pcap_path = tmp_path / "crs.pcap"
    write_pcap(pcap_path, packets)
    res = scan(tmp_path, pcap_path, "crs")
    scanned = report("crs", res, len(cases))
    print("FP crs     %d no-match stages, %d left out as attacks"
          % (len(cases), len(CRS_ATTACK_STAGES)))

    def label(a):
        port = a.get("src_port") if a.get("src_ip") == sig.CLIENT_IP else a.get("dest_port")
        return "CRS " + cases[port - sig.FIRST_CLIENT_PORT][0]
    hits = alert_lines(res.alerts, label)
    assert not hits, "%d false positives on CRS no-match stages:\n%s" % (
        len(res.alerts), "\n".join(hits[:60]))
    assert scanned >= MIN_PARSED_SHARE * len(cases), (
        "the gateway parsed %d of %d CRS requests" % (scanned, len(cases)))


# -- (c) the benchmark's benign generated traffic ----------------------------------

def test_trafgen_benign_raises_no_alert(tmp_path):
    assert TRAFGEN.exists(), "build ips-trafgen first: %s" % TRAFGEN
    pcap_path = tmp_path / "trafgen.pcap"
    truth_path = tmp_path / "trafgen.json"
    proc = subprocess.run([str(TRAFGEN), "--out", str(pcap_path), "--truth",
                           str(truth_path)] + [str(a) for a in TRAFGEN_ARGS],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    truth = yaml.safe_load(truth_path.read_text())   # JSON is YAML
    assert truth["attack_requests"] == 0
    res = scan(tmp_path, pcap_path, "trafgen")
    scanned = report("trafgen", res, truth["requests"])
    hits = alert_lines(res.alerts)
    assert not hits, "%d false positives on generated benign traffic:\n%s" % (
        len(res.alerts), "\n".join(hits[:60]))
    assert scanned == truth["requests"], (
        "the gateway parsed %d of %d generated requests" % (scanned, truth["requests"]))
