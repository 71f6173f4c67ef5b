"""test_trafgen - checks ips-trafgen, the benchmark pcap generator.

Owns: generating small pcaps with the real binary and reading them back
with scapy: determinism, IPv4/TCP checksums, TCP handshake/teardown and
sequence/ack bookkeeping, unique 4-tuples, HTTP well-formedness of every
reassembled request and response (Content-Length and de-chunked bodies),
verbatim attack requests, and agreement with the truth sidecar.
"""

import ipaddress
import json
import os
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapReader

BUILD_DIR = Path(os.environ.get(
    "IPS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
TRAFGEN = BUILD_DIR / "tests" / "tools" / "ips-trafgen"

CLIENT_NETS = [ipaddress.ip_network("198.51.100.0/24"),
               ipaddress.ip_network("203.0.113.0/24")]
SERVER_NET = ipaddress.ip_network("192.0.2.0/24")
MSS = 1000

# A body longer than MSS so the attack spans segments; one chunked attack
# so verbatim replay of chunk framing is covered too.
LONG_BODY = "data=" + "A" * 2500 + "&cmd=%3Bcat+%2Fetc%2Fpasswd"
ATTACKS = [
    {"sid": 2000001, "request":
     "GET /index.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"
     " HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: sqlmap/1.7\r\n\r\n"},
    {"sid": 2000002, "request":
     "POST /cgi-bin/upload.cgi HTTP/1.1\r\nHost: shop.example.org\r\n"
     "Content-Type: application/x-www-form-urlencoded\r\n"
     "Content-Length: %d\r\n\r\n%s" % (len(LONG_BODY), LONG_BODY)},
    {"sid": 2000003, "request":
     "POST /api/v1/run HTTP/1.1\r\nHost: api.example.net\r\n"
     "Transfer-Encoding: chunked\r\n\r\n"
     "8\r\n{\"cmd\":\"\r\n10\r\n$(id)\";\"x\":\"yyyy\r\n2\r\n\"}\r\n0\r\n\r\n"},
]


def run_trafgen(tmp_path, name, *args):
    out = tmp_path / (name + ".pcap")
    truth = tmp_path / (name + ".json")
    assert TRAFGEN.exists(), "build ips-trafgen first: %s" % TRAFGEN
    proc = subprocess.run([str(TRAFGEN), "--out", str(out), "--truth",
                           str(truth)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "ips-trafgen:" in proc.stderr and " s (" in proc.stderr
    return out, json.loads(truth.read_text())


@pytest.fixture(scope="module")
def attacks_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("attacks") / "attacks.json"
    path.write_text(json.dumps(ATTACKS))
    return path


MAX_BODY = 60000
GEN_ARGS = ["--flows", 90, "--concurrency", 24, "--mss", MSS,
            "--max-body", MAX_BODY, "--requests-mean", 3,
            "--attack-fraction", 0.08, "--seed", 42]


@pytest.fixture(scope="module")
def sample(tmp_path_factory, attacks_file):
    tmp = tmp_path_factory.mktemp("trafgen")
    pcap, truth = run_trafgen(tmp, "a", "--attacks", attacks_file, *GEN_ARGS)
    return pcap, truth, read_pcap(pcap)


class Pkt:
    __slots__ = ("ts", "raw", "src", "dst", "sport", "dport", "seq", "ack",
                 "flags", "payload")


def read_pcap(path):
    pkts = []
    for raw, meta in RawPcapReader(str(path)):
        e = Ether(raw)
        assert IP in e and TCP in e, "non TCP/IPv4 frame"
        p = Pkt()
        p.ts = (meta.sec, meta.usec)
        p.raw = raw
        p.src, p.dst = e[IP].src, e[IP].dst
        p.sport, p.dport = e[TCP].sport, e[TCP].dport
        p.seq, p.ack = e[TCP].seq, e[TCP].ack
        p.flags = str(e[TCP].flags)
        p.payload = bytes(e[TCP].payload)
        assert len(p.payload) == e[IP].len - 20 - e[TCP].dataofs * 4
        pkts.append(p)
    return pkts


def flows_of(pkts):
    """Packets per connection keyed by (client, cport, server, sport)."""
    flows = defaultdict(list)
    for p in pkts:
        if ipaddress.ip_address(p.src) in SERVER_NET:
            key = (p.dst, p.dport, p.src, p.sport)
            flows[key].append((False, p))
        else:
            key = (p.src, p.sport, p.dst, p.dport)
            flows[key].append((True, p))
    return flows


# ---- HTTP parsing (strict: anything unexpected fails) --------------------

HDR_RE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+: [\x20-\x7e]*$")


def parse_head(buf, at):
    end = buf.index(b"\r\n\r\n", at)
    lines = buf[at:end].split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        assert HDR_RE.match(line), "bad header line %r" % line
        k, v = line.split(b": ", 1)
        headers[k.lower()] = v
    return lines[0], headers, end + 4


def dechunk(buf, at):
    """Returns (body, end) of a chunked body starting at at."""
    body = b""
    nchunks = 0
    while True:
        eol = buf.index(b"\r\n", at)
        size = int(buf[at:eol], 16)
        assert re.fullmatch(rb"[0-9a-f]+", buf[at:eol])
        at = eol + 2
        if size == 0:
            assert buf[at:at + 2] == b"\r\n", "no final CRLF after 0 chunk"
            return body, at + 2, nchunks
        body += buf[at:at + size]
        assert buf[at + size:at + size + 2] == b"\r\n", "chunk not CRLF-ended"
        at += size + 2
        nchunks += 1


def parse_requests(buf):
    reqs = []
    at = 0
    while at < len(buf):
        start = at
        line, hdr, at = parse_head(buf, at)
        m = re.fullmatch(rb"(GET|POST) (/\S*) HTTP/1\.1", line)
        assert m, "bad request line %r" % line
        assert b"host" in hdr
        body, chunks = b"", 0
        if b"transfer-encoding" in hdr:
            assert hdr[b"transfer-encoding"] == b"chunked"
            assert b"content-length" not in hdr
            body, at, chunks = dechunk(buf, at)
        elif b"content-length" in hdr:
            n = int(hdr[b"content-length"])
            body = buf[at:at + n]
            assert len(body) == n, "truncated body"
            at += n
        else:
            assert m.group(1) == b"GET"
        reqs.append({"raw": buf[start:at], "method": m.group(1),
                     "headers": hdr, "body": body, "chunks": chunks})
    return reqs


def parse_responses(buf):
    resps = []
    at = 0
    while at < len(buf):
        line, hdr, at = parse_head(buf, at)
        m = re.fullmatch(rb"HTTP/1\.1 (\d{3}) [A-Za-z ]+", line)
        assert m, "bad status line %r" % line
        if m.group(1) == b"304":
            assert b"content-length" not in hdr
        else:
            n = int(hdr[b"content-length"])
            assert len(buf[at:at + n]) == n
            at += n
        resps.append(m.group(1))
    return resps


# ---- the tests ------------------------------------------------------------

def test_deterministic(tmp_path, attacks_file, sample):
    pcap, _, _ = sample
    again, _ = run_trafgen(tmp_path, "b", "--attacks", attacks_file,
                           *GEN_ARGS)
    assert pcap.read_bytes() == again.read_bytes()
    other_args = [a if a != 42 else 43 for a in GEN_ARGS]
    other, _ = run_trafgen(tmp_path, "c", "--attacks", attacks_file,
                           *other_args)
    assert pcap.read_bytes() != other.read_bytes()


def test_checksums_recomputed_by_scapy(sample):
    _, _, pkts = sample
    for p in pkts:
        e = Ether(p.raw)
        ip_sum, tcp_sum = e[IP].chksum, e[TCP].chksum
        del e[IP].chksum
        del e[TCP].chksum
        fresh = Ether(bytes(e))
        assert fresh[IP].chksum == ip_sum, "bad IPv4 checksum"
        assert fresh[TCP].chksum == tcp_sum, "bad TCP checksum"


def test_pcap_header_and_timestamps(sample):
    pcap, truth, pkts = sample
    raw = pcap.read_bytes()
    assert raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    assert int.from_bytes(raw[20:24], "little") == 1   # LINKTYPE_ETHERNET
    ts = [p.ts for p in pkts]
    assert all(0 <= us < 1000000 for _, us in ts)
    assert all(a < b for a, b in zip(ts, ts[1:])), "time not increasing"
    assert truth["bytes"] == len(raw)
    assert truth["packets"] == len(pkts)


def test_addresses_and_unique_tuples(sample):
    _, truth, pkts = sample
    syns = Counter()
    for p in pkts:
        src, dst = ipaddress.ip_address(p.src), ipaddress.ip_address(p.dst)
        if src in SERVER_NET:
            assert any(dst in n for n in CLIENT_NETS)
            assert p.sport in (80, 8080)
        else:
            assert any(src in n for n in CLIENT_NETS)
            assert dst in SERVER_NET and p.dport in (80, 8080)
            assert p.sport >= 1024
        if p.flags == "S":
            syns[(p.src, p.sport, p.dst, p.dport)] += 1
    assert len(syns) == truth["flows"]
    assert max(syns.values()) == 1, "4-tuple reused"


def check_tcp_flow(pk):
    """Handshake, in-order sequence/ack numbers, MSS, FIN both ways."""
    (c0, syn), (c1, synack), (c2, ack) = pk[:3]
    assert c0 and syn.flags == "S"
    assert not c1 and synack.flags == "SA" and synack.ack == syn.seq + 1
    assert c2 and ack.flags == "A" and ack.ack == synack.seq + 1
    nxt = {True: syn.seq, False: synack.seq}
    fins = []
    for from_client, p in pk:
        assert p.seq == nxt[from_client], "sequence gap"
        assert len(p.payload) <= MSS
        if p.flags != "S":
            assert "A" in p.flags
            # Everything the peer sent so far is acknowledged: the
            # generator never loses or reorders segments.
            assert p.ack == nxt[not from_client]
        nxt[from_client] = (p.seq + len(p.payload) +
                            (1 if "S" in p.flags or "F" in p.flags else 0)
                            ) & 0xffffffff
        if "F" in p.flags:
            fins.append(from_client)
    assert fins == [True, False], "client FIN then server FIN expected"
    last_from_client, last = pk[-1]
    assert last_from_client and last.flags == "A"


def test_tcp_sessions(sample):
    _, truth, pkts = sample
    flows = flows_of(pkts)
    assert len(flows) == truth["flows"]
    for pk in flows.values():
        check_tcp_flow(pk)


def test_receivers_ack_every_second_segment(sample):
    """RFC 5681 4.2: an ACK at least every second full-sized segment, in
    both directions; pure ACKs must really occur (not only piggybacked)."""
    _, _, pkts = sample
    pure = Counter()
    for pk in flows_of(pkts).values():
        run_side, run, prev = None, 0, None
        for from_client, p in pk:
            if from_client != run_side:
                run_side, run = from_client, 0
            if p.payload:
                run += 1
                assert run <= 2, "more than two segments unacknowledged"
            elif p.flags == "A" and prev is not None and prev.payload:
                pure[from_client] += 1
            prev = p
    assert pure[False] > 0 and pure[True] > 0


def test_http_matches_truth(sample):
    _, truth, pkts = sample
    attacks = {a["request"].encode(): a["sid"] for a in ATTACKS}
    n_req = n_attack = n_chunked = n_post = n_resp = 0
    by_sid = Counter()
    cbytes = sbytes = cpkts = spkts = 0
    for pk in flows_of(pkts).values():
        cdata = b"".join(p.payload for c, p in pk if c)
        sdata = b"".join(p.payload for c, p in pk if not c)
        cbytes += len(cdata)
        sbytes += len(sdata)
        cpkts += sum(1 for c, _ in pk if c)
        spkts += sum(1 for c, _ in pk if not c)
        reqs = parse_requests(cdata)
        resps = parse_responses(sdata)
        assert len(resps) == len(reqs)
        n_resp += len(resps)
        for i, r in enumerate(reqs):
            n_req += 1
            sid = attacks.get(r["raw"])
            if sid is not None:
                n_attack += 1
                by_sid[sid] += 1
                assert i == len(reqs) - 1, "attack is not the last request"
                continue
            assert b"user-agent" in r["headers"]
            if r["method"] == b"POST":
                n_post += 1
                assert len(r["body"]) <= MAX_BODY
                check_post_body(r)
            if r["chunks"]:
                n_chunked += 1
                assert r["chunks"] >= 1
    assert n_req == truth["requests"]
    assert n_attack == truth["attack_requests"] > 0
    assert n_req - n_attack == truth["benign_requests"]
    assert n_chunked == truth["chunked_requests"] > 0
    assert n_post == truth["post_requests"]
    assert n_resp == truth["responses"]
    assert {str(k): v for k, v in by_sid.items()} == truth["attacks_by_sid"]
    assert len(truth["attack_flows"]) == n_attack
    assert cbytes == truth["l7_client_bytes"]
    assert sbytes == truth["l7_server_bytes"]
    assert cpkts == truth["client_packets"]
    assert spkts == truth["server_packets"]


def check_post_body(r):
    """A (de-chunked) body must parse as its Content-Type says."""
    ctype = r["headers"][b"content-type"]
    if ctype == b"application/json":
        json.loads(r["body"])
    else:
        assert ctype == b"application/x-www-form-urlencoded"
        pairs = parse_qsl(r["body"].decode("ascii"), strict_parsing=True)
        assert pairs[0][0] == "csrf_token"


def test_realistic_mix(sample):
    _, _, pkts = sample
    heads = b"".join(p.payload for p in pkts
                     if p.payload[:4] in (b"GET ", b"POST"))
    for needle in (b"Accept-Language: ", b"Accept-Encoding: ", b"Cookie: ",
                   b"Referer: ", b"Mozilla/5.0", b"/api/v1/",
                   b"application/json", b"x-www-form-urlencoded",
                   b"Transfer-Encoding: chunked", b"?"):
        assert needle in heads, needle


def test_size_mode_and_attack_round_robin(tmp_path, attacks_file):
    target = 3 << 20
    pcap, truth = run_trafgen(tmp_path, "s", "--size", target, "--seed", 5,
                              "--max-body", 100000, "--attacks",
                              attacks_file, "--attack-fraction", 0.2)
    size = pcap.stat().st_size
    assert truth["bytes"] == size
    assert target <= size < target + (8 << 20)
    counts = sorted(truth["attacks_by_sid"].values())
    assert len(counts) == len(ATTACKS) and counts[-1] - counts[0] <= 1
    assert sum(counts) == truth["attack_requests"]


def test_rejects_bad_options(tmp_path):
    for args in (["--flows", "0"], ["--flows", "5", "--mss", "10"],
                 ["--flows", "5", "--attack-fraction", "0.5"],
                 ["--flows", "5", "--max-body", "100"],
                 ["--size", "1M", "--concurrency", "0"],
                 ["--flows", "5", "--attacks", str(tmp_path / "none")]):
        proc = subprocess.run([str(TRAFGEN), "--out",
                               str(tmp_path / "x.pcap")] + args,
                              capture_output=True, text=True)
        assert proc.returncode != 0, args
