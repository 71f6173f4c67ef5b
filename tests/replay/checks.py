"""checks - assertions shared by the replay tests.

Owns: comparing what a replay wrote (OUT/REV frames, summary, EVE) with
what the generator sent.  Each helper fails with a message that says which
frame or field differs, so a failing test explains itself.
"""

import re
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment

import tcpgen

COUNTERS_H = Path(__file__).resolve().parents[2] / "include" / "ips" / "counters.h"


def frames(packets):
    return [bytes(p) for p in packets]


def flow_frames(result_frames, src, dst):
    """Frames in result_frames sent from src to dst (each (ip, port))."""
    want = (tuple(src), tuple(dst))
    return [f for f in result_frames
            if tcpgen.tcp_endpoints(tcpgen.Ether(f)) == want]


def is_rst(raw):
    pkt = tcpgen.Ether(raw)
    return TCP in pkt and bool(pkt[TCP].flags.R)


def describe_frame(raw):
    pkt = tcpgen.Ether(raw)
    if TCP in pkt:
        ends = tcpgen.tcp_endpoints(pkt)
        return "%s->%s %s seq=%d len=%d" % (
            ends[0] if ends else "?", ends[1] if ends else "?",
            pkt[TCP].flags, pkt[TCP].seq, len(tcpgen.tcp_payload(pkt)))
    return pkt.summary()


def assert_same_frames(got, expected, what):
    """got and expected (lists of bytes) equal, frame by frame."""
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, ("%s frame %d differs:\n  got      %s\n  expected %s"
                        % (what, i, describe_frame(g), describe_frame(e)))
    assert len(got) == len(expected), (
        "%s: %d frames written, %d expected; first extra/missing: %s"
        % (what, len(got), len(expected),
           describe_frame((got + expected)[min(len(got), len(expected))])
           if got != expected else ""))


def counter_names():
    """Every counter name declared in include/ips/counters.h."""
    text = COUNTERS_H.read_text()
    return re.findall(r"\bX\((\w+)\)", text)


def assert_accounting(res, n_input):
    """Every packet read is forwarded, dropped for one reason, held,
    absorbed into a reassembled IP datagram (n fragments leave as one), or
    (L3 mode) was for the gateway itself."""
    s = res.summary
    brief = {k: s.get(k) for k in ("packets_in", "forwarded", "dropped",
                                   "held_at_exit", "merged", "local",
                                   "drops")}
    assert s["packets_in"] == n_input, (n_input, brief)
    assert s["merged"] == res.counters["frag_merged"], brief
    assert s["packets_in"] == (s["forwarded"] + s["dropped"] +
                               s["held_at_exit"] + s["merged"] +
                               s["local"]), \
        "packets_in != forwarded + dropped + held_at_exit + merged + " \
        "local: %s" % brief
    assert s["dropped"] == sum(s["drops"].values()), brief
    assert all(v > 0 for v in s["drops"].values()), brief


def assert_no_drops(res):
    assert res.summary["dropped"] == 0, res.summary["drops"]
    assert res.summary["drops"] == {}, res.summary["drops"]


def assert_alert(event, sid, action, client, server, proto="TCP"):
    """One EVE alert names the rule, the action and the flow (src = client)."""
    assert event["event_type"] == "alert", event
    assert event["alert"]["signature_id"] == sid, event
    assert event["alert"]["action"] == action, event
    assert event["src_ip"] == client[0], event
    assert event["src_port"] == client[1], event
    assert event["dest_ip"] == server[0], event
    assert event["dest_port"] == server[1], event
    assert event["proto"] == proto, event
    assert isinstance(event["flow_id"], int), event
    assert event["timestamp"], event


def l4_bytes(pkt):
    """Transport header + payload of an unfragmented IPv4/IPv6 packet, cut
    at the IP length (no Ethernet padding, no IPv6 extension headers)."""
    if IPv6 in pkt:
        ip6 = pkt[IPv6]
        tcp_and_pad = bytes(pkt[TCP])
        ext = len(bytes(ip6.payload)) - len(tcp_and_pad)
        return tcp_and_pad[:ip6.plen - ext]
    ip4 = pkt[IP]
    return bytes(ip4)[ip4.ihl * 4:ip4.len]


def assert_reassembled(raw, original):
    """raw is the reassembled form of original (an unfragmented packet built
    by the generator): same L2 header, addresses, and transport bytes."""
    got = tcpgen.Ether(raw)
    assert got[tcpgen.Ether].src == original[tcpgen.Ether].src
    assert got[tcpgen.Ether].dst == original[tcpgen.Ether].dst
    if IPv6 in original:
        assert IPv6 in got, got.summary()
        assert (got[IPv6].src, got[IPv6].dst) == (original[IPv6].src,
                                                  original[IPv6].dst)
        if IPv6ExtHdrFragment in got:
            frag = got[IPv6ExtHdrFragment]
            assert frag.offset == 0 and frag.m == 0, got.summary()
    else:
        assert IP in got, got.summary()
        ip4 = got[IP]
        assert (ip4.src, ip4.dst, ip4.proto) == (original[IP].src,
                                                 original[IP].dst, 6)
        assert ip4.frag == 0 and not ip4.flags.MF, got.summary()
        assert ip4.len == original[IP].len, (ip4.len, original[IP].len)
    assert TCP in got, got.summary()
    assert l4_bytes(got) == l4_bytes(original), "reassembled TCP bytes differ"
