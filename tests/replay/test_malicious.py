"""test_malicious - verdicts stop a flow at the packet that completes a match.

The rules are tests/replay/test.rules.  For a request whose matching data
completes in client data packet k, OUT must hold the flow's client frames
before k and none from k on (DESIGN §5: the pod never receives a complete
malicious request), and EVE must name the rule and the flow.
"""

from scapy.layers.inet import TCP

from checks import (assert_accounting, assert_alert, assert_same_frames,
                    frames, is_rst)
from tcpgen import (Ether, TcpFlow, client_payload_stream, fragment_ipv4_at,
                    payload_stream, tcp_payload)

SID_URI_PASSWD = 9000001
SID_UA_SCANNER = 9000002
SID_BODY_REJECT = 9000003
SID_BODY_DROP = 9000004
SID_HEADER_ATTACK = 9000005


def completing_packet(segs, stream_offset):
    """Index in segs of the data packet carrying stream byte stream_offset."""
    for i, s in enumerate(segs):
        if s.tag["off"] <= stream_offset < s.tag["off"] + s.tag["len"]:
            return i
    raise AssertionError("offset %d not in any segment" % stream_offset)


def blocked_flow(request, segment_size, **flowkw):
    """Handshake, the request (no server reply: it must never see it whole),
    a late server ACK and a client FIN, which must be blocked too."""
    flow = TcpFlow(**flowkw)
    flow.handshake()
    segs = flow.send(request, segment_size=segment_size)
    flow.packets.append(flow.packet("FA", flow.cseq, flow.sseq))
    return flow, segs


def assert_cut_at(res, flow, segs, k):
    """OUT holds the client frames before segs[k] and none after."""
    client = flow.client_packets()
    cut = client.index(segs[k])
    data_out = [f for f in res.out_frames if not is_rst(f)]
    assert_same_frames(data_out, frames(client[:cut]), "OUT")
    for later in client[cut:]:
        assert bytes(later) not in res.out_frames


def headers_end(request):
    return request.index(b"\r\n\r\n") + 3


def line_end(request):
    """Offset of the request line's LF: a rule on the line's buffers is
    decided with the packet carrying it (Suricata: HTP_REQUEST_LINE)."""
    return request.index(b"\r\n") + 1


def test_uri_rule_drops_at_packet_completing_request_line(run_replay, pcap):
    """A URI rule is decided once the request line is complete, as in
    Suricata: the head need not end for the attack to be cut."""
    body = b"a=" + b"b" * 60
    req = (b"POST /cgi/../etc/passwd HTTP/1.1\r\nHost: victim.example\r\n"
           b"User-Agent: curl/8.0\r\nContent-Length: %d\r\n\r\n" % len(body)
           + body)
    flow, segs = blocked_flow(req, 16)
    k = completing_packet(segs, line_end(req))
    assert 0 < k < len(segs) - 1      # packets before and after the cut
    res = run_replay(pcap(flow.packets))

    assert_cut_at(res, flow, segs, k)
    assert client_payload_stream(res.out_packets, flow.client) == \
        req[:segs[k].tag["off"]]
    # Only the SYN-ACK reached the client side: the late ACK is blocked.
    assert_same_frames(res.rev_frames, frames(flow.server_packets()[:1]), "REV")
    assert res.drops == {"rule": 1,
                         "flow_blocked": len(flow.packets) - 3 - k - 1}
    assert_accounting(res, len(flow.packets))
    assert len(res.alerts) == 1
    alert = res.alerts[0]
    assert_alert(alert, SID_URI_PASSWD, "blocked", flow.client, flow.server)
    assert alert["alert"]["rev"] == 1
    assert alert["alert"]["signature"] == "TEST passwd file read in URI"
    assert alert["alert"]["category"] in ("attempted-recon",
                                          "Attempted Information Leak")
    assert alert["alert"]["severity"] == 2
    assert alert["http"]["url"] in ("/cgi/../etc/passwd", "/etc/passwd")
    assert alert["http"]["http_method"] == "POST"
    # the headers had not come: no host or user agent to log
    assert alert["http"].get("hostname", "") == ""
    assert alert["http"].get("http_user_agent", "") == ""


def test_uri_rule_decided_with_the_head_in_one_packet(run_replay, pcap):
    """A head whole in one packet: every rule decided on it together, the
    alert's record with the request's headers."""
    req = (b"GET /cgi/../etc/passwd HTTP/1.1\r\nHost: victim.example\r\n"
           b"User-Agent: curl/8.0\r\n\r\n")
    flow, segs = blocked_flow(req, len(req))
    res = run_replay(pcap(flow.packets))

    assert_cut_at(res, flow, segs, 0)
    alert = next(a for a in res.alerts
                 if a["alert"]["signature_id"] == SID_URI_PASSWD)
    assert alert["http"]["hostname"] == "victim.example"
    assert alert["http"]["http_user_agent"] == "curl/8.0"
    assert res.summary["alerts"] == 1


def test_header_rule_drops_ipv6_flow(run_replay, pcap):
    req = (b"GET /ok HTTP/1.1\r\nHost: h\r\nX-Attack: yes\r\n"
           b"Accept: */*\r\n\r\n")
    flow, segs = blocked_flow(req, 7, ipv6=True, client=("2001:db8::77", 45000),
                              server=("2001:db8:1::80", 8080))
    k = completing_packet(segs, headers_end(req))
    assert k == len(segs) - 1
    res = run_replay(pcap(flow.packets))

    assert_cut_at(res, flow, segs, k)
    assert res.drops["rule"] == 1
    assert len(res.alerts) == 1
    assert_alert(res.alerts[0], SID_HEADER_ATTACK, "blocked",
                 ("2001:db8::77", 45000), ("2001:db8:1::80", 8080))
    assert res.alerts[0]["alert"]["rev"] == 3
    assert_accounting(res, len(flow.packets))


def test_alert_rule_lets_flow_pass(run_replay, pcap):
    req = (b"GET /robots.txt HTTP/1.1\r\nHost: h\r\n"
           b"User-Agent: Mozilla/5.0 (evilscanner 2.1)\r\n\r\n")
    flow = TcpFlow(client=("192.0.2.55", 50123))
    flow.handshake()
    flow.send(req, segment_size=11)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", from_client=False)
    flow.close()
    res = run_replay(pcap(flow.packets))

    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert_same_frames(res.rev_frames, frames(flow.server_packets()), "REV")
    assert res.summary["dropped"] == 0, res.drops
    assert len(res.alerts) == 1
    assert_alert(res.alerts[0], SID_UA_SCANNER, "allowed", flow.client, flow.server)
    assert res.alerts[0]["alert"]["rev"] == 2
    assert res.alerts[0]["http"]["http_user_agent"] == \
        "Mozilla/5.0 (evilscanner 2.1)"
    assert_accounting(res, len(flow.packets))


def test_reject_body_rule_sends_rsts(run_replay, pcap):
    body = b"comment=" + b"z" * 37 + b"REJECT-THIS-BODY" + b"&tail=" + b"t" * 30
    req_head = (b"POST /form HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
    flow = TcpFlow(client_isn=0xfffffff0)   # sequence numbers wrap
    flow.handshake()
    flow.send(req_head, segment_size=20)
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    flow.send(cont, from_client=False)
    segs = flow.send(body, segment_size=12)
    flow.packets.append(flow.packet("FA", flow.cseq, flow.sseq))
    last = len(req_head) + body.index(b"REJECT-THIS-BODY") + 15
    k = completing_packet(segs, last)
    assert 0 < k < len(segs) - 1
    res = run_replay(pcap(flow.packets))

    client = flow.client_packets()
    cut = client.index(segs[k])
    rst_out = [f for f in res.out_frames if is_rst(f)]
    data_out = [f for f in res.out_frames if not is_rst(f)]
    assert_same_frames(data_out, frames(client[:cut]), "OUT (without RST)")

    # The server must accept the RST: seq is exactly what it expects next
    # from the client, i.e. the first byte it never received (RFC 5961).
    assert len(rst_out) == 1, [Ether(f).summary() for f in rst_out]
    to_server = Ether(rst_out[0])
    assert (to_server["IP"].src, to_server[TCP].sport) == flow.client
    assert (to_server["IP"].dst, to_server[TCP].dport) == flow.server
    assert to_server[TCP].seq == segs[k].tag["seq"] & 0xffffffff
    assert tcp_payload(to_server) == b""

    # Toward the client: the server's next sequence number after 100-continue.
    rst_rev = [f for f in res.rev_frames if is_rst(f)]
    assert len(rst_rev) == 1
    to_client = Ether(rst_rev[0])
    assert (to_client["IP"].src, to_client[TCP].sport) == flow.server
    assert (to_client["IP"].dst, to_client[TCP].dport) == flow.client
    assert to_client[TCP].seq == flow.server_isn + 1 + len(cont)
    rev_data = [f for f in res.rev_frames if not is_rst(f)]
    assert payload_stream([Ether(f) for f in rev_data], flow.server) == cont

    assert res.drops["rule"] == 1
    assert res.counters["verdict_rst_sent"] == 2
    assert len(res.alerts) == 1
    assert_alert(res.alerts[0], SID_BODY_REJECT, "blocked", flow.client, flow.server)
    assert_accounting(res, len(flow.packets))


def test_chunked_body_rule_sees_dechunked_bytes(run_replay, pcap):
    # The marker is split across two chunks: only the de-chunked body has it.
    chunks = [b"x" * 30 + b"DROP-TH", b"IS-BODY" + b"y" * 20, b"more-data"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    req = head + body
    flow, segs = blocked_flow(req, 10)
    last = req.index(b"IS-BODY") + 6
    k = completing_packet(segs, last)
    assert k < len(segs) - 1
    res = run_replay(pcap(flow.packets))

    assert_cut_at(res, flow, segs, k)
    assert res.drops["rule"] == 1
    assert [a["alert"]["signature_id"] for a in res.alerts] == [SID_BODY_DROP]
    assert_alert(res.alerts[0], SID_BODY_DROP, "blocked", flow.client, flow.server)
    assert_accounting(res, len(flow.packets))


def test_drop_in_second_keepalive_request_spares_first(run_replay, pcap):
    first = b"GET /fine HTTP/1.1\r\nHost: h\r\n\r\n"
    # Only the normalized URI holds the pattern: %70 is 'p'.
    second = b"GET /x/../etc/%70asswd HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    flow.send(first, segment_size=8)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", from_client=False)
    segs = flow.send(second, segment_size=8)
    flow.close()
    k = completing_packet(segs, len(first) + line_end(second))
    res = run_replay(pcap(flow.packets))

    assert_cut_at(res, flow, segs, k)
    assert client_payload_stream(res.out_packets, flow.client) == \
        first + second[:segs[k].tag["off"] - len(first)]
    assert len(res.alerts) == 1
    assert_alert(res.alerts[0], SID_URI_PASSWD, "blocked", flow.client, flow.server)
    assert_accounting(res, len(flow.packets))


def test_reject_rst_to_client_follows_unacked_server_data(run_replay, pcap):
    # The client streams its body without waiting for 100-continue, so the
    # server's 100 Continue is on its way but not yet acknowledged when the
    # rejected packet passes.  The client will have received it, so its
    # RST must carry the server's next sequence number, not the client's
    # last ACK (RFC 5961 ignores a RST whose seq is not exactly RCV.NXT).
    body = b"p=" + b"q" * 20 + b"REJECT-THIS-BODY" + b"r" * 10
    head = (b"POST /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    flow = TcpFlow(server_isn=0xfffffffe)
    flow.handshake()
    flow.send(head)
    segs = flow.data_packets(body, segment_size=16)
    k = completing_packet(segs, len(head) + body.index(b"REJECT") + 15)
    assert k > 0
    flow.packets += segs[:k]
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    flow.send(cont, from_client=False, ack=False)
    flow.packets += segs[k:]
    res = run_replay(pcap(flow.packets))

    rst_rev = [Ether(f) for f in res.rev_frames if is_rst(f)]
    assert len(rst_rev) == 1
    assert rst_rev[0][TCP].seq == (flow.server_isn + 1 + len(cont)) & 0xffffffff
    rst_out = [Ether(f) for f in res.out_frames if is_rst(f)]
    assert len(rst_out) == 1
    assert rst_out[0][TCP].seq == segs[k].tag["seq"] & 0xffffffff
    assert payload_stream([Ether(f) for f in res.rev_frames], flow.server) == cont
    assert_alert(res.alerts[0], SID_BODY_REJECT, "blocked", flow.client, flow.server)


# A drop on the URI, a pass on a header; a request each matches.
PASS_OVER_DROP = (
    'drop http any any -> any any (msg:"passwd"; flow:to_server,established; '
    'http.uri; content:"/etc/passwd"; sid:7001; rev:1;)\n'
    'pass http any any -> any any (msg:"trusted scanner"; '
    'flow:to_server,established; http.header; content:"X-Trusted|3a| yes"; '
    'sid:7002; rev:1;)\n')
TRUSTED = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\nX-Trusted: yes\r\n\r\n"


def test_pass_rule_overrides_drop(run_replay, pcap, rules_file, tmp_path):
    # Suricata's action order: a matching pass rule hides the drop rule of
    # the same transaction decided with it; the next transaction is judged
    # afresh.  Each head comes whole in one packet: split, the URI's drop
    # would be decided with its request line, before the pass rule's
    # header came (Suricata's progress order, test_request_line_decided_
    # before_a_header_pass).
    rules = rules_file(tmp_path, PASS_OVER_DROP)
    untrusted = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    flow.send(TRUSTED)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", from_client=False)
    segs = flow.send(untrusted)
    flow.close()
    res = run_replay(pcap(flow.packets), rules=rules)

    assert_cut_at(res, flow, segs, len(segs) - 1)
    assert client_payload_stream(res.out_packets, flow.client).startswith(TRUSTED)
    assert [a["alert"]["signature_id"] for a in res.alerts] == [7001]
    assert res.drops["rule"] == 1
    assert_accounting(res, len(flow.packets))


def test_request_line_decided_before_a_header_pass(run_replay, pcap,
                                                   rules_file, tmp_path):
    """Suricata inspects http.uri at the request line's progress: with
    the head split, the drop on the URI is decided with the line, and a
    pass rule on a header that comes later cannot undo it."""
    rules = rules_file(tmp_path, PASS_OVER_DROP)
    flow, segs = blocked_flow(TRUSTED, 20)
    res = run_replay(pcap(flow.packets), rules=rules)

    assert_cut_at(res, flow, segs, completing_packet(segs, line_end(TRUSTED)))
    assert [a["alert"]["signature_id"] for a in res.alerts] == [7001]


def test_attack_split_across_ip_fragments(run_replay, pcap):
    # No single fragment holds the pattern: only reassembly shows it.  The
    # first fragment holds the whole TCP header and "GET ", the second
    # "/etc/pas", the last the rest, and they arrive last first.
    req = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n"
    flow = TcpFlow()
    flow.handshake()
    seg, = flow.send(req, ack=False)
    frags = fragment_ipv4_at(seg, [24, 32])[::-1]
    assert not any(b"/etc/passwd" in bytes(f) for f in frags)
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + frags + flow.packets[i + 1:]
    res = run_replay(pcap(wire))

    assert client_payload_stream(res.out_packets, flow.client) == b""
    assert res.drops.get("rule", 0) >= 1, res.drops
    assert [a["alert"]["signature_id"] for a in res.alerts] == [SID_URI_PASSWD]
    assert_alert(res.alerts[0], SID_URI_PASSWD, "blocked", flow.client, flow.server)
