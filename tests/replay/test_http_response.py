"""test_http_response - response rules (http.stat_code,
http.response_body / file_data) through the dataplane: ET Open's own
file_data rule on bodies sent plain, chunked, gzip- and deflate-coded and
delimited by the close; a drop on the response stops the rest of it from
reaching the client; server segments out of order are held back; a body
that does not decode is a detect fault; and a full response pool takes
the place of the response stalled longest.
"""

import zlib

from checks import assert_accounting, assert_same_frames, frames
from tcpgen import TcpFlow, interleave, payload_stream
from test_tls import et_conf, et_rule    # ET Open's attack_response set

EVAL_SID = 2017213         # file_data; content:"'ev'+'al'" from_server
EVIL = b"<script>var f='ev'+'al';window[f](atob(p));</script>"
BENIGN = b"<html><body>" + b"nothing to see here " * 40 + b"</body></html>"
REQUEST = b"GET /page HTTP/1.1\r\nHost: www.example.com\r\n\r\n"


def gzip_coded(body):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


def deflate_coded(body, raw=False):
    z = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    return z.compress(body) + z.flush()


def chunked(body, size=37):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def response(body, coding=None, framing="length", status=b"200 OK"):
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html\r\n"
    if coding is not None:
        head += b"Content-Encoding: " + coding + b"\r\n"
    if framing == "chunked":
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body)
    if framing == "close":
        return head + b"Connection: close\r\n\r\n" + body
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def http_flow(i, resp, segment_size=120, server_closes=False):
    flow = TcpFlow(client=("192.0.2.%d" % (20 + i), 41000 + i),
                   server=("198.51.100.%d" % (20 + i), 80))
    flow.handshake()
    flow.send(REQUEST)
    data = flow.send(resp, segment_size, from_client=False)
    if server_closes:
        flow.packets.append(flow.packet("FA", flow.sseq, flow.cseq,
                                        from_client=False))
        flow.sseq += 1
        flow.packets.append(flow.ack_packet(True))
    flow.close()
    return flow, data


def sids(res):
    return sorted(a["alert"]["signature_id"] for a in res.alerts)


def test_et_file_data_rule_in_every_coding_and_framing(
        run_replay, pcap, rules_file, tmp_path):
    """ET's rule fires on the script however the server sends it, and on
    no benign page."""
    cases = [
        (response(EVIL), True),
        (response(EVIL, framing="chunked"), True),
        (response(gzip_coded(EVIL), b"gzip"), True),
        (response(gzip_coded(EVIL), b"gzip", "chunked"), True),
        (response(deflate_coded(EVIL), b"deflate"), True),
        (response(deflate_coded(EVIL, raw=True), b"deflate"), True),
        (response(gzip_coded(BENIGN), b"gzip"), False),
        (response(BENIGN, framing="chunked"), False),
        # the rule reads the decoded body: its coded bytes do not match
        (response(EVIL.replace(b"'+'", b"' + '")), False),
    ]
    flows = [http_flow(i, resp, 50 + 13 * i)[0]
             for i, (resp, _) in enumerate(cases)]
    closing, _ = http_flow(len(cases), response(EVIL, framing="close"),
                           server_closes=True)
    flows.append(closing)
    packets = interleave([f.packets for f in flows])
    rules = rules_file(tmp_path, et_rule(EVAL_SID), "resp.rules")
    res = run_replay(pcap(packets), rules=rules, conf=et_conf(tmp_path))

    alerted = sorted(a["dest_ip"] for a in res.alerts)
    want = sorted([f.client[0] for f, c in zip(flows, cases) if c[1]] +
                  [closing.client[0]])
    assert alerted == want, res.alerts
    assert set(sids(res)) == {EVAL_SID}
    assert res.counters["http_responses_inspected"] == len(flows)
    assert res.summary["dropped"] == 0, res.drops
    for f in flows:
        assert payload_stream(res.rev_packets, f.server) == \
            payload_stream(f.packets, f.server)
    assert_accounting(res, len(packets))


def test_drop_on_response_stops_the_rest(run_replay, pcap, rules_file,
                                         tmp_path):
    """A drop rule on the body: the server packet completing the match is
    dropped and nothing of the response after it reaches the client."""
    body = BENIGN + EVIL + BENIGN
    flow, data = http_flow(0, response(gzip_coded(body), b"gzip"), 60)
    rules = rules_file(tmp_path, et_rule(EVAL_SID, "drop"), "resp.rules")
    res = run_replay(pcap(flow.packets), rules=rules,
                     conf=et_conf(tmp_path))

    assert sids(res) == [EVAL_SID], res.alerts
    assert res.alerts[0]["alert"]["action"] == "blocked"
    assert res.drops["rule"] == 1
    server = flow.server_packets()
    n = len(res.rev_frames)
    assert_same_frames(res.rev_frames, frames(server[:n]), "REV")
    # the rest of the response never left: its last segment included
    assert n <= server.index(data[-1]), n
    assert_accounting(res, len(flow.packets))


def test_status_code_and_body_in_one_rule(run_replay, pcap, rules_file,
                                          tmp_path):
    rule = ('alert http any any -> any any (msg:"leak"; '
            'flow:established,to_client; http.stat_code; content:"200"; '
            'http.response_body; content:"root:x:0:0:"; startswith; '
            'sid:9100001;)\n')
    leak = b"root:x:0:0:root:/root:/bin/bash\n"
    cases = [(response(leak), True),
             (response(leak, status=b"404 Not Found"), False),
             (response(b"#" + leak), False)]
    flows = [http_flow(i, resp)[0] for i, (resp, _) in enumerate(cases)]
    packets = interleave([f.packets for f in flows])
    res = run_replay(pcap(packets), rules=rules_file(tmp_path, rule),
                     conf=et_conf(tmp_path))

    assert sorted(a["dest_ip"] for a in res.alerts) == \
        [f.client[0] for f, c in zip(flows, cases) if c[1]], res.alerts
    # the rule reads server to client: the alert's source is the server
    assert (res.alerts[0]["src_ip"], res.alerts[0]["src_port"]) == \
        flows[0].server
    assert_accounting(res, len(packets))


def test_server_segment_ahead_is_held_back(run_replay, pcap, rules_file,
                                           tmp_path):
    """With response rules, a server segment beyond the next byte is
    dropped (the server sends it again): the client never holds body
    bytes the rules have not seen."""
    resp = response(EVIL, framing="chunked")
    flow, data = http_flow(0, resp, 30)
    i, j = flow.packets.index(data[1]), flow.packets.index(data[2])
    flow.packets[i], flow.packets[j] = flow.packets[j], flow.packets[i]
    flow.packets.insert(j + 1, data[2].copy())
    rules = rules_file(tmp_path, et_rule(EVAL_SID), "resp.rules")
    res = run_replay(pcap(flow.packets), rules=rules,
                     conf=et_conf(tmp_path))

    assert res.drops == {"server_out_of_order": 1}, res.drops
    assert sids(res) == [EVAL_SID]
    assert payload_stream(res.rev_packets, flow.server) == resp
    assert_accounting(res, len(flow.packets))


def test_clear_text_under_gzip_is_inspected_as_it_is(
        run_replay, pcap, rules_file, tmp_path):
    """Content-Encoding gzip on bytes that are not gzip: inspected as they
    are, as libhtp passes them through for Suricata (its issue 6959), so a
    wrong header hides nothing."""
    flow, _ = http_flow(0, response(EVIL, b"gzip"))
    rules = rules_file(tmp_path, et_rule(EVAL_SID), "resp.rules")
    res = run_replay(pcap(flow.packets), rules=rules,
                     conf=et_conf(tmp_path))

    assert res.counters["http_decode_error"] == 1
    assert sids(res) == [EVAL_SID]
    assert res.summary["dropped"] == 0, res.drops
    assert_accounting(res, len(flow.packets))


def test_et_rule_on_server_header_and_body(run_replay, pcap, rules_file,
                                           tmp_path):
    """ET's HFS exploit-kit rule: http.server startswith "HFS" and four
    contents in the (gzip) body; another server or a body missing one
    content does not fire."""
    kit = (b"<script>function triggerBug(){} function exploit(){} "
           b"function intToStr(){} function strToInt(){}</script>")

    def served(server, body):
        return (b"HTTP/1.1 200 OK\r\nServer: " + server + b"\r\n"
                b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                % len(gzip_coded(body)) + gzip_coded(body))
    cases = [(served(b"HFS 2.3", kit), True),
             (served(b"nginx", kit), False),
             (served(b"HFS 2.3", kit.replace(b"exploit", b"expl0it")),
              False)]
    flows = [http_flow(i, resp)[0] for i, (resp, _) in enumerate(cases)]
    packets = interleave([f.packets for f in flows])
    rules = rules_file(tmp_path, et_rule(2024677, rules="emerging-exploit"
                                         ".rules"), "resp.rules")
    res = run_replay(pcap(packets), rules=rules, conf=et_conf(tmp_path))

    assert [a["dest_ip"] for a in res.alerts] == \
        [f.client[0] for f, c in zip(flows, cases) if c[1]], res.alerts
    assert sids(res) == [2024677]
    assert_accounting(res, len(packets))


def test_full_response_pool_takes_the_stalled_longest(
        run_replay, pcap, rules_file, tmp_path):
    """One response transaction per worker: a server that sent half a body
    and stalled gives its place to the next response (its flow reset),
    which is inspected and alerts."""
    stalled = TcpFlow(client=("192.0.2.70", 42000),
                      server=("198.51.100.70", 80))
    stalled.handshake()
    stalled.send(REQUEST)
    resp = response(BENIGN)
    stalled.send(resp[:len(resp) // 2], from_client=False)
    fresh, _ = http_flow(5, response(gzip_coded(EVIL), b"gzip"))
    packets = stalled.packets + fresh.packets
    rules = rules_file(tmp_path, et_rule(EVAL_SID), "resp.rules")
    res = run_replay(pcap(packets), rules=rules,
                     conf=et_conf(tmp_path, http_responses="1"))

    assert res.counters["http_response_evicted"] == 1
    assert [a["dest_ip"] for a in res.alerts] == [fresh.client[0]]
    assert_accounting(res, len(packets))
