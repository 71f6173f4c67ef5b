"""test_overlap - a segment that rewrites inspected bytes never reaches the pod.

Evasion (DESIGN §5): show the IPS one version of the stream and the server
another by retransmitting already-inspected bytes with different content.
The forged segment must be dropped, an anomaly logged, and the server-side
stream in OUT must be exactly what was inspected.
"""

from checks import assert_accounting, assert_same_frames, frames
from tcpgen import TcpFlow, assembled_stream, client_payload_stream

REQUEST = (b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
           b"Accept: */*\r\n\r\n")


def forged_flow(forged_offset, forged_bytes):
    """Flow sending REQUEST in 8-byte segments, with a forged overlap
    injected after the third segment and before any server ACK."""
    flow = TcpFlow()
    flow.handshake()
    segs = flow.send(REQUEST, segment_size=8, ack=False)
    forged = flow.segment(forged_bytes, forged_offset)
    wire = list(flow.packets)
    wire.insert(wire.index(segs[2]) + 1, forged)
    flow.packets = wire
    flow.packets.append(flow.ack_packet(False))
    flow.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
              from_client=False)
    flow.close()
    return flow, segs, forged


def test_overlap_with_different_bytes_is_dropped(run_replay, pcap):
    # Covers inspected bytes 12..24 with other bytes, and 24..28 beyond them:
    # the whole segment goes, its new tail was never inspected either.
    forged_bytes = b"/etc/passwd HTT"[:16].ljust(16, b"X")
    assert forged_bytes != REQUEST[12:28]
    flow, segs, forged = forged_flow(12, forged_bytes)
    res = run_replay(pcap(flow.packets))

    expected = [p for p in flow.client_packets() if p is not forged]
    assert_same_frames(res.out_frames, frames(expected), "OUT")
    assert bytes(forged) not in res.out_frames
    assert client_payload_stream(res.out_packets, flow.client) == REQUEST
    assert res.drops == {"stream_overlap_mismatch": 1}
    assert_accounting(res, len(flow.packets))

    anomalies = [e for e in res.anomalies
                 if e["anomaly"]["layer"] == "stream"
                 and e["anomaly"]["event"] == "overlap_mismatch"]
    assert len(anomalies) == 1, res.eve
    assert anomalies[0]["src_ip"] == flow.client[0]
    assert anomalies[0]["src_port"] == flow.client[1]
    assert anomalies[0]["dest_ip"] == flow.server[0]
    assert anomalies[0]["dest_port"] == flow.server[1]
    assert res.alerts == []


def test_overlap_with_same_bytes_is_forwarded(run_replay, pcap):
    # The control case: the same overlap carrying the original bytes is an
    # ordinary retransmission and passes.
    flow, segs, forged = forged_flow(12, REQUEST[12:28])
    res = run_replay(pcap(flow.packets))

    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert assembled_stream(res.out_packets, flow.client) == REQUEST
    assert res.summary["dropped"] == 0, res.drops
    assert [e for e in res.anomalies
            if e["anomaly"]["event"] == "overlap_mismatch"] == []
    assert_accounting(res, len(flow.packets))
