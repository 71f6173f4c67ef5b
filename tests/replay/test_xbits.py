"""test_xbits - xbits through the whole gateway: a bit one connection's
request sets on its client (track ip_src) or on its address pair
(track ip_pair) decides a rule on a later connection of that client or
pair, never another's; unset clears it.

One worker, connections one after the other, so the order in which the
gateway sees them is the capture's.  That workers share the bits is
tests/unit/test_detect.c's (two workers, one store) and test_xbits.c's.
"""

from checks import assert_accounting, assert_alert
from tcpgen import http_session

XBITS_RULES = """\
drop http any any -> any any (msg:"TEST xbits chain step 2"; flow:to_server,established; http.uri; content:"/step2"; xbits:isset,TEST.chain,track ip_src; sid:9200002; rev:1;)
alert http any any -> any any (msg:"TEST xbits chain step 1"; flow:to_server,established; http.uri; content:"/step1"; xbits:set,TEST.chain,track ip_src,expire 300; noalert; sid:9200001; rev:1;)
alert http any any -> any any (msg:"TEST xbits chain reset"; flow:to_server,established; http.uri; content:"/reset"; xbits:unset,TEST.chain,track ip_src; noalert; sid:9200003; rev:1;)
alert http any any -> any any (msg:"TEST xbits pair mark"; flow:to_server,established; http.uri; content:"/probe"; xbits:set,TEST.pair,track ip_pair; noalert; sid:9200004; rev:1;)
drop http any any -> any any (msg:"TEST xbits pair exploit"; flow:to_server,established; http.uri; content:"/exploit"; xbits:isset,TEST.pair,track ip_pair; sid:9200005; rev:1;)
"""

ATTACKER = "192.0.2.41"
OTHER = "192.0.2.42"
SERVER = ("198.51.100.10", 80)
SERVER2 = ("198.51.100.11", 80)


def get(uri, client, server=SERVER):
    """One connection with one GET; client is (address, port)."""
    req = b"GET " + uri + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    return http_session([req], client=client, server=server)


def run(run_replay, pcap, rules_file, tmp_path, flows):
    wire = [p for f in flows for p in f.packets]
    res = run_replay(pcap(wire),
                     rules=rules_file(tmp_path, XBITS_RULES, "xbits.rules"))
    assert_accounting(res, len(wire))
    return res


def blocked_ports(res):
    return sorted(a["src_port"] for a in res.alerts
                  if a["alert"]["action"] == "blocked")


def test_chain_across_connections_of_one_client(run_replay, pcap,
                                                rules_file, tmp_path):
    flows = [
        get(b"/step2", (ATTACKER, 40001)),      # not set yet: passes
        get(b"/step1", (ATTACKER, 40002)),      # sets, no alert
        get(b"/step2", (ATTACKER, 40003)),      # dropped
        get(b"/step2", (OTHER, 40004)),         # another client: passes
        get(b"/reset", (ATTACKER, 40005)),      # unsets
        get(b"/step2", (ATTACKER, 40006)),      # passes again
    ]
    res = run(run_replay, pcap, rules_file, tmp_path, flows)

    assert len(res.alerts) == 1, res.eve
    assert_alert(res.alerts[0], 9200002, "blocked", (ATTACKER, 40003),
                 SERVER)
    assert res.summary["drops"]["rule"] == 1, res.summary["drops"]
    # every other connection's request reached the server whole
    for port in (40001, 40002, 40004, 40005, 40006):
        sent = [f for f in res.out_packets
                if f.haslayer("TCP") and f["TCP"].sport == port and
                bytes(f["TCP"].payload).startswith(b"GET ")]
        assert len(sent) == 1, port


def test_pair_bit_is_that_pair_only(run_replay, pcap, rules_file, tmp_path):
    flows = [
        get(b"/probe", (ATTACKER, 41001)),              # marks the pair
        get(b"/exploit", (ATTACKER, 41002), SERVER2),   # other server
        get(b"/exploit", (OTHER, 41003)),               # other client
        get(b"/exploit", (ATTACKER, 41004)),            # the pair: drop
    ]
    res = run(run_replay, pcap, rules_file, tmp_path, flows)

    assert blocked_ports(res) == [41004], res.eve
    assert [a["alert"]["signature_id"] for a in res.alerts] == [9200005]
    assert res.summary["counters"]["detect_xbits_evicted"] == 0
    assert res.summary["counters"]["detect_xbits_unreadable"] == 0
