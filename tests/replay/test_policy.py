"""test_policy - fail-closed policies: midstream, hold limit, HTTP ambiguity,
fragment overlaps, matches in released segments, several workers.

replay.conf sets policy midstream/stream_hold_full/http_ambiguous = "drop"
and stream_held_per_flow = 32.
"""

from scapy.layers.inet import IP

from checks import (assert_accounting, assert_alert, assert_same_frames,
                    flow_frames, frames)
from tcpgen import (TcpFlow, assembled_stream, client_payload_stream, duplicate, fragment_ipv4,
                    http_session, interleave)

HELD_PER_FLOW = 32


def test_midstream_flow_dropped(run_replay, pcap):
    flow = TcpFlow()
    flow.cseq += 1                       # as if the handshake was missed
    flow.sseq += 1
    flow.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", segment_size=10)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", from_client=False)
    res = run_replay(pcap(flow.packets))

    assert res.out_frames == [] and res.rev_frames == []
    assert res.drops == {"flow_midstream": len(flow.packets)}
    assert res.summary["transactions"] == 0
    assert_accounting(res, len(flow.packets))


def test_hold_limit_drops_excess_then_retransmission_completes(run_replay, pcap):
    extra = 5
    n = HELD_PER_FLOW + extra + 1
    req = b"GET /" + b"a" * (8 * n - 28) + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    segs = flow.data_packets(req, segment_size=8)
    assert len(segs) == n
    # Segment 0 is late: 32 wait for it, the last 5 find the queue full.
    late = segs[HELD_PER_FLOW + 1:]
    flow.packets += segs[1:] + [segs[0]] + [duplicate(s) for s in late]
    flow.packets.append(flow.ack_packet(False))
    flow.close()
    res = run_replay(pcap(flow.packets))

    assert res.drops == {"stream_hold_full": extra}
    # OUT is in stream order, each segment once.
    client = flow.client_packets()
    expected = client[:2] + segs + client[-2:]
    assert_same_frames(res.out_frames, frames(expected), "OUT")
    assert client_payload_stream(res.out_packets, flow.client) == req
    assert res.summary["transactions"] == 1
    assert any(e["anomaly"]["layer"] == "stream" for e in res.anomalies), res.eve
    assert_accounting(res, len(flow.packets))


def test_content_length_with_chunked_is_dropped(run_replay, pcap):
    req = (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
    flow = TcpFlow()
    flow.handshake()
    segs = flow.send(req, segment_size=12)
    flow.close()
    k = next(i for i, s in enumerate(segs)
             if s.tag["off"] + s.tag["len"] > req.index(b"\r\n\r\n") + 3)
    res = run_replay(pcap(flow.packets))

    client = flow.client_packets()
    assert_same_frames(res.out_frames, frames(client[:client.index(segs[k])]), "OUT")
    assert res.counters["http_anomaly_cl_te"] == 1
    reason = [r for r in ("http_ambiguous", "policy") if r in res.drops]
    assert len(reason) == 1 and res.drops[reason[0]] == 1, res.drops
    assert [e["anomaly"]["layer"] for e in res.anomalies] == ["http"], res.eve
    assert res.anomalies[0]["src_ip"] == flow.client[0]
    assert_accounting(res, len(flow.packets))


def test_overlapping_ipv4_fragments_dropped(run_replay, pcap):
    req = b"GET /safe HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 120 + b"\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    seg, = flow.send(req, ack=False)
    flow.packets.append(flow.ack_packet(False))
    frags = fragment_ipv4(seg, 64)
    assert len(frags) == 3
    # A second copy of the middle fragment with other bytes: the target
    # host would keep one of the two versions, the IPS cannot know which.
    forged = frags[1].copy()
    raw = bytearray(bytes(forged))
    raw[-10:] = b"/etc/passw"
    wire_frags = [frags[0], frags[1], bytes(raw), frags[2]]
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + wire_frags + flow.packets[i + 1:]
    res = run_replay(pcap(wire))

    assert res.drops.get("frag_overlap", 0) >= 1, res.drops
    assert client_payload_stream(res.out_packets, flow.client) == b""
    assert res.summary["transactions"] == 0


def test_match_in_released_segment(run_replay, pcap):
    req = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    segs = flow.data_packets(req, segment_size=10)
    assert len(segs) == 4
    flow.packets += [segs[0], segs[2], segs[3], segs[1]]
    flow.packets.append(flow.ack_packet(False))
    res = run_replay(pcap(flow.packets))

    # segs[1] fills the gap; segs[2], released, completes the request
    # line: the URI rule drops it, and segs[3] with the blocked flow.
    client = flow.client_packets()
    assert_same_frames(res.out_frames, frames(client[:2] + segs[:2]), "OUT")
    assert res.drops["rule"] == 1
    assert_alert(res.alerts[0], 9000001, "blocked", flow.client, flow.server)
    assert res.summary["held_at_exit"] == 0
    assert_accounting(res, len(flow.packets))


def test_two_workers_keep_every_flow_whole(run_replay, pcap):
    flows = [http_session([b"GET /w/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i],
                          segment_size=7, client=("192.0.2.%d" % (40 + i), 42000 + i),
                          server=("198.51.100.%d" % (10 + i % 3), 80))
             for i in range(16)]
    wire = interleave(flows, seed=11)
    res = run_replay(pcap(wire), workers=2)

    for f in flows:
        assert_same_frames(flow_frames(res.out_frames, f.client, f.server),
                           frames(f.client_packets()), "OUT of %s" % (f.client,))
        assert_same_frames(flow_frames(res.rev_frames, f.server, f.client),
                           frames(f.server_packets()), "REV of %s" % (f.client,))
    assert res.summary["dropped"] == 0, res.drops
    assert res.summary["transactions"] == len(flows)
    assert_accounting(res, len(wire))


def test_held_segment_conflicting_with_gap_filler(run_replay, pcap):
    # C waits for the gap; the gap filler B' also covers C's first bytes
    # with different content.  Whichever the IPS keeps, the stream the
    # server gets must be one consistent version, and the conflict logged.
    req = b"GET /index.html HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    a = flow.segment(req[0:10], 0)
    c = flow.segment(req[20:30], 20)
    b_forged = flow.segment(req[10:20] + b"XXXXX", 10)
    flow.packets += [a, c, b_forged]
    res = run_replay(pcap(flow.packets))

    stream = assembled_stream(res.out_packets, flow.client)   # raises on conflict
    assert stream in (req[:30][:len(stream)],
                      (req[:20] + b"XXXXX")[:len(stream)]), stream
    assert res.drops.get("stream_overlap_mismatch") == 1, res.drops
    assert [e["anomaly"]["event"] for e in res.anomalies] == ["overlap_mismatch"]
    assert_accounting(res, len(flow.packets))


def test_segment_far_outside_window_dropped(run_replay, pcap):
    req = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    # 1.5 GiB ahead: past any window, even the largest window scale allows.
    wild = flow.segment(b"junk" * 10, 0x60000000)
    flow.packets.append(wild)
    flow.send(req)
    flow.close()
    res = run_replay(pcap(flow.packets))

    assert res.drops == {"stream_out_of_window": 1}
    expected = [p for p in flow.client_packets() if p is not wild]
    assert_same_frames(res.out_frames, frames(expected), "OUT")
    assert res.summary["held_at_exit"] == 0
    assert_accounting(res, len(flow.packets))


def test_oversized_headers_dropped(run_replay, pcap):
    # replay.conf: http_header_bytes = 16384.
    req = (b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"b" * 20000 +
           b"\r\n\r\n")
    flow = TcpFlow()
    flow.handshake()
    segs = flow.send(req, segment_size=1000)
    flow.close()
    k = 16384 // 1000            # the segment that crosses the limit
    res = run_replay(pcap(flow.packets))

    client = flow.client_packets()
    assert_same_frames(res.out_frames, frames(client[:client.index(segs[k])]), "OUT")
    reason = [r for r in ("http_header_too_long", "policy") if r in res.drops]
    assert len(reason) == 1 and res.drops[reason[0]] == 1, res.drops
    assert_accounting(res, len(flow.packets))


def test_tiny_first_fragment_never_forwarded_uninspected(run_replay, pcap):
    # RFC 1858: a first fragment too short for the TCP header hides the
    # ports and flags.  Reassembling and inspecting or dropping are both
    # safe; forwarding any fragment as it came is not.
    req = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    seg, = flow.send(req, ack=False)
    frags = fragment_ipv4(seg, 16)
    assert len(bytes(frags[0][IP].payload)) < 20
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + frags + flow.packets[i + 1:]
    res = run_replay(pcap(wire))

    for f in frags:
        assert bytes(f) not in res.out_frames
    assert client_payload_stream(res.out_packets, flow.client) == b""
    assert res.summary["dropped"] >= 1
