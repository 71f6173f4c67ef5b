"""test_window - kept bytes and the window the server advertises.

The gateway keeps every client byte it forwarded until the server
acknowledges it, so that a retransmission can be checked against what
detection saw (DESIGN §5).  It lowers the window the server advertises to
the bytes one flow may keep (limits.stream_kept_bytes_per_flow, Window
Scale honoured), so a real client never has more in flight than is kept,
and a segment lost between the gateway and the server is always
recoverable.  A client that ignores the window has its extra bytes
dropped before inspection, and they pass once acknowledged.
"""

from scapy.layers.inet import TCP

from checks import assert_accounting, assert_same_frames, frames, flow_frames
from conftest import conf_variant
from tcpgen import Ether, TcpFlow, assembled_stream

MSS = 1000


def scaled_flow(client_wscale, server_wscale, mss=MSS):
    """Handshake with Window Scale options as given (None: no option)."""
    flow = TcpFlow(mss=mss)

    def opts(shift):
        return [("MSS", mss)] + ([("WScale", shift)] if shift is not None
                                 else [])
    flow.packets.append(flow.packet("S", flow.cseq, 0,
                                    options=opts(client_wscale)))
    flow.cseq += 1
    flow.packets.append(flow.packet("SA", flow.sseq, flow.cseq,
                                    from_client=False,
                                    options=opts(server_wscale)))
    flow.sseq += 1
    flow.packets.append(flow.ack_packet(True))
    return flow


def http_exchange(flow):
    flow.send(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              from_client=False)
    flow.close()


def tcp_checksum_ok(raw):
    pkt = Ether(raw)
    sent = pkt[TCP].chksum
    del pkt[TCP].chksum
    return Ether(bytes(pkt))[TCP].chksum == sent


def test_server_window_lowered_to_the_kept_budget(run_replay, pcap):
    # Both ends scale by 7: 65535 << 7 is 8 MiB; the default budget of
    # 256 KiB is 2048 units of 128 bytes.  The SYN-ACK's window is never
    # scaled (RFC 7323) and 65535 is within the budget: left alone.
    flow = scaled_flow(7, 7)
    http_exchange(flow)
    res = run_replay(pcap(flow.packets))

    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    sent = frames(flow.server_packets())
    got = flow_frames(res.rev_frames, flow.server, flow.client)
    assert len(got) == len(sent)
    for g, s in zip(got, sent):
        gp, sp = Ether(g), Ether(s)
        want = 65535 if sp[TCP].flags.S else 2048
        assert gp[TCP].window == want, (gp[TCP].flags, gp[TCP].window)
        assert tcp_checksum_ok(g)
        # nothing else changed
        gp[TCP].window, gp[TCP].chksum = sp[TCP].window, sp[TCP].chksum
        assert bytes(gp) == s
    assert res.counters["stream_window_clamped"] == len(sent) - 1
    assert res.summary["dropped"] == 0, res.drops
    assert_accounting(res, len(flow.packets))


def test_window_unscaled_when_one_end_does_not_offer(run_replay, pcap):
    # The client offered no Window Scale: neither end scales, and an
    # unscaled 65535 is within the budget.
    flow = scaled_flow(None, 7)
    http_exchange(flow)
    res = run_replay(pcap(flow.packets))

    assert_same_frames(flow_frames(res.rev_frames, flow.server, flow.client),
                       frames(flow.server_packets()), "REV")
    assert res.counters["stream_window_clamped"] == 0


def upload(flow, body_len):
    """A POST whose body goes out in MSS segments, no ACK in between;
    returns its data packets."""
    head = (b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
            % body_len)
    body = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26]
                 for i in range(body_len))
    return head + body, flow.send(head + body, ack=False)


def finish(flow):
    flow.packets.append(flow.ack_packet(False))
    flow.send(b"HTTP/1.1 204 No Content\r\n\r\n", from_client=False)
    flow.close()


def test_segment_lost_after_the_gateway_is_recovered(run_replay, pcap,
                                                     tmp_path):
    # stream_held_per_flow = 4 made the old keep budget 16 segments; the
    # client here has 48 in flight, lost the first one after the gateway
    # (the server acknowledges nothing) and retransmits it: its bytes are
    # kept, so the retransmission is checked and reaches the server.
    conf = conf_variant(tmp_path, stream_held_per_flow="4")
    flow = scaled_flow(7, 7)
    data, segs = upload(flow, 48 * MSS - 60)
    assert len(segs) == 48
    dup_ack = flow.packet("A", flow.sseq, segs[0].tag["seq"],
                          from_client=False)
    retrans = flow.segment(bytes(segs[0][TCP].payload), 0)
    flow.packets += [dup_ack, dup_ack, dup_ack, retrans]
    finish(flow)
    res = run_replay(pcap(flow.packets), conf=conf)

    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert res.summary["dropped"] == 0, res.drops
    assert res.counters["stream_retransmit_same"] == 1
    assert res.counters["stream_bytes_inspected"] == len(data)
    assert_accounting(res, len(flow.packets))


def test_bytes_beyond_the_window_wait_for_acknowledgement(run_replay, pcap,
                                                          tmp_path):
    # A client ignoring its window: with 64 KiB kept per flow, the segment
    # that would take the flow past it is dropped before inspection;
    # those after it wait in the hold; once the server acknowledges the
    # first 10 segments, its retransmission passes and releases them.
    # (1400-byte segments: 64 KiB may take 64 kept mbufs, so the bytes
    # bound is reached first.)
    conf = conf_variant(tmp_path, stream_kept_bytes_per_flow="65536",
                        stream_held_per_flow="8")
    flow = scaled_flow(7, 7, mss=1400)
    data, segs = upload(flow, 50 * 1400 - 60)
    over = [s for s in segs if s.tag["off"] + s.tag["len"] > 65536]
    assert len(over) == 50 - 46
    ack10 = flow.packet("A", flow.sseq, segs[10].tag["seq"],
                        from_client=False)
    retrans = flow.segment(bytes(over[0][TCP].payload), over[0].tag["off"])
    flow.packets += [ack10, retrans]
    finish(flow)
    res = run_replay(pcap(flow.packets), conf=conf)

    # the held ones leave behind the retransmission that released them
    sent = flow.client_packets()
    before = sent[:sent.index(over[0])]
    after = sent[sent.index(retrans) + 1:]
    expected = before + [retrans] + over[1:] + after
    assert_same_frames(res.out_frames, frames(expected), "OUT")
    assert res.drops == {"stream_kept_full": 1}
    assert [e["anomaly"]["event"] for e in res.anomalies] == ["keep_limit"]
    assert res.counters["stream_segments_held"] == len(over) - 1
    assert res.counters["stream_bytes_inspected"] == len(data)
    assert assembled_stream(res.out_packets, flow.client) == data
    assert_accounting(res, len(flow.packets))
