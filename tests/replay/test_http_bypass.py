"""test_http_bypass - request lines real servers serve, and protocol
switches, must never end inspection of a connection (issue 7).

Each test is one attacker's sequence on a keep-alive connection: a request
the gateway used to call malformed (or a CONNECT / Upgrade it used to
trust without the server's answer), then an attack.  Before the fix every
one of them either dropped the legitimate first request or let the attack
through uninspected.  The URI rule sid 9000001 (/etc/passwd, drop) must
block the attack; the legitimate bytes before it must reach the server.
"""
from checks import assert_accounting
from tcpgen import TcpFlow, client_payload_stream

PASSWD_SID = 9000001
ATTACK = b"GET /etc/passwd HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def blocked(res):
    return [a for a in res.alerts if a["alert"]["signature_id"] == PASSWD_SID
            and a["alert"]["action"] == "blocked"]


def anomalies(res, event):
    return [a for a in res.anomalies if a["anomaly"]["event"] == event]


def keepalive(first, answer=OK, then=ATTACK):
    """first request, the server's answer, then `then` on one connection.
    Returns (flow, segments of `then`)."""
    flow = TcpFlow()
    flow.handshake()
    flow.send(first)
    if answer:
        flow.send(answer, from_client=False)
    segs = flow.send(then)
    flow.close()
    return flow, segs


FIRST_REQUESTS = {
    # nginx before 1.21.1 served it with the space kept in $uri
    "space_in_target": b"GET /a b HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
    # served by nginx and Python's http.server
    "http09": b"GET /index.html\r\n",
    # nginx accepts blanks after the version
    "trailing_space": b"GET / HTTP/1.1 \r\nHost: www.example.com\r\n\r\n",
    # Python splits on tabs; Go and Python take any method token
    "tabs_lowercase": b"get\t/\tHTTP/1.1\r\nHost: www.example.com\r\n\r\n",
    # Python skips leading blanks
    "leading_blank": b" \r\n GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
}


def test_served_request_line_does_not_end_inspection(run_replay, pcap):
    for name, first in FIRST_REQUESTS.items():
        flow, segs = keepalive(first)
        res = run_replay(pcap(flow.packets, name=name + ".pcap"))

        assert blocked(res), (name, res.eve)
        stream = client_payload_stream(res.out_packets, flow.client)
        assert stream == first, (name, stream)
        assert res.counters["http_anomaly_bad_request"] == 0, name
        assert_accounting(res, len(flow.packets))


def test_attack_in_a_lenient_request_line_is_seen(run_replay, pcap):
    attacks = [
        b"GET /x y/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /etc/passwd\r\n",
        b"get http://evil.example/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET\t/etc/passwd\tHTTP/1.1\t\r\nHost: a\r\n\r\n",
        b"GET /etc/passwd HTTP/1.1234\r\nHost: a\r\n\r\n",
    ]
    for i, attack in enumerate(attacks):
        flow = TcpFlow()
        flow.handshake()
        seg, = flow.send(attack)
        flow.close()
        res = run_replay(pcap(flow.packets, name="a%d.pcap" % i))

        assert blocked(res), (attack, res.eve)
        assert bytes(seg) not in res.out_frames, attack


def test_upgrade_refused_keeps_inspection(run_replay, pcap):
    # The server refused the upgrade: the client's next bytes are a request
    # to it.  Before, any byte that was not an upper-case letter after an
    # Upgrade header ended inspection quietly.
    upgrade = (b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\n\r\n")
    refused = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    flow, segs = keepalive(upgrade, refused,
                           b"get /etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
    res = run_replay(pcap(flow.packets))

    assert blocked(res), res.eve
    assert res.counters["http_tunnel_opened"] == 0
    assert client_payload_stream(res.out_packets, flow.client) == upgrade


def test_upgrade_answered_101_opens_a_counted_tunnel(run_replay, pcap):
    upgrade = (b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\n\r\n")
    switching = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\n\r\n")
    frames = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
    flow, segs = keepalive(upgrade, switching, frames)
    res = run_replay(pcap(flow.packets))

    assert client_payload_stream(res.out_packets, flow.client) == \
        upgrade + frames
    assert res.counters["http_tunnel_opened"] == 1
    assert anomalies(res, "tunnel_open"), res.eve
    assert res.drops == {}, res.drops
    assert_accounting(res, len(flow.packets))


def test_connect_data_before_the_answer_is_dropped(run_replay, pcap):
    # A TLS hello right after CONNECT, before the proxy said 200: to a
    # server that refuses CONNECT it is the next "request".
    connect = b"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n"
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32
    flow, segs = keepalive(connect, None, hello)
    res = run_replay(pcap(flow.packets))

    assert bytes(segs[0]) not in res.out_frames
    assert res.drops.get("http_malformed") == 1, res.drops
    assert anomalies(res, "policy_drop"), res.eve


def test_connect_answered_2xx_opens_a_counted_tunnel(run_replay, pcap):
    connect = b"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n"
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32
    flow, segs = keepalive(connect, b"HTTP/1.1 200 Connection established"
                           b"\r\n\r\n", hello)
    res = run_replay(pcap(flow.packets))

    assert client_payload_stream(res.out_packets, flow.client) == \
        connect + hello
    assert res.counters["http_tunnel_opened"] == 1
    assert res.drops == {}, res.drops


def test_not_http_on_http_port_is_dropped_by_default(run_replay, pcap):
    flow = TcpFlow()
    flow.handshake()
    seg, = flow.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    flow.send(ATTACK)
    res = run_replay(pcap(flow.packets))

    assert bytes(seg) not in res.out_frames
    assert res.drops.get("http_malformed") == 1, res.drops
    assert client_payload_stream(res.out_packets, flow.client) == b""
    assert_accounting(res, len(flow.packets))


def test_bypass_is_an_explicit_counted_choice(run_replay, pcap, tmp_path):
    from conftest import conf_variant
    conf = conf_variant(tmp_path, http_malformed='"bypass"')
    flow = TcpFlow()
    flow.handshake()
    junk = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    flow.send(junk)
    res = run_replay(pcap(flow.packets), conf=conf)

    assert client_payload_stream(res.out_packets, flow.client) == junk
    assert res.counters["http_bypass_malformed"] == 1
    assert anomalies(res, "malformed_bypass"), res.eve
    assert_accounting(res, len(flow.packets))


def test_every_bypass_policy_is_counted_and_logged(run_replay, pcap, tmp_path):
    """The operator may choose bypass for a missed handshake or a full
    hold queue: each is counted under its own name and leaves its own EVE
    anomaly, so no flow goes uninspected unseen.  A full transaction pool
    evicts the request stalled longest instead (its bypass is the last
    resort when nothing can be evicted: test_http.c test_pool_bypass)."""
    from conftest import conf_variant

    mid = TcpFlow(client=("192.0.2.40", 41000))
    mid.cseq += 1
    mid.sseq += 1
    mid.send(b"GET /mid HTTP/1.1\r\nHost: h\r\n\r\n")

    hold = TcpFlow(client=("192.0.2.41", 41001))
    hold.handshake()
    req = b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    segs = hold.data_packets(req, segment_size=8)
    hold.packets += segs[1:] + [segs[0]]         # 3 held, the rest bypass

    # the hold flow's unfinished request and pool[0]'s take both
    # transactions; pool[1] and pool[2] take the places of the oldest
    pool = []
    for i in range(3):
        f = TcpFlow(client=("192.0.2.%d" % (50 + i), 42000 + i))
        f.handshake()
        f.send(b"GET /slow-%d HTTP/1.1\r\nHost: h\r\n" % i)
        pool.append(f)

    conf = conf_variant(tmp_path, midstream='"bypass"',
                        stream_hold_full='"bypass"', http_txn_full='"bypass"',
                        stream_held_per_flow="3", http_transactions="2")
    wire = mid.packets + hold.packets + [p for f in pool for p in f.packets]
    res = run_replay(pcap(wire), conf=conf)

    c = res.counters
    assert c["flow_midstream_bypass"] == 1, c
    assert c["stream_hold_bypass"] > 0, c
    assert c["http_txn_evicted"] == 2, c
    assert c["http_bypass_txn_pool_full"] == 0, c
    assert res.drops == {}, res.drops
    events = {(a["anomaly"]["layer"], a["anomaly"]["event"])
              for a in res.anomalies}
    assert {("flow", "midstream_bypass"), ("stream", "hold_limit_bypass"),
            ("http", "txn_evicted")} <= events, events
    assert_accounting(res, len(wire))
