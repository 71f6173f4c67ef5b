"""test_benign - clean traffic reaches the private side whole and unchanged.

Each test builds one small pcap, replays it once, and checks that OUT holds
the client's frames byte for byte in stream order, REV the server's, that
nothing was dropped, and that the summary accounts for every packet.
"""

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop, PadN
from scapy.layers.l2 import Ether

from checks import (assert_accounting, assert_no_drops, assert_reassembled,
                    assert_same_frames, flow_frames, frames)
from tcpgen import (TcpFlow, client_payload_stream, assembled_stream,
                    duplicate, fragment_ipv4, fragment_ipv6, http_session,
                    interleave, payload_stream)

GET = (b"GET /index.html?q=hello HTTP/1.1\r\nHost: www.example.com\r\n"
       b"User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n")


def post(body, extra=b""):
    return (b"POST /submit HTTP/1.1\r\nHost: www.example.com\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def check_whole_flow(res, flow, sent_packets, n_input, requests):
    """OUT/REV hold exactly the flow's frames in creation (stream) order."""
    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert_same_frames(res.rev_frames, frames(flow.server_packets()), "REV")
    assert client_payload_stream(res.out_packets, flow.client) == b"".join(requests)
    assert_no_drops(res)
    assert_accounting(res, n_input)
    assert res.summary["held_at_exit"] == 0


def test_request_in_tiny_segments(run_replay, pcap):
    flow = http_session([GET], segment_size=3)
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets), [GET])
    assert res.summary["transactions"] == 1
    assert res.alerts == []


def test_out_of_order_segments_released_in_stream_order(run_replay, pcap):
    flow = TcpFlow()
    flow.handshake()
    segs = flow.send(GET, segment_size=10)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", from_client=False)
    flow.close()
    # Wire order: 0, 3, 2, 1, 4.. : two segments wait for the gap at 1.
    wire = list(flow.packets)
    pos = [wire.index(s) for s in segs[:4]]
    for p, s in zip(pos, [segs[0], segs[3], segs[2], segs[1]]):
        wire[p] = s
    res = run_replay(pcap(wire))
    # OUT must follow the stream, not the wire.
    check_whole_flow(res, flow, wire, len(wire), [GET])
    assert res.counters["stream_segments_held"] >= 2
    assert res.counters["stream_segments_released"] == \
        res.counters["stream_segments_held"]


def test_identical_retransmissions_forwarded(run_replay, pcap):
    flow = TcpFlow()
    flow.handshake()
    segs = flow.send(GET, segment_size=20)
    flow.send(b"HTTP/1.1 204 No Content\r\n\r\n", from_client=False)
    flow.close()
    wire = list(flow.packets)
    # Retransmit segment 1 right after itself and segment 0 after segment 2.
    wire.insert(wire.index(segs[1]) + 1, duplicate(segs[1]))
    wire.insert(wire.index(segs[2]) + 1, duplicate(segs[0]))
    res = run_replay(pcap(wire))
    assert_same_frames(res.out_frames, frames(flow.client_packets(wire)), "OUT")
    assert assembled_stream(res.out_packets, flow.client) == GET
    assert_no_drops(res)
    assert_accounting(res, len(wire))
    assert res.counters["stream_retransmit_same"] >= 2
    assert res.summary["transactions"] == 1


def test_ipv4_fragments_reassembled(run_replay, pcap):
    body = b"name=" + b"x" * 500 + b"&end=1"
    req = post(body)
    flow = TcpFlow()
    flow.handshake()
    seg, = flow.send(req)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", from_client=False)
    flow.close()
    # 7 fragments: DPDK's reassembly takes at most 8 per datagram.
    frags = fragment_ipv4(seg, 96)
    assert len(frags) == 7
    # The last fragment first: reassembly must not depend on arrival order.
    frags = frags[-1:] + frags[:-1]
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + frags + flow.packets[i + 1:]
    res = run_replay(pcap(wire))

    client = flow.client_packets()
    k = client.index(seg)
    assert_same_frames(res.out_frames[:k], frames(client[:k]), "OUT before datagram")
    assert_reassembled(res.out_frames[k], seg)
    assert_same_frames(res.out_frames[k + 1:], frames(client[k + 1:]), "OUT after")
    assert client_payload_stream(res.out_packets, flow.client) == req
    assert_no_drops(res)
    assert res.counters["frag_received"] == len(frags)
    assert res.counters["frag_reassembled"] == 1
    assert res.summary["transactions"] == 1
    # Each fragment was read; each reached the pod inside the datagram.
    assert_accounting(res, len(wire))


def test_ipv6_fragments_reassembled(run_replay, pcap):
    req = post(b"data=" + b"y" * 300)
    flow = TcpFlow(ipv6=True)
    flow.handshake()
    seg = flow.segment(req, 0, frag_header=True)
    flow.cseq += len(req)
    flow.packets.append(seg)
    flow.packets.append(flow.ack_packet(False))
    flow.close()
    frags = fragment_ipv6(seg, 120)
    assert len(frags) > 3
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + frags + flow.packets[i + 1:]
    res = run_replay(pcap(wire))

    client = flow.client_packets()
    k = client.index(seg)
    assert_same_frames(res.out_frames[:k], frames(client[:k]), "OUT before datagram")
    assert_reassembled(res.out_frames[k], seg)
    assert_same_frames(res.out_frames[k + 1:], frames(client[k + 1:]), "OUT after")
    assert client_payload_stream(res.out_packets, flow.client) == req
    assert_no_drops(res)
    assert res.counters["frag_reassembled"] == 1
    assert res.summary["transactions"] == 1
    assert_accounting(res, len(wire))


def test_pipelined_requests_in_one_segment(run_replay, pcap):
    reqs = [b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
            post(b"k=v"),
            b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]
    flow = http_session([b"".join(reqs)])
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets), reqs)
    assert res.summary["transactions"] == 3


def test_chunked_body(run_replay, pcap):
    chunks = [b"first-part;", b"x" * 40, b"last"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    req = (b"POST /upload HTTP/1.1\r\nHost: h\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + body)
    flow = http_session([req], segment_size=7)
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets), [req])
    assert res.summary["transactions"] == 1
    assert res.counters["http_requests_complete"] == 1


def test_keep_alive_several_requests(run_replay, pcap):
    reqs = [b"GET /page%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(4)]
    reqs.append(post(b"a=1&b=2"))
    flow = http_session(reqs, segment_size=16)
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets), reqs)
    assert res.summary["transactions"] == 5
    assert payload_stream(res.rev_packets, flow.server) == \
        payload_stream(flow.packets, flow.server)


def test_ipv6_flow(run_replay, pcap):
    flow = http_session([GET, post(b"q=1")], segment_size=25, ipv6=True)
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets),
                     [GET, post(b"q=1")])
    assert res.summary["transactions"] == 2
    assert res.counters["decode_ipv6"] == len(flow.packets)


def test_vlan_tagged_flow(run_replay, pcap):
    flow = http_session([GET], segment_size=30, vlan=100)
    res = run_replay(pcap(flow.packets))
    check_whole_flow(res, flow, flow.packets, len(flow.packets), [GET])
    assert res.summary["transactions"] == 1


def test_many_interleaved_flows(run_replay, pcap):
    flows = []
    for i in range(24):
        req = b"GET /item/%d HTTP/1.1\r\nHost: shop%d.example\r\n\r\n" % (i, i)
        flows.append(http_session(
            [req], segment_size=9 + i % 5, client=("192.0.2.%d" % (20 + i % 6),
                                                   41000 + i),
            client_isn=1000 * i + 7, server_isn=900000 + 13 * i,
            ipv6=(i % 4 == 3)))
    wire = interleave(flows, seed=7)
    res = run_replay(pcap(wire))
    for f in flows:
        assert_same_frames(flow_frames(res.out_frames, f.client, f.server),
                           frames(f.client_packets()), "OUT of %s" % (f.client,))
        assert_same_frames(flow_frames(res.rev_frames, f.server, f.client),
                           frames(f.server_packets()), "REV of %s" % (f.client,))
    assert len(res.out_frames) == sum(len(f.client_packets()) for f in flows)
    assert_no_drops(res)
    assert_accounting(res, len(wire))
    assert res.summary["transactions"] == len(flows)
    assert res.summary["flows"] == len(flows)


def test_port_reuse_after_close_starts_new_stream(run_replay, pcap):
    # Same 4-tuple, new ISNs: the old stream state must not leak into the
    # new connection (its data would look out of window).
    first = http_session([GET], client_isn=1000, server_isn=5000)
    second = http_session([post(b"n=2")], client_isn=3000000000,
                          server_isn=7)
    wire = first.packets + second.packets
    res = run_replay(pcap(wire))

    expected = first.client_packets() + second.client_packets()
    assert_same_frames(res.out_frames, frames(expected), "OUT")
    assert client_payload_stream(res.out_packets, first.client) == \
        GET + post(b"n=2")
    assert_no_drops(res)
    assert res.summary["transactions"] == 2
    assert_accounting(res, len(wire))


def with_hop_by_hop(pkt):
    """pkt rebuilt with an IPv6 Hop-by-Hop header (PadN) before TCP; the
    TCP checksum is unchanged since extension headers are not in it."""
    ip6 = pkt[IPv6]
    new = Ether(src=pkt[Ether].src, dst=pkt[Ether].dst) / \
        IPv6(src=ip6.src, dst=ip6.dst, hlim=ip6.hlim) / \
        IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)]) / pkt[TCP]
    return Ether(bytes(new))


def test_ipv6_extension_headers_accepted(run_replay, pcap):
    flow = http_session([GET], segment_size=40, ipv6=True)
    wire = [with_hop_by_hop(p) for p in flow.packets]
    res = run_replay(pcap(wire))

    client_ids = {id(p) for p in flow.client_packets()}
    client = [w for w, p in zip(wire, flow.packets) if id(p) in client_ids]
    assert_same_frames(res.out_frames, frames(client), "OUT")
    assert client_payload_stream(res.out_packets, flow.client) == GET
    assert_no_drops(res)
    assert res.summary["transactions"] == 1
