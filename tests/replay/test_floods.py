"""test_floods - a full pool costs the holder that stalled longest, never
the legitimate newcomer (DESIGN §9).

One test per pool: a flood of at least FLOOD_FACTOR times the pool (small
limits in the test's own config), all within one second of capture time,
then LEGIT legitimate flows (reordered for held segments, fragmented for
reassembly, plain for the others).  At least LEGIT - 2 of them must be
served whole, the evictions counted must be the flood's, and every packet
read is accounted for.
"""

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

import tcpgen
from checks import assert_accounting
from conftest import conf_variant
from tcpgen import (CLIENT_MAC, SERVER_MAC, TcpFlow, client_payload_stream,
                    fragment_ipv4_at)

LEGIT = 200
SERVED_AT_LEAST = LEGIT - 2
FLOOD_FACTOR = 5
# 20,000 packets fit in 0.2 s of capture time at this spacing.
STEP_US = 10
SERVER = ("198.51.100.10", 80)


def request(i):
    return b"GET /legit/%d HTTP/1.1\r\nHost: www.example.com\r\n\r\n" % i


def legit_client(i):
    """Clients of the legitimate flows: 192.0.2.0/24, a few flows each."""
    return ("192.0.2.%d" % (1 + i % 250), 30000 + i)


def attacker(i):
    """Spoofed flood sources: 203.0.113.0/24 and 198.51.100.128/25."""
    if i % 2:
        return ("203.0.113.%d" % (1 + (i // 2) % 254), 10000 + i // 508)
    return ("198.51.100.%d" % (128 + (i // 2) % 127), 10000 + i // 254)


def legit_flow(i, payload=request, server=SERVER):
    flow = TcpFlow(client=legit_client(i), server=server)
    flow.handshake()
    flow.send(payload(i))
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              from_client=False)
    flow.close()
    return flow


def served(res, flows, payload=request):
    """How many of flows had their whole request (payload(i)) delivered,
    in order."""
    return sum(client_payload_stream(res.out_packets, f.client) ==
               payload(i) for i, f in enumerate(flows))


def replay_flood(run_replay, tmp_path, wire, conf, rules=None):
    path = tmp_path / "flood.pcap"
    tcpgen.write_pcap(path, wire, step_us=STEP_US)
    res = run_replay(path, conf=conf, rules=rules)
    assert_accounting(res, len(wire))
    return res


def assert_legit_served(res, flows, payload=request):
    n = served(res, flows, payload)
    assert n >= SERVED_AT_LEAST, (n, res.counters)


def stalled_flow(i, data, server=SERVER):
    """A flood connection: handshake, then data, then nothing."""
    flow = TcpFlow(client=attacker(i), server=server)
    flow.handshake()
    flow.send(data)
    return flow


def assert_evicted_are_flood(res, event):
    """Every anomaly naming an eviction names a flood source."""
    legit = {legit_client(i)[0] for i in range(LEGIT)}
    evicted = [e for e in res.anomalies
               if e.get("anomaly", {}).get("event") == event]
    assert all(e["src_ip"] not in legit for e in evicted), evicted[:3]
    return evicted


# -- flow table -----------------------------------------------------------

FLOWS = 128


def syn(client):
    return tcpgen._freeze(Ether(src=CLIENT_MAC, dst=SERVER_MAC) /
                          IP(src=client[0], dst=SERVER[0]) /
                          TCP(sport=client[1], dport=SERVER[1], flags="S",
                              seq=7))


def test_syn_flood_costs_embryonic_flows(run_replay, tmp_path):
    """Spoofed SYNs fill the table with embryonic flows: new legitimate
    flows evict them, the established ones are never touched."""
    conf = conf_variant(tmp_path, flows=str(FLOWS))
    early = [legit_flow(i) for i in range(FLOWS // 4)]
    late = [legit_flow(i) for i in range(FLOWS // 4, LEGIT)]
    # the early flows are established when the flood comes, and finish
    # after it
    hold = [f.packets[:3] for f in early]
    rest = [f.packets[3:] for f in early]
    flood = [syn(attacker(i)) for i in range(FLOOD_FACTOR * FLOWS)]
    wire = ([p for h in hold for p in h] + flood +
            [p for r in rest for p in r] + [p for f in late for p in f.packets])
    res = replay_flood(run_replay, tmp_path, wire, conf)
    assert_legit_served(res, early + late)
    assert res.counters["flow_evicted"] >= len(flood) - FLOWS
    # only embryonic flows went: no established flow was reset
    assert res.counters["verdict_rst_sent"] == 0
    assert res.drops.get("flow_table_full", 0) == 0


def test_source_share_of_flow_table(run_replay, tmp_path):
    """One source opening flows without end takes from its own flows,
    never from others': its share (limits.source_share) is the bound."""
    conf = conf_variant(tmp_path, flows=str(FLOWS), source_share="25")
    early = [legit_flow(i) for i in range(LEGIT)]
    hold = [f.packets[:3] for f in early]
    rest = [f.packets[3:] for f in early]
    hog = [syn(("203.0.113.7", 1024 + i))
           for i in range(FLOOD_FACTOR * FLOWS)]
    # legitimate flows interleaved with the hog, a few at a time
    wire = []
    for i, h in enumerate(hold):
        wire += h + hog[i * 3:(i + 1) * 3] + rest[i]
    wire += hog[len(hold) * 3:]
    res = replay_flood(run_replay, tmp_path, wire, conf)
    assert_legit_served(res, early)
    share = FLOWS * 25 // 100
    assert res.counters["flow_share_evicted"] >= len(hog) - share


# -- IP reassembly ----------------------------------------------------------

DATAGRAMS = 32


def first_fragment(i):
    """A first fragment whose datagram never completes."""
    client = attacker(i)
    return tcpgen._freeze(Ether(src=CLIENT_MAC, dst=SERVER_MAC) /
                          IP(src=client[0], dst=SERVER[0], id=i & 0xffff,
                             flags="MF", frag=0, proto=6) / (b"\0" * 64))


def fragmented_legit_flow(i):
    """A legitimate flow whose request segment comes in two fragments."""
    flow = TcpFlow(client=legit_client(i), server=SERVER)
    flow.handshake()
    seg, = flow.send(request(i))
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              from_client=False)
    flow.close()
    at = flow.packets.index(seg)
    flow.packets[at:at + 1] = fragment_ipv4_at(seg, [24])
    return flow


def test_fragment_flood_costs_the_oldest_datagrams(run_replay, tmp_path):
    conf = conf_variant(tmp_path, frag_datagrams=str(DATAGRAMS))
    flood = [first_fragment(i) for i in range(FLOOD_FACTOR * DATAGRAMS)]
    flows = [fragmented_legit_flow(i) for i in range(LEGIT)]
    wire = flood + [p for f in flows for p in f.packets]
    res = replay_flood(run_replay, tmp_path, wire, conf)
    assert_legit_served(res, flows)
    assert res.counters["frag_reassembled"] >= SERVED_AT_LEAST
    # the flood's datagrams went, oldest first, and only they: each held
    # exactly one fragment
    assert res.counters["frag_evicted"] >= len(flood) - DATAGRAMS
    assert res.counters["frag_evicted"] <= len(flood)
    assert res.drops["frag_evicted"] == res.counters["frag_evicted"]
    assert res.drops.get("frag_table_full", 0) == 0


# -- held segments ------------------------------------------------------------

HELD = 64
HELD_PER_FLOW = 4


def stalled_gap_flow(i):
    """A connection whose client sends HELD_PER_FLOW segments past a gap
    it never fills."""
    flow = TcpFlow(client=attacker(i), server=SERVER)
    flow.handshake()
    segs = flow.data_packets(b"x" * 80 * (HELD_PER_FLOW + 1),
                             segment_size=80)
    flow.packets += segs[1:]
    return flow


def reordered_legit_flow(i):
    """A legitimate flow whose request arrives in reverse segment order:
    all but the first segment are held until it comes."""
    flow = TcpFlow(client=legit_client(i), server=SERVER)
    flow.handshake()
    segs = flow.data_packets(request(i), segment_size=20)
    flow.packets += segs[::-1]
    flow.packets.append(flow.ack_packet(False))
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              from_client=False)
    flow.close()
    return flow


def test_gap_flood_costs_the_stalled_flows(run_replay, tmp_path):
    conf = conf_variant(tmp_path, stream_held=str(HELD),
                        stream_held_per_flow=str(HELD_PER_FLOW))
    n_flood = FLOOD_FACTOR * HELD // HELD_PER_FLOW
    flood = [stalled_gap_flow(i) for i in range(n_flood)]
    flows = [reordered_legit_flow(i) for i in range(LEGIT)]
    wire = [p for f in flood + flows for p in f.packets]
    res = replay_flood(run_replay, tmp_path, wire, conf)
    assert_legit_served(res, flows)
    # stalled flows lost their places (all but those the pool still
    # holds), and only they did
    n = res.counters["stream_hold_evicted"]
    assert n >= n_flood - HELD // HELD_PER_FLOW
    assert len(assert_evicted_are_flood(res, "hold_evicted")) == n
    assert res.drops["stream_hold_evicted"] == n * HELD_PER_FLOW
    assert res.drops.get("stream_hold_full", 0) == 0
    # each reset both ways
    assert res.counters["verdict_rst_sent"] == 2 * n


# -- HTTP transactions ------------------------------------------------------------

TXNS = 32
SLOWLORIS = b"GET / HTTP/1.1\r\nHost: www.example.com\r\nX-a: b\r\n"


UPLOAD = (b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\n"
          b"Content-Length: 100000\r\n\r\n" + b"u" * 500)


@pytest.mark.parametrize("data", [SLOWLORIS, UPLOAD],
                         ids=["unfinished_heads", "unfinished_uploads"])
def test_slowloris_costs_the_stalled_requests(run_replay, tmp_path, data):
    conf = conf_variant(tmp_path, http_transactions=str(TXNS))
    n_flood = FLOOD_FACTOR * TXNS
    flood = [stalled_flow(i, data) for i in range(n_flood)]
    flows = [legit_flow(i) for i in range(LEGIT)]
    wire = [p for f in flood + flows for p in f.packets]
    res = replay_flood(run_replay, tmp_path, wire, conf)
    assert_legit_served(res, flows)
    n = res.counters["http_txn_evicted"]
    assert n >= n_flood - TXNS
    assert len(assert_evicted_are_flood(res, "txn_evicted")) == n
    assert res.counters["verdict_rst_sent"] == 2 * n
    assert res.drops.get("http_txn_pool_full", 0) == 0


# -- body streams --------------------------------------------------------------

BODY_STREAMS = 16


def post(i):
    return (b"POST /form/%d HTTP/1.1\r\nHost: www.example.com\r\n"
            b"Content-Length: 11\r\n\r\nhello=world" % i)


# A pcre on the body is confirmed by PCRE2 on the held body: each upload
# then holds a body buffer as well as its Hyperscan stream.
HELD_BODY_RULES = """\
drop http any any -> any any (msg:"TEST body pcre"; flow:to_server,established; http.request_body; pcre:"/evil\\d+body/"; sid:9100002; rev:1;)
"""


@pytest.mark.parametrize("held", [False, True], ids=["scanned", "held"])
def test_upload_flood_costs_the_stalled_bodies(run_replay, tmp_path,
                                               rules_file, held):
    """Unfinished uploads hold body streams (the test rules inspect
    bodies) and, for rules that inspect the body whole, body buffers; the
    transaction pool is large, the body pool small."""
    conf = conf_variant(tmp_path, body_streams=str(BODY_STREAMS))
    rules = rules_file(tmp_path, HELD_BODY_RULES, "held.rules") \
        if held else None
    n_flood = FLOOD_FACTOR * BODY_STREAMS
    flood = [stalled_flow(i, UPLOAD) for i in range(n_flood)]
    flows = [legit_flow(i, post) for i in range(LEGIT)]
    wire = [p for f in flood + flows for p in f.packets]
    res = replay_flood(run_replay, tmp_path, wire, conf, rules=rules)
    assert_legit_served(res, flows, post)
    n = res.counters["detect_body_stream_evicted"]
    assert n >= n_flood - BODY_STREAMS
    assert len(assert_evicted_are_flood(res, "body_stream_evicted")) == n
    assert res.counters["detect_stream_pool_full"] == 0


# -- raw streams ---------------------------------------------------------------

RAW_STREAMS = 32
REDIS_SERVER = ("198.51.100.10", 6379)
RAW_RULES = """\
drop tcp any any -> any 6379 (msg:"TEST redis CONFIG SET"; flow:to_server,established; content:"CONFIG"; nocase; content:"SET"; nocase; sid:9100001; rev:1;)
"""


def redis_command(i):
    return b"*2\r\n$3\r\nGET\r\n$%d\r\nkey%d\r\n" % (len(str(i)) + 3, i)


def test_idle_flood_costs_the_stalled_raw_streams(run_replay, tmp_path,
                                                   rules_file):
    """Raw-stream rules give every TCP flow a raw stream from its first
    byte: connections that send one byte and stall hold them."""
    conf = conf_variant(tmp_path, raw_streams=str(RAW_STREAMS))
    rules = rules_file(tmp_path, RAW_RULES, "raw.rules")
    n_flood = FLOOD_FACTOR * RAW_STREAMS
    flood = [stalled_flow(i, b"*", REDIS_SERVER) for i in range(n_flood)]
    flows = [legit_flow(i, redis_command, REDIS_SERVER)
             for i in range(LEGIT)]
    wire = [p for f in flood + flows for p in f.packets]
    res = replay_flood(run_replay, tmp_path, wire, conf, rules=rules)
    assert_legit_served(res, flows, redis_command)
    n = res.counters["detect_raw_stream_evicted"]
    assert n >= n_flood - RAW_STREAMS
    assert len(assert_evicted_are_flood(res, "raw_stream_evicted")) == n
    assert res.counters["detect_raw_pool_full"] == 0
