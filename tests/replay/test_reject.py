"""test_reject - what a reject rule sends (dataplane/verdict.c).

Suricata's reject variants pick the ends that get a TCP reset (reject and
rejectboth: both, rejectsrc: the client, rejectdst: the server); the
client may get an HTTP 403 block page instead, by policy.reject_client =
"block_page" or by the rule ("metadata: ips_reject_client block_page;").
The page carries the EVE alert's id, sits exactly at the client's next
expected byte, acknowledges the blocked request and ends with FIN; the
client's own FIN that follows is answered with a reset at the sequence
number its ACK names.  A rejectboth rule resets even under the page
policy, and a request that is not HTTP gets a reset, never a page.
"""
import re

from scapy.layers.inet import TCP

from checks import assert_accounting, assert_alert, is_rst
from conftest import conf_variant
from tcpgen import Ether, TcpFlow, tcp_payload

SID = 9400001
ATTACK = b"GET /x?q=REJECT-ME HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n\r\n"


def rules(tmp_path, rules_file, action, extra=""):
    return rules_file(tmp_path, (
        '%s http any any -> any any (msg:"reject test"; '
        'flow:to_server,established; http.uri; content:"REJECT-ME"; %s'
        'sid:%d; rev:1;)\n' % (action, extra, SID)))


def attack_flow():
    """Handshake and the attack in one segment."""
    flow = TcpFlow(client_isn=0xfffffff0)      # the client's seq wraps
    flow.handshake()
    seg = flow.send(ATTACK, ack=False)[0]
    return flow, seg


def resets(frames_):
    return [Ether(f) for f in frames_ if is_rst(f)]


def run(run_replay, pcap, flow, rules_path, conf=None):
    res = run_replay(pcap(flow.packets), rules=rules_path, conf=conf)
    assert len(res.alerts) == 1, res.alerts
    assert_alert(res.alerts[0], SID, "blocked", flow.client, flow.server)
    return res


def assert_rst_to_server(res, flow, seg):
    out = resets(res.out_frames)
    assert len(out) == 1, [p.summary() for p in out]
    assert (out[0]["IP"].dst, out[0][TCP].dport) == flow.server
    assert out[0][TCP].seq == seg.tag["seq"] & 0xffffffff


def assert_rst_to_client(res, flow):
    rev = resets(res.rev_frames)
    assert len(rev) == 1, [p.summary() for p in rev]
    assert (rev[0]["IP"].dst, rev[0][TCP].dport) == flow.client
    assert rev[0][TCP].seq == flow.sseq & 0xffffffff


def test_rejectdst_resets_only_the_server(run_replay, pcap, rules_file,
                                          tmp_path):
    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow, rules(tmp_path, rules_file, "rejectdst"))
    assert_rst_to_server(res, flow, seg)
    assert resets(res.rev_frames) == []
    assert res.counters["verdict_rst_sent"] == 1
    assert_accounting(res, len(flow.packets))


def test_rejectsrc_resets_only_the_client(run_replay, pcap, rules_file,
                                          tmp_path):
    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow, rules(tmp_path, rules_file, "rejectsrc"))
    assert resets(res.out_frames) == []
    assert_rst_to_client(res, flow)
    assert_accounting(res, len(flow.packets))


def assert_block_page(res, flow, seg):
    """The page: server to client, at the client's next expected byte,
    acknowledging the whole request, FIN; the alert id in it is EVE's."""
    rev = [Ether(f) for f in res.rev_frames if not is_rst(f)]
    pages = [p for p in rev if tcp_payload(p).startswith(b"HTTP/1.1 403")]
    assert len(pages) == 1, [p.summary() for p in rev]
    page = pages[0]
    assert (page["IP"].src, page[TCP].sport) == flow.server
    assert (page["IP"].dst, page[TCP].dport) == flow.client
    assert page[TCP].seq == flow.sseq & 0xffffffff
    assert page[TCP].ack == (seg.tag["seq"] + len(ATTACK)) & 0xffffffff
    assert page[TCP].flags.F and page[TCP].flags.A
    check = page.copy()
    del check[TCP].chksum
    assert Ether(bytes(check))[TCP].chksum == page[TCP].chksum
    body = tcp_payload(page)
    head, _, html = body.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert length == len(html)
    alert_id = res.alerts[0]["alert_id"]
    assert isinstance(alert_id, int) and alert_id > 0
    assert b"Alert ID: %d<" % alert_id in html
    assert b"\r\nX-IPS-Alert-Id: %d\r\n" % alert_id in head + b"\r\n"
    assert len(body) <= 536 - 40           # one segment at the least MSS
    return page


def test_block_page_by_rule_metadata(run_replay, pcap, rules_file, tmp_path):
    flow, seg = attack_flow()
    res0 = run(run_replay, pcap, flow, rules(
        tmp_path, rules_file, "reject",
        "metadata: ips_reject_client block_page;"))
    page = assert_block_page(res0, flow, seg)
    page_len = len(tcp_payload(page))
    assert_rst_to_server(res0, flow, seg)
    assert res0.counters["verdict_block_pages"] == 1

    # Again with the client's FIN after the page: answered with a reset
    # at exactly the sequence number the FIN acknowledges.
    fin_ack = flow.sseq + page_len + 1
    flow.packets.append(flow.packet("FA", flow.cseq, fin_ack))
    res = run(run_replay, pcap, flow, rules(
        tmp_path, rules_file, "reject",
        "metadata: ips_reject_client block_page;"))
    rev = resets(res.rev_frames)
    assert len(rev) == 1, [p.summary() for p in rev]
    assert rev[0][TCP].seq == fin_ack & 0xffffffff
    assert (rev[0]["IP"].dst, rev[0][TCP].dport) == flow.client
    assert res.drops.get("flow_blocked") == 1
    assert_accounting(res, len(flow.packets))


def test_block_page_by_policy_and_rejectboth_overrides(run_replay, pcap,
                                                       rules_file, tmp_path):
    conf = conf_variant(tmp_path, reject_client='"block_page"')
    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow, rules(tmp_path, rules_file, "reject"),
              conf)
    assert_block_page(res, flow, seg)
    assert_rst_to_server(res, flow, seg)
    assert resets(res.rev_frames) == []

    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow,
              rules(tmp_path, rules_file, "rejectboth"), conf)
    assert_rst_to_client(res, flow)
    assert_rst_to_server(res, flow, seg)
    assert res.counters["verdict_block_pages"] == 0

    # a per-rule reset wins over the page policy too
    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow, rules(
        tmp_path, rules_file, "reject", "metadata: ips_reject_client reset;"),
        conf)
    assert_rst_to_client(res, flow)


def test_no_page_for_a_raw_stream_rule(run_replay, pcap, rules_file, tmp_path):
    conf = conf_variant(tmp_path, reject_client='"block_page"')
    path = rules_file(tmp_path, (
        'reject tcp any any -> any any (msg:"raw reject"; '
        'flow:to_server,established; content:"REJECT-ME"; sid:%d; rev:1;)\n'
        % SID))
    flow, seg = attack_flow()
    res = run(run_replay, pcap, flow, path, conf)
    assert_rst_to_client(res, flow)
    assert res.counters["verdict_block_pages"] == 0
