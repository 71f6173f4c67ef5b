"""test_raw_stream - raw-stream rules (tcp, or content with no sticky
buffer) on any TCP protocol, in each direction, a full raw/body stream
pool (the holder stalled longest gives up its stream), and
policy.detect_error for bytes detection could not inspect (Hyperscan
scan error).

The rules are this file's own (RAW_RULES); pool sizes and policies come
from conf_variant copies of replay.conf.  Scan errors are injected with
tests/tools/hsfault.c, preloaded: any scan of data holding MARKER fails.
"""

from scapy.layers.inet import IP, TCP

from checks import (assert_accounting, assert_alert, assert_no_drops,
                    assert_same_frames, frames)
from conftest import conf_variant, hsfault_env
from tcpgen import TcpFlow, client_payload_stream, interleave, payload_stream

RAW_RULES = """\
drop tcp any any -> any 6379 (msg:"TEST redis CONFIG SET"; flow:to_server,established; content:"CONFIG"; nocase; content:"SET"; nocase; sid:9100001; rev:1;)
drop tcp any any -> any 6379 (msg:"TEST redis SLAVEOF first"; content:"SLAVEOF"; depth:7; sid:9100002; rev:1;)
drop tcp any any -> any 80 (msg:"TEST raw on an HTTP port"; content:"raw-evil"; sid:9100003; rev:1;)
alert tcp any any -> any 2375 (msg:"TEST docker create"; content:"/containers/create"; sid:9100004; rev:1;)
"""

REDIS = ("192.0.2.10", 40000), ("198.51.100.10", 6379)
ATTACK = (b"*4\r\n$6\r\nconfig\r\n$3\r\nset\r\n$3\r\ndir\r\n"
          b"$4\r\n/tmp\r\n")
BENIGN = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
MARKER = "HSFAULT-MARKER"


def redis_flow(payload, segment_size, client=REDIS[0], server=REDIS[1],
               reply=b"+OK\r\n"):
    """Handshake, payload in segments, a reply, close; returns the flow and
    its client data packets."""
    flow = TcpFlow(client=client, server=server)
    flow.handshake()
    data = flow.send(payload, segment_size=segment_size)
    flow.send(reply, from_client=False)
    flow.close()
    return flow, data


def after(flow, pkt):
    """Packets of flow (both directions) after pkt: a blocked flow's."""
    return len(flow.packets) - flow.packets.index(pkt) - 1


def rules(rules_file, tmp_path):
    return rules_file(tmp_path, RAW_RULES, "raw.rules")


def test_split_payload_dropped_at_completing_packet(run_replay, pcap,
                                                     rules_file, tmp_path):
    seg = 5
    flow, data = redis_flow(ATTACK, seg)
    # "CONFIG" then "SET": the rule completes with the T of "set".
    done = (ATTACK.index(b"set") + 3 - 1) // seg
    res = run_replay(pcap(flow.packets), rules=rules(rules_file, tmp_path))

    client = flow.client_packets()
    before = client[:client.index(data[done])]
    assert_same_frames(res.out_frames, frames(before), "OUT")
    assert res.drops == {"rule": 1,
                         "flow_blocked": after(flow, data[done])}, res.drops
    assert len(res.alerts) == 1, res.eve
    assert_alert(res.alerts[0], 9100001, "blocked", flow.client, flow.server)
    assert res.alerts[0]["alert"]["signature"] == "TEST redis CONFIG SET"
    assert res.summary["transactions"] == 0     # not HTTP: raw path only
    assert_accounting(res, len(flow.packets))


def test_benign_flows_and_port_and_depth_constraints(run_replay, pcap,
                                                     rules_file, tmp_path):
    benign, _ = redis_flow(BENIGN, 4)
    # the attack bytes, but to another port: the rule header says 6379
    other, _ = redis_flow(ATTACK, 7, client=("192.0.2.11", 40001),
                          server=("198.51.100.10", 6380))
    # SLAVEOF past the first 7 bytes of the stream: depth is of the stream
    late, _ = redis_flow(b"PING\r\nSLAVEOF 203.0.113.5 6379\r\n", 3,
                         client=("192.0.2.12", 40002))
    packets = interleave([benign.packets, other.packets, late.packets])
    res = run_replay(pcap(packets), rules=rules(rules_file, tmp_path))

    assert_no_drops(res)
    assert res.alerts == [], res.alerts
    for flow in (benign, other, late):
        assert client_payload_stream(res.out_packets, flow.client) == \
            client_payload_stream(flow.packets, flow.client)
    assert_accounting(res, len(packets))


def test_depth_from_stream_start_split(run_replay, pcap, rules_file,
                                       tmp_path):
    flow, data = redis_flow(b"SLAVEOF 203.0.113.5 6379\r\n", 3)
    res = run_replay(pcap(flow.packets), rules=rules(rules_file, tmp_path))

    client = flow.client_packets()
    # S L A | V E O | F: the third segment completes "SLAVEOF"
    assert_same_frames(res.out_frames, frames(client[:client.index(data[2])]),
                       "OUT")
    assert [a["alert"]["signature_id"] for a in res.alerts] == [9100002]
    assert res.drops["rule"] == 1
    assert_accounting(res, len(flow.packets))


def test_raw_rule_on_http_flow_and_alert_only(run_replay, pcap, rules_file,
                                              tmp_path):
    web = TcpFlow(client=("192.0.2.20", 41000), server=("198.51.100.20", 80))
    web.handshake()
    wdata = web.send(b"GET /a HTTP/1.1\r\nHost: h\r\nX-Note: raw-", 20)
    wdata += web.send(b"evil\r\n\r\n", 20)
    web.close()
    docker = TcpFlow(client=("192.0.2.21", 41001),
                     server=("198.51.100.21", 2375))
    docker.handshake()
    docker.send(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
                b"Content-Length: 2\r\n\r\n{}", 16)
    docker.close()
    packets = web.packets + docker.packets
    res = run_replay(pcap(packets), rules=rules(rules_file, tmp_path))

    sids = sorted(a["alert"]["signature_id"] for a in res.alerts)
    assert sids == [9100003, 9100004], res.alerts
    # the drop on port 80 came from the raw path, at the "evil" segment
    wclient = web.client_packets()
    assert [f for f in res.out_frames if f in frames(wclient)] == \
        frames(wclient[:wclient.index(wdata[-1])])
    # alert only: the docker flow passes whole
    assert client_payload_stream(res.out_packets, docker.client) == \
        client_payload_stream(docker.packets, docker.client)
    assert res.drops["rule"] == 1
    assert_accounting(res, len(packets))


def two_flows_second_starved(first_payload, second_payload):
    """Flow A opens and sends its first bytes; then flow B runs whole while
    A is still open; then A finishes.  With one raw stream, B gets none."""
    a = TcpFlow(client=("192.0.2.30", 42000), server=REDIS[1])
    b = TcpFlow(client=("192.0.2.31", 42001), server=REDIS[1])
    a.handshake()
    a.send(first_payload[:6])
    b.handshake()
    bdata = b.send(second_payload, segment_size=8)
    b.close()
    a.send(first_payload[6:])
    a.close()
    return a, b, bdata, a.packets[:5] + b.packets + a.packets[5:]


def detect_events(res):
    return [e["anomaly"]["event"] for e in res.anomalies
            if e["anomaly"]["layer"] == "detect"]


def assert_reset_both_ways(res, flow):
    """RST|ACK from the client to the server on OUT and from the server to
    the client on REV, for flow's addresses."""
    def resets(packets, src, dst):
        return [p for p in packets if TCP in p and p[TCP].flags.R and
                p[IP].src == src[0] and p[TCP].sport == src[1] and
                p[IP].dst == dst[0] and p[TCP].dport == dst[1]]
    assert len(resets(res.out_packets, flow.client, flow.server)) == 1
    assert len(resets(res.rev_packets, flow.server, flow.client)) == 1


def test_raw_pool_full_evicts_the_stalled_flow(run_replay, pcap, rules_file,
                                                tmp_path):
    """One raw stream: A holds it and stalls, B needs one.  B is served
    (inspected); A, the holder stalled longest, loses its stream and its
    connection, reset both ways (DESIGN §9)."""
    a, b, bdata, packets = two_flows_second_starved(BENIGN, BENIGN)
    conf = conf_variant(tmp_path, raw_streams="1")
    res = run_replay(pcap(packets), rules=rules(rules_file, tmp_path),
                     conf=conf)

    assert res.counters["detect_raw_stream_evicted"] == 1
    assert res.counters["detect_raw_pool_full"] == 0
    # A's packets after its eviction have no flow: dropped as mid-stream
    assert res.drops == {"flow_midstream": len(a.packets) - 5}, res.drops
    assert detect_events(res) == ["raw_stream_evicted"], res.anomalies
    assert [e["src_ip"] for e in res.anomalies] == [a.client[0]]
    assert_reset_both_ways(res, a)
    assert client_payload_stream(res.out_packets, b.client) == BENIGN
    assert client_payload_stream(res.out_packets, a.client) == BENIGN[:6]
    assert_accounting(res, len(packets))


def test_raw_stream_newcomer_is_inspected(run_replay, pcap, rules_file,
                                           tmp_path):
    """The newcomer that took a stalled flow's raw stream is inspected from
    its first byte: its attack is dropped."""
    a, b, bdata, packets = two_flows_second_starved(BENIGN, ATTACK)
    conf = conf_variant(tmp_path, raw_streams="1")
    res = run_replay(pcap(packets), rules=rules(rules_file, tmp_path),
                     conf=conf)

    assert res.counters["detect_raw_stream_evicted"] == 1
    assert res.counters["drop_rule"] == 1
    assert ATTACK not in client_payload_stream(res.out_packets, b.client)
    assert_accounting(res, len(packets))


def scan_error_flow():
    payload = b"PING\r\n" + MARKER.encode() + b"\r\nPING\r\n"
    flow = TcpFlow(client=REDIS[0], server=REDIS[1])
    flow.handshake()
    data = flow.send(payload[:6])
    data += flow.send(payload[6:6 + len(MARKER) + 2])
    data += flow.send(payload[6 + len(MARKER) + 2:])
    flow.close()
    return flow, data


def test_scan_error_drop(run_replay, pcap, rules_file, tmp_path):
    flow, data = scan_error_flow()
    res = run_replay(pcap(flow.packets), rules=rules(rules_file, tmp_path),
                     env=hsfault_env(MARKER))

    client = flow.client_packets()
    assert_same_frames(res.out_frames, frames(client[:client.index(data[1])]),
                       "OUT")
    assert res.drops == {"detect_scan_error": 1,
                         "flow_blocked": after(flow, data[1])}, res.drops
    assert res.counters["detect_scan_errors"] == 1
    assert detect_events(res) == ["scan_error"], res.anomalies
    assert_accounting(res, len(flow.packets))


def test_scan_error_bypass(run_replay, pcap, rules_file, tmp_path):
    flow, data = scan_error_flow()
    conf = conf_variant(tmp_path, detect_error='"bypass"')
    res = run_replay(pcap(flow.packets), rules=rules(rules_file, tmp_path),
                     conf=conf, env=hsfault_env(MARKER))

    assert_no_drops(res)
    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    # the stream lost its state: every later byte is uninspected too
    assert res.counters["bypass_detect_scan_error"] == 2
    assert detect_events(res) == ["scan_error"] * 2, res.anomalies
    assert_accounting(res, len(flow.packets))


def test_http_header_scan_error_is_not_a_rule_drop(run_replay, pcap):
    """The HTTP path's scan errors go through the same policy (default
    rules, no raw rule): counted as drop_detect_scan_error, not drop_rule."""
    flow = TcpFlow()
    flow.handshake()
    data = flow.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: " +
                     MARKER.encode() + b"\r\n\r\n")
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
              from_client=False)
    flow.close()
    res = run_replay(pcap(flow.packets), env=hsfault_env(MARKER))

    client = flow.client_packets()
    assert_same_frames(res.out_frames, frames(client[:client.index(data[0])]),
                       "OUT")
    assert res.drops.get("rule") is None, res.drops
    assert res.drops["detect_scan_error"] == 1, res.drops
    assert detect_events(res) == ["scan_error"], res.anomalies
    assert_accounting(res, len(flow.packets))


def test_body_pool_full_evicts_the_stalled_body(run_replay, pcap, tmp_path):
    """Two bodies at once with one body stream (default rules have body
    rules): the second takes the stream of the first, whose body stalled,
    and is inspected whole; the first is reset both ways."""
    def post(client):
        flow = TcpFlow(client=client)
        flow.handshake()
        head = flow.send(b"POST /u HTTP/1.1\r\nHost: h\r\n"
                         b"Content-Length: 8\r\n\r\n")
        body = flow.send(b"abcd") + flow.send(b"efgh")
        return flow, head, body
    a, _, _ = post(("192.0.2.40", 43000))
    b, _, bbody = post(("192.0.2.41", 43001))
    # a's body is in progress (holds the stream) while b's body arrives
    packets = (a.packets[:7] + b.packets + a.packets[7:])
    conf = conf_variant(tmp_path, body_streams="1")
    res = run_replay(pcap(packets), conf=conf)

    assert res.counters["detect_body_stream_evicted"] == 1
    assert res.counters["detect_stream_pool_full"] == 0
    assert res.drops == {"flow_midstream": len(a.packets) - 7}, res.drops
    assert detect_events(res) == ["body_stream_evicted"]
    assert_reset_both_ways(res, a)
    assert client_payload_stream(res.out_packets, b.client).endswith(
        b"abcdefgh")
    assert res.counters["drop_rule"] == 0
    assert_accounting(res, len(packets))


# An ET-shaped MSSQL rule: contents placed relative to each other and a
# back-reference, which Hyperscan cannot decide alone: decided on the
# stream's window, across segments.
WINDOW_RULES = """\
drop tcp any any -> any 1433 (msg:"TEST xp_cmdshell relative"; flow:to_server,established; content:"exec"; nocase; content:"xp_cmdshell"; nocase; distance:0; within:24; pcre:"/^\\s*'(\\w+)'\\s*,\\s*'\\1'/R"; sid:9100010; rev:1;)
"""
MSSQL = ("192.0.2.20", 40100), ("198.51.100.10", 1433)


def test_window_rule_split_and_its_negative_cases(run_replay, pcap,
                                                  rules_file, tmp_path):
    attack = b"x; EXEC master..xp_cmdshell 'dir', 'dir'\r\n"
    far = b"x; EXEC " + b"." * 40 + b"xp_cmdshell 'dir', 'dir'\r\n"
    other = b"x; EXEC master..xp_cmdshell 'dir', 'del'\r\n"
    flows = []
    for i, payload in enumerate((attack, far, other)):
        flow, data = redis_flow(payload, 6,
                                client=("192.0.2.%d" % (20 + i), 40100),
                                server=MSSQL[1], reply=b"\x04\x01")
        flows.append((flow, data))
    wire = [p for f, _ in flows for p in f.packets]
    res = run_replay(pcap(wire),
                     rules=rules_file(tmp_path, WINDOW_RULES, "w.rules"))
    assert len(res.alerts) == 1, res.eve
    assert_alert(res.alerts[0], 9100010, "blocked", flows[0][0].client,
                 flows[0][0].server)
    # blocked at the segment carrying the second 'dir' (its last byte)
    flow = flows[0][0]
    done = (attack.rindex(b"'dir'") + 4) // 6
    assert res.drops["rule"] == 1, res.drops
    for f, _ in flows[1:]:
        assert client_payload_stream(res.out_packets, f.client) == \
            b"".join(bytes(p[TCP].payload) for p in f.client_packets())
    assert client_payload_stream(res.out_packets, flow.client) == \
        attack[:done * 6]
    assert res.counters["detect_raw_window_passed"] == 0
    assert_accounting(res, len(wire))


SERVER_RULES = """\
drop tcp any 6379 -> any any (msg:"TEST redis error to the client"; flow:established,to_client; content:"-ERR unknown"; sid:9100101; rev:1;)
alert tcp any any -> any any (msg:"TEST id output either way"; content:"uid=0(root)"; sid:9100102; rev:1;)
"""


def test_server_bytes_rule_drops_the_completing_server_packet(
        run_replay, pcap, rules_file, tmp_path):
    """A to_client raw rule reads the server's bytes: the server packet
    that completes the match is dropped and the flow blocked; the rule
    with no direction fires on the client's bytes of another flow and on
    an HTTP response (its raw bytes, on an HTTP flow)."""
    redis = TcpFlow(client=("192.0.2.40", 42100), server=REDIS[1])
    redis.handshake()
    redis.send(b"*1\r\n$4\r\nFLUB\r\n")
    reply = redis.send(b"-ERR unknown command 'FLUB'\r\n", 6,
                       from_client=False)
    redis.close()
    web = TcpFlow(client=("192.0.2.41", 42101), server=("198.51.100.41", 80))
    web.handshake()
    web.send(b"GET /cgi-bin/id HTTP/1.1\r\nHost: h\r\n\r\n")
    web.send(b"HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n"
             b"uid=0(root) gid=0(root)\r\n\r\n", 20, from_client=False)
    web.close()
    packets = redis.packets + web.packets
    res = run_replay(pcap(packets), rules=rules_file(tmp_path, SERVER_RULES,
                                                     "srv.rules"))

    # "-ERR unknown" ends in the second 6-byte server segment
    server = redis.server_packets()
    assert [f for f in res.rev_frames if f in frames(server)] == \
        frames(server[:server.index(reply[1])])
    assert res.drops["rule"] == 1
    assert sorted(a["alert"]["signature_id"] for a in res.alerts) == \
        [9100101, 9100102], res.alerts
    assert res.counters["drop_server_out_of_order"] == 0
    assert_accounting(res, len(packets))


def test_server_segment_ahead_is_dropped_while_its_bytes_are_read(
        run_replay, pcap, rules_file, tmp_path):
    """While rules read the server's bytes, a server segment beyond the
    next byte is dropped and its retransmission inspected in order: the
    match split across the reordered segments is found."""
    flow = TcpFlow(client=("192.0.2.42", 42102), server=REDIS[1])
    flow.handshake()
    flow.send(b"*1\r\n$4\r\nFLUB\r\n")
    reply = flow.send(b"-ERR unknown command\r\n", 5, from_client=False)
    i, j = flow.packets.index(reply[1]), flow.packets.index(reply[2])
    flow.packets[i], flow.packets[j] = flow.packets[j], flow.packets[i]
    flow.packets.insert(j + 1, reply[2].copy())
    flow.close()
    res = run_replay(pcap(flow.packets), rules=rules_file(
        tmp_path, SERVER_RULES.replace("drop tcp", "alert tcp"), "srv.rules"))

    assert res.drops == {"server_out_of_order": 1}, res.drops
    assert [a["alert"]["signature_id"] for a in res.alerts] == [9100101]
    assert payload_stream(res.rev_packets, flow.server) == \
        b"-ERR unknown command\r\n"
    assert_accounting(res, len(flow.packets))

