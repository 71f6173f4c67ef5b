"""test_accounting - the replay summary accounts for every packet.

packets_in == forwarded + dropped + held_at_exit, dropped is the sum of the
per-reason table, the table is exactly the non-zero drop_ counters, and the
counters object names every counter of include/ips/counters.h.
"""

from checks import assert_accounting, counter_names
from tcpgen import TcpFlow, http_session, interleave

from test_malformed import malformed_frames


def mixed_traffic():
    """Benign, blocked, midstream, malformed, and a flow left with a gap."""
    benign = http_session([b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"],
                          client=("192.0.2.31", 41001))
    attack = http_session([b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"],
                          client=("192.0.2.32", 41002))
    midstream = TcpFlow(client=("192.0.2.33", 41003))
    midstream.cseq += 1
    midstream.sseq += 1
    midstream.send(b"GET /mid HTTP/1.1\r\nHost: h\r\n\r\n")
    gap = TcpFlow(client=("192.0.2.34", 41004))
    gap.handshake()
    segs = gap.data_packets(b"GET /never-completed HTTP/1.1\r\nHost: h\r\n\r\n",
                            segment_size=10)
    gap.packets += segs[1:]             # segment 0 never arrives
    wire = interleave([benign, attack, midstream, gap], seed=3)
    wire += [frame for _, frame in malformed_frames()]
    return wire, len(segs) - 1


def test_summary_accounts_for_every_packet(run_replay, pcap):
    wire, held = mixed_traffic()
    res = run_replay(pcap(wire))
    s = res.summary

    assert_accounting(res, len(wire))
    assert s["held_at_exit"] == held
    assert s["counters"]["stream_held_at_exit"] == held
    assert s["forwarded"] == len(res.out_frames) + len(res.rev_frames)
    assert s["drops"]["rule"] == 1
    assert s["drops"]["flow_midstream"] >= 1
    assert s["alerts"] == 1 == len(res.alerts)
    assert s["flows"] >= 3
    assert s["bytes_in"] == sum(len(bytes(p)) if not isinstance(p, bytes)
                                else len(p) for p in wire)

    names = counter_names()
    assert len(names) > 50
    assert sorted(s["counters"]) == sorted(names)
    assert s["drops"] == {n[len("drop_"):]: v for n, v in s["counters"].items()
                          if n.startswith("drop_") and v}
    assert s["counters"]["rx_packets"] == len(wire)
    for key in ("elapsed_s", "mpps", "gbps"):
        assert isinstance(s[key], (int, float)) and s[key] >= 0, key
