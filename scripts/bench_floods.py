#!/usr/bin/python3
"""bench_floods.py - the floods section of the benchmark (issue 13): per
bounded pool, the attacker packet rate needed to deny legitimate traffic,
for the gateway before the pools evicted their stalled holders and after.

Method.  For each pool, a flood holder (what one attacker connection or
datagram takes from the pool, and its packets) and a legitimate flow that
holds the pool for a window (the part of it in progress) are built with
scapy.  Each binary replays, for K flood holders in a grid of multiples of
the pool (measured with a pool of POOL holders):

  (a) K flood holders, then LEGIT legitimate flows: a flood sent once;
  (b) LEGIT legitimate flows, each with K flood holders inside its window.

The smallest K at which fewer than half the legitimate flows are served is
that placement's threshold (none when even the largest K is not enough).
A flood of kind (a) must be sent again once per holder lifetime (the
timeout that frees a stalled holder); one of kind (b) within every
legitimate window, taken as one round trip (RTT_S).  The rate needed is
the lower of the two, K scaled from POOL to the pool of the default
configuration (thresholds are counts of holders: they scale with the
pool).  Replay does not run on capture time, so lifetimes and the window
enter the rate as parameters, named in the results.

Usable alone: bench_floods.py --before BIN --after BIN [--out DIR].
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "tests" / "replay"))

import tcpgen  # noqa: E402
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

POOL = 16                       # holders, in the measuring runs
LEGIT = 10
GRID = (0.5, 1.5, 4)            # K / POOL
RTT_S = 0.1                     # a legitimate window: one WAN round trip
SERVER = ("198.51.100.10", 80)
REDIS = ("198.51.100.10", 6379)
HELD_PER_FLOW = 4

# Default pool sizes and timeouts (dataplane/config.c), for the scaling.
DEFAULTS = dict(flows=65536, stream_held=8192, http_transactions=4096,
                body_streams=1024, raw_streams=65536, frag_datagrams=4096,
                flow_timeout_syn=30, flow_timeout_established=600,
                frag_timeout_s=2, http_header_timeout=60,
                http_body_timeout=60, stream_gap_timeout=30)

CONF = """
eal = [ "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
        "--log-level=error" ];
pmd_dir = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";
workers = 1;
mode = "l2";
limits = { %s };
http = { ports = [ 80, 8080 ]; detect_by_content = true; };
signatures = { files = [ ]; classification = "%s";
  vars = { HOME_NET = "any"; EXTERNAL_NET = "any"; HTTP_PORTS = "[80,8080]"; }; };
""" % ("%s", SOURCE_DIR / "signatures" / "classification.config")

RULES = """\
drop http any any -> any any (msg:"bench body"; flow:to_server,established; http.request_body; content:"never-in-a-bench-body"; sid:9300001; rev:1;)
drop tcp any any -> any 6379 (msg:"bench raw"; flow:to_server,established; content:"never-in-a-bench-stream"; sid:9300002; rev:1;)
"""


def attacker(i):
    return ("203.0.%d.%d" % (113 + (i // 250) % 3, 1 + i % 250),
            1024 + i // 750)


def legit_client(i):
    return ("192.0.2.%d" % (1 + i % 250), 30000 + i)


def freeze(pkt):
    return tcpgen._freeze(pkt)


# ---- flood holders: a list of packets each ----------------------------------

def syn_holder(i):
    c = attacker(i)
    return [freeze(Ether(src=tcpgen.CLIENT_MAC, dst=tcpgen.SERVER_MAC) /
                   IP(src=c[0], dst=SERVER[0]) /
                   TCP(sport=c[1], dport=SERVER[1], flags="S", seq=7))]


def conn_holder(data, server=SERVER):
    def build(i):
        f = tcpgen.TcpFlow(client=attacker(i), server=server)
        f.handshake()
        f.send(data, ack=False)
        return f.packets
    return build


def gap_holder(i):
    f = tcpgen.TcpFlow(client=attacker(i), server=SERVER)
    f.handshake()
    segs = f.data_packets(b"x" * 80 * (HELD_PER_FLOW + 1), segment_size=80)
    return f.packets + segs[1:]


def frag_holder(i):
    c = attacker(i)
    return [freeze(Ether(src=tcpgen.CLIENT_MAC, dst=tcpgen.SERVER_MAC) /
                   IP(src=c[0], dst=SERVER[0], id=i & 0xffff, flags="MF",
                      frag=0, proto=6) / (b"\0" * 64))]


# ---- legitimate flows: (packets before the window, after it, payload) -------

def request(i):
    return b"GET /legit/%d HTTP/1.1\r\nHost: www.example.com\r\n\r\n" % i


def close(f):
    f.packets.append(f.ack_packet(False))
    f.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
           from_client=False)
    f.close()


def legit_new_flow(i):
    """Window: the handshake (the flow is embryonic)."""
    f = tcpgen.TcpFlow(client=legit_client(i), server=SERVER)
    f.handshake()
    f.send(request(i))
    close(f)
    return f.packets[:2], f.packets[2:], request(i)


def legit_split(payload_of, server=SERVER, cut=20):
    """Window: between the first and the second segment of the payload."""
    def build(i):
        data = payload_of(i)
        f = tcpgen.TcpFlow(client=legit_client(i), server=server)
        f.handshake()
        a = f.data_packets(data[:cut])
        b = f.data_packets(data[cut:])
        f.packets += a
        n = len(f.packets)
        f.packets += b
        close(f)
        return f.packets[:n], f.packets[n:], data
    return build


def legit_reordered(i):
    """Window: a segment held, its gap not yet filled."""
    data = request(i)
    f = tcpgen.TcpFlow(client=legit_client(i), server=SERVER)
    f.handshake()
    segs = f.data_packets(data, segment_size=25)
    f.packets += segs[1:]
    n = len(f.packets)
    f.packets.append(segs[0])
    close(f)
    return f.packets[:n], f.packets[n:], data


def legit_fragmented(i):
    """Window: the first fragment in, the second not yet."""
    data = request(i)
    f = tcpgen.TcpFlow(client=legit_client(i), server=SERVER)
    f.handshake()
    seg, = f.send(data, ack=False)
    at = f.packets.index(seg)
    frags = tcpgen.fragment_ipv4_at(seg, [24])
    f.packets[at:at + 1] = frags
    close(f)
    return f.packets[:at + 1], f.packets[at + 1:], data


def post(i):
    return (b"POST /form/%d HTTP/1.1\r\nHost: www.example.com\r\n"
            b"Content-Length: 40\r\n\r\n" % i) + b"b" * 40


def redis(i):
    return b"*2\r\n$3\r\nGET\r\n$12\r\nkey-%08d\r\n" % i


SLOW_HEAD = b"GET / HTTP/1.1\r\nHost: www.example.com\r\nX-a: b\r\n"
UPLOAD = (b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\n"
          b"Content-Length: 100000\r\n\r\n" + b"u" * 500)

# name, limit key, units per holder, holder, legit, lifetime before/after
# (the default timeout that frees a stalled holder), rules
POOLS = [
    ("flows (SYN flood)", "flows", 1, syn_holder, legit_new_flow,
     "flow_timeout_syn", "flow_timeout_syn", False),
    ("held segments (gaps)", "stream_held", HELD_PER_FLOW, gap_holder,
     legit_reordered, "flow_timeout_established", "stream_gap_timeout",
     False),
    ("HTTP transactions (slowloris)", "http_transactions", 1,
     conn_holder(SLOW_HEAD), legit_split(request),
     "flow_timeout_established", "http_header_timeout", False),
    ("body streams (uploads)", "body_streams", 1, conn_holder(UPLOAD),
     legit_split(post, cut=90), "flow_timeout_established",
     "http_body_timeout", True),
    ("raw streams (idle flows)", "raw_streams", 1,
     conn_holder(b"*", REDIS), legit_split(redis, REDIS, cut=8),
     "flow_timeout_established", "flow_timeout_established", True),
    ("IP reassembly (first fragments)", "frag_datagrams", 1, frag_holder,
     legit_fragmented, "frag_timeout_s", "frag_timeout_s", False),
]


# ---- runs ----------------------------------------------------------------------

def served(out_pcap, legit):
    pkts = [Ether(f) for f in tcpgen.read_pcap_frames(out_pcap)]
    return sum(tcpgen.client_payload_stream(pkts, client) == data
               for client, data in legit)


def replay(binary, work, name, limits, wire, rules):
    pcap, out = work / (name + ".pcap"), work / (name + "-out.pcap")
    conf = work / (name + ".conf")
    tcpgen.write_pcap(pcap, wire, step_us=10)
    conf.write_text(CONF % limits)
    cmd = [str(binary), "--config", str(conf), "--replay", str(pcap),
           "--write", str(out), "--write-reverse",
           str(work / (name + "-rev.pcap"))]
    if rules:
        cmd += ["--rules", str(rules)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), proc.stderr[-2000:]))
    return out


def threshold(binary, work, pool, placement, rules):
    """Smallest K (flood holders) in the grid at which fewer than half the
    legitimate flows are served, or None."""
    name, key, units, holder, legit_of, _, _, with_rules = pool
    limits = "%s = %d;" % (key, POOL * units)
    if key == "stream_held":
        limits += " stream_held_per_flow = %d;" % HELD_PER_FLOW
    legit = [legit_of(i) for i in range(LEGIT)]
    for mult in GRID:
        k = max(1, int(mult * POOL))
        n = 0
        wire = []
        if placement == "a":
            for j in range(k):
                wire += holder(n)
                n += 1
            for before, after, _ in legit:
                wire += before + after
        else:
            for before, after, _ in legit:
                wire += before
                for j in range(k):
                    wire += holder(n)
                    n += 1
                wire += after
        out = replay(binary, work, "%s-%s-%d" % (key, placement, k), limits,
                     wire, rules if with_rules else None)
        ok = served(out, [(legit_client(i), d)
                          for i, (_, _, d) in enumerate(legit)])
        if ok * 2 < LEGIT:
            return k
    return None


def rate(k, pool, seconds):
    """Packets a second: k holders per `seconds`, scaled to the default
    pool, each holder its packets."""
    name, key, units, holder, _, _, _, _ = pool
    if k is None:
        return None
    holders = k / POOL * DEFAULTS[key] / units
    return holders * len(holder(0)) / seconds


def measure(binaries, work, progress=lambda *a: None):
    rules = work / "floods.rules"
    rules.write_text(RULES)
    rows = []
    for pool in POOLS:
        name, key, _, _, _, life_before, life_after, _ = pool
        row = dict(pool=name, limit=key, default_size=DEFAULTS[key])
        for label, binary in binaries.items():
            life = DEFAULTS[life_before if label == "before"
                            else life_after]
            progress("floods", "%s, %s" % (name, label))
            ka = threshold(binary, work, pool, "a", rules)
            kb = threshold(binary, work, pool, "b", rules)
            ra, rb = rate(ka, pool, life), rate(kb, pool, RTT_S)
            need = min([r for r in (ra, rb) if r is not None],
                       default=float("inf"))
            row[label] = dict(
                once_threshold_k=ka, window_threshold_k=kb,
                once_rate_pps=ra, window_rate_pps=rb,
                holder_lifetime_s=life,
                rate_needed_pps=None if need == float("inf") else need)
        rows.append(row)
    return dict(rows=rows, pool_in_runs=POOL, legit_flows=LEGIT,
                grid=list(GRID), window_s=RTT_S,
                method=__doc__.split("\n\n")[1].replace("\n", " "))


def table(floods):
    L = ["", "=== floods: attacker packets/s needed to deny legitimate "
         "traffic (default pools) ===",
         "%-34s %14s %14s" % ("pool", "before", "after")]
    for row in floods["rows"]:
        def fmt(side):
            r = row.get(side, {}).get("rate_needed_pps")
            return "not reached" if r is None else "%.0f" % r
        L.append("%-34s %14s %14s" % (row["pool"], fmt("before"),
                                      fmt("after")))
    L.append("(measured: %d legitimate flows, pools of %d holders, %s "
             "times the pool; scaled to the default pools)"
             % (floods["legit_flows"], floods["pool_in_runs"],
                "/".join(str(g) for g in floods["grid"])))
    L.append("(a flood sent once per holder lifetime, or within each "
             "legitimate window of %.0f ms; 'not reached': %s x the pool "
             "did not deny)" % (floods["window_s"] * 1000,
                                floods["grid"][-1]))
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True,
                    help="ips-dataplane built before this change")
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None,
                    help="write floods.json here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="floods-") as tmp:
        res = measure({"before": args.before, "after": args.after},
                      Path(tmp), lambda p, m: print("[%s] %s" % (p, m),
                                                    file=sys.stderr))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "floods.json").write_text(json.dumps(res, indent=1))
    sys.stdout.write(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
