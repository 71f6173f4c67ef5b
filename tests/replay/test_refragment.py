"""test_refragment - a datagram rebuilt from fragments that is longer than
the egress MTU leaves as fragments again, carrying exactly the bytes that
were inspected.  (Without it a live port would refuse the datagram.)
"""
from scapy.layers.inet import IP, TCP, defragment

from checks import assert_accounting, assert_no_drops
from tcpgen import TcpFlow, fragment_ipv4_at

MTU = 1500


def fragmented_post(body):
    """A POST sent as one TCP segment longer than the MTU, fragmented at
    cuts that differ from the MTU's, delivered out of order."""
    req = (b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    flow = TcpFlow(mss=9000)
    flow.handshake()
    seg, = flow.send(req)
    flow.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", from_client=False)
    flow.close()
    assert len(seg[IP]) > MTU
    frags = fragment_ipv4_at(seg, [1200, 2400])
    assert len(frags) == 3
    i = flow.packets.index(seg)
    wire = flow.packets[:i] + [frags[2], frags[0], frags[1]] + flow.packets[i + 1:]
    return wire, req


def fragments_of(packets):
    return [p for p in packets if IP in p and (p[IP].flags.MF or p[IP].frag > 0)]


def test_datagram_longer_than_mtu_is_cut_again(run_replay, pcap):
    wire, req = fragmented_post(b"a=" + b"y" * 3598)
    res = run_replay(pcap(wire))

    assert_no_drops(res)
    out = fragments_of(res.out_packets)
    assert len(out) == 3, [len(p) for p in res.out_packets]
    for p in out:
        assert len(p[IP]) <= MTU
        sent = p[IP].chksum
        p[IP].chksum = None
        assert IP(bytes(p[IP])).chksum == sent, "bad IPv4 header checksum"
    whole = defragment(out)
    assert len(whole) == 1
    assert bytes(whole[0][TCP].payload) == req     # exactly what was inspected
    assert res.counters["fwd_refragmented"] == 1
    assert res.counters["fwd_fragments_added"] == 2
    assert_accounting(res, len(wire))


def test_attack_in_oversized_datagram_never_leaves(run_replay, pcap):
    wire, _ = fragmented_post(b"a=" + b"y" * 3000 + b"DROP-THIS-BODY" + b"z" * 584)
    res = run_replay(pcap(wire))

    assert fragments_of(res.out_packets) == []
    assert [a["alert"]["signature_id"] for a in res.alerts] == [9000004]
    assert res.counters["fwd_refragmented"] == 0
    assert_accounting(res, len(wire))
