"""test_malformed - broken frames are counted under their reason, never crash.

Each malformed frame is built to violate exactly one decode rule, comes from
an address no flow uses, and is interleaved with a benign flow that must
still reach OUT whole.
"""

import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

from checks import assert_accounting, assert_same_frames, frames
from tcpgen import CLIENT_MAC, SERVER_MAC, client_payload_stream, http_session

ATTACKER = "203.0.113.66"
ATTACKER6 = "2001:db8:66::66"


def eth(ethertype=None):
    e = Ether(src=CLIENT_MAC, dst=SERVER_MAC)
    if ethertype is not None:
        e.type = ethertype
    return e


def ipv4_tcp(payload=b"", **ipkw):
    pkt = eth() / IP(src=ATTACKER, dst="198.51.100.10", **ipkw) / \
        TCP(sport=6666, dport=80, flags="S") / payload
    return bytes(pkt)


def with_ip_options(opts):
    """IPv4+TCP frame whose header carries the raw option bytes opts."""
    assert len(opts) % 4 == 0
    ihl = 5 + len(opts) // 4
    tcp = bytes(TCP(sport=6666, dport=80, flags="S"))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(tcp), 7,
                      0, 64, 6, 0, bytes([203, 0, 113, 66]),
                      bytes([198, 51, 100, 10])) + opts
    return bytes(eth(0x0800)) + hdr + tcp


def malformed_frames():
    """(drop reason, frame bytes) pairs; each reason appears once."""
    good = ipv4_tcp()
    ip_start = 14
    tcp_start = ip_start + 20
    bad_ihl = bytearray(good)
    bad_ihl[ip_start] = 0x44                      # IHL 4 < 5 words
    bad_version = bytearray(good)
    bad_version[ip_start] = 0x55
    bad_offset = bytearray(good)
    bad_offset[tcp_start + 12] = 0x30             # data offset 3 < 5 words
    hbh_overrun = bytes(eth() / IPv6(src=ATTACKER6, dst="2001:db8:1::10",
                                     nh=0, plen=8)) + \
        bytes([6, 10, 1, 4, 0, 0, 0, 0])          # claims 88 bytes, has 8
    return [
        ("eth_truncated", bytes(eth())[:10]),
        ("vlan_truncated", bytes(eth(0x8100))[:14] + b"\x00"),
        ("ipv4_truncated", good[:ip_start + 12]),
        ("ipv4_bad_version", bytes(bad_version)),
        ("ipv4_bad_ihl", bytes(bad_ihl)),
        ("ipv4_bad_length", bytes(eth() / IP(src=ATTACKER, dst="198.51.100.10",
                                             len=1000) /
                                  TCP(sport=6666, dport=80))),
        # LSRR option whose length (9) runs past the 4 option bytes.
        ("ipv4_bad_options", with_ip_options(b"\x83\x09\x04\x00")),
        ("ipv6_truncated", bytes(eth(0x86dd)) + bytes(IPv6())[:20]),
        ("ipv6_bad_ext", hbh_overrun),
        ("tcp_truncated", bytes(eth() / IP(src=ATTACKER, dst="198.51.100.10",
                                           proto=6) /
                                good[tcp_start:tcp_start + 10])),
        ("tcp_bad_offset", bytes(bad_offset)),
    ]


def test_malformed_frames_counted_and_benign_flow_intact(run_replay, pcap):
    flow = http_session([b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
                         b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"],
                        segment_size=6, vlan=None)
    bad = malformed_frames()
    wire = []
    benign = list(flow.packets)
    # One malformed frame after every second benign packet.
    for i, pkt in enumerate(benign):
        wire.append(pkt)
        if i % 2 == 1 and bad:
            wire.append(bad.pop(0)[1])
    wire.extend(b for _, b in bad)
    res = run_replay(pcap(wire))

    expected = {reason: 1 for reason, _ in malformed_frames()}
    assert res.drops == expected
    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert_same_frames(res.rev_frames, frames(flow.server_packets()), "REV")
    assert client_payload_stream(res.out_packets, flow.client) == \
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
    assert res.summary["transactions"] == 2
    assert_accounting(res, len(wire))
    assert res.summary["flows"] == 1


def test_vlan_stack_too_deep_and_truncated_ipv6_length(run_replay, pcap):
    deep = eth()
    for vid in range(1, 10):
        deep = deep / Dot1Q(vlan=vid)
    deep = bytes(deep / IP(src=ATTACKER, dst="198.51.100.10") /
                 TCP(sport=6666, dport=80))
    long6 = bytes(eth() / IPv6(src=ATTACKER6, dst="2001:db8:1::10", plen=400) /
                  TCP(sport=6666, dport=80))
    flow = http_session([b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"])
    wire = [deep] + flow.packets[:3] + [long6] + flow.packets[3:]
    res = run_replay(pcap(wire))

    assert res.drops == {"vlan_too_deep": 1, "ipv6_bad_length": 1}
    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert_accounting(res, len(wire))
