"""test_evasion - TCP tricks that would make the gateway inspect one byte
stream while the server reads another (found in review; each test is one
attack sequence).  The URI rule sid 9000001 (/etc/passwd) must fire and
block the request, or the trick itself must be dropped.
"""
from scapy.layers.inet import IP, TCP

from checks import assert_accounting
from tcpgen import TcpFlow, client_payload_stream

ATTACK = b"GET /etc/passwd HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
PASSWD_SID = 9000001


def blocked(res):
    return [a for a in res.alerts if a["alert"]["signature_id"] == PASSWD_SID
            and a["alert"]["action"] == "blocked"]


def test_forged_syn_from_server_address_cannot_hide_the_request(run_replay, pcap):
    flow = TcpFlow()
    # A SYN forged from the server's address and port, and a RST to close
    # that "connection", before the real client connects on the 4-tuple.
    forged_syn = flow.packet("S", 7000, 0, from_client=False)
    forged_rst = flow.packet("R", 1, 0, from_client=True)
    flow.handshake()
    segs = flow.send(ATTACK)
    flow.close()
    wire = [forged_syn, forged_rst] + flow.packets
    res = run_replay(pcap(wire))

    assert blocked(res), res.eve
    assert bytes(segs[0]) not in res.out_frames
    assert_accounting(res, len(wire))


def test_syn_the_server_never_saw_does_not_shift_the_stream(run_replay, pcap):
    # The first SYN (isn 1000) never reached the server's stack (bad
    # checksum); the server accepts a second SYN (isn 5000).  The request
    # at 5001 is the real stream start, not body bytes of a request
    # hidden in "filler" at 1001..5000.
    flow = TcpFlow(client_isn=5000)
    decoy_syn = flow.packet("S", 1000, 0)
    decoy_syn[TCP].chksum = 0xdead
    flow.handshake()
    attack, = flow.data_packets(ATTACK)
    filler = flow.packet("PA", 1001, flow.sseq,
                         b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
                         + b"z" * 3940)
    wire = [decoy_syn] + flow.packets + [attack, filler]
    res = run_replay(pcap(wire))

    assert blocked(res), res.eve
    assert bytes(attack) not in res.out_frames
    assert_accounting(res, len(wire))


def test_urgent_data_is_dropped(run_replay, pcap):
    # With URG the server's socket removes the urgent byte: it would read
    # /etc/passwd where the gateway inspects /etc/pasXswd.
    flow = TcpFlow()
    flow.handshake()
    req = b"GET /etc/pasXswd HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
    seg, = flow.data_packets(req)
    seg[TCP].flags = "PAU"
    seg[TCP].urgptr = req.index(b"X") + 1
    del seg[TCP].chksum
    seg = seg.__class__(bytes(seg))
    wire = flow.packets + [seg]
    res = run_replay(pcap(wire))

    assert client_payload_stream(res.out_packets, flow.client) == b""
    assert res.drops.get("tcp_urgent") == 1, res.drops
    assert_accounting(res, len(wire))


def test_leading_empty_lines_on_other_port_are_still_http(run_replay, pcap):
    flow = TcpFlow(server=("198.51.100.10", 8888))    # not an HTTP port
    flow.handshake()
    seg, = flow.send(b"\r\n\r\n" + ATTACK)
    flow.close()
    res = run_replay(pcap(flow.packets))

    assert blocked(res), res.eve
    assert bytes(seg) not in res.out_frames


def test_out_of_window_rst_does_not_end_inspection(run_replay, pcap):
    flow = TcpFlow()
    flow.handshake()
    bogus = flow.packet("R", flow.cseq + 100000, 0)   # the server ignores it
    flow.packets.append(bogus)
    segs = flow.send(ATTACK)
    res = run_replay(pcap(flow.packets))

    assert res.counters["flow_rst_ignored"] == 1
    assert blocked(res), res.eve
    assert bytes(segs[0]) not in res.out_frames


def test_fragments_reach_the_worker_holding_their_flow(run_replay, pcap):
    # Two workers: a flow's IP fragments carry no ports, yet they must
    # land on the worker that tracks the flow, or it is "midstream".
    from tcpgen import fragment_ipv4
    wire, reqs = [], []
    for i in range(8):
        flow = TcpFlow(client=("192.0.2.%d" % (20 + i), 41000 + i))
        flow.handshake()
        req = b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\n\r\n" + b"q" * 300
        seg, = flow.send(req)
        flow.close()
        k = flow.packets.index(seg)
        flow.packets[k:k + 1] = fragment_ipv4(seg, 128)
        wire += flow.packets
        reqs.append((flow.client, req))
    res = run_replay(pcap(wire), workers=2)

    assert res.drops == {}, res.drops
    for client, req in reqs:
        assert client_payload_stream(res.out_packets, client) == req
    assert res.counters["frag_reassembled"] == 8
    assert_accounting(res, len(wire))
