"""test_limits - exhausting the flow table is a counted policy event.

DESIGN §9: every bounded resource has a limit, a counter and a policy;
running out never crashes.  The table holds limits.flows = 64 flows (one
worker); 300 half-open flows fill it.
"""

from checks import assert_accounting, assert_same_frames, flow_frames, frames
from conftest import conf_variant
from tcpgen import TcpFlow, client_payload_stream, http_session

TABLE = 64
ABANDONED = 300


def abandoned_flows():
    """ABANDONED flows that complete the handshake and then go silent, from
    100 sources: none holds its share of the table (limits.source_share),
    so it is the table that fills (test_floods.py tests shares)."""
    flows = []
    for i in range(ABANDONED):
        f = TcpFlow(client=("192.0.2.%d" % (100 + i % 100), 20000 + i))
        f.handshake()
        flows.append(f)
    return flows


def benign_flows(n, base_port):
    return [http_session([b"GET /n%d HTTP/1.1\r\nHost: h\r\n\r\n" % i],
                         client=("192.0.2.200", base_port + i))
            for i in range(n)]


def assert_flows_intact(res, flows):
    for f in flows:
        assert_same_frames(flow_frames(res.out_frames, f.client, f.server),
                           frames(f.client_packets()), "OUT of %s" % (f.client,))
        assert client_payload_stream(res.out_packets, f.client) == \
            b"GET /n%d HTTP/1.1\r\nHost: h\r\n\r\n" % (f.client[1] % 100)


def test_flow_table_full_evicts_oldest(run_replay, pcap, tmp_path):
    conf = conf_variant(tmp_path, flows=str(TABLE), flow_table_full='"evict"')
    old = abandoned_flows()
    fresh = benign_flows(5, 30000)
    wire = [p for f in old + fresh for p in f.packets]
    res = run_replay(pcap(wire), conf=conf)

    # Every handshake arrived whole before the next began: nothing dropped.
    assert res.summary["dropped"] == 0, res.drops
    assert res.counters["flow_evicted"] >= ABANDONED - TABLE
    assert res.counters["drop_flow_table_full"] == 0
    assert_flows_intact(res, fresh)
    assert res.summary["transactions"] == len(fresh)
    assert_accounting(res, len(wire))


def test_flow_table_full_drop_policy(run_replay, pcap, tmp_path):
    conf = conf_variant(tmp_path, flows=str(TABLE), flow_table_full='"drop"')
    first = benign_flows(5, 31000)
    old = abandoned_flows()
    wire = [p for f in first + old for p in f.packets]
    res = run_replay(pcap(wire), conf=conf)

    # Flows opened before the table filled pass; new SYNs are refused.
    assert_flows_intact(res, first)
    assert res.summary["transactions"] == len(first)
    assert res.drops["flow_table_full"] >= ABANDONED + len(first) - TABLE
    assert res.counters["flow_evicted"] == 0
    # A refused SYN must not leak its flow's later packets either.
    refused = [f for f in old
               if bytes(f.packets[0]) not in res.out_frames]
    assert len(refused) >= ABANDONED + len(first) - TABLE
    for f in refused:
        assert flow_frames(res.out_frames, f.client, f.server) == []
    assert_accounting(res, len(wire))
