"""tcpgen - deterministic TCP/HTTP pcap generator for the replay tests.

Owns: building both directions of TCP flows as Ethernet frames (scapy),
the helpers that distort them the way networks and attackers do (reorder,
retransmit, overlap, IP fragments, interleaving), writing/reading pcaps with
fixed timestamps, and rebuilding the byte streams a pcap carries.

Every frame is frozen to bytes when built, so checksums and lengths are
fixed and the replay output can be compared with the input byte for byte.
Data packets carry a .tag dict: dir ("c2s"/"s2c"), seq, len, off (offset of
the first byte in that direction's stream), index (position in its send()).
"""

import random
import struct

from scapy.layers.inet import IP, TCP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Dot1Q, Ether

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"
CLIENT_IP6 = "2001:db8::10"   # used when ipv6=True and IPv4 defaults given
SERVER_IP6 = "2001:db8:1::10"
PCAP_BASE_TIME = 1700000000
PCAP_STEP_US = 1000


def _freeze(pkt, tag=None):
    """Return the packet rebuilt from its bytes, so nothing is recomputed."""
    frozen = Ether(bytes(pkt))
    if tag is not None:
        frozen.tag = dict(tag)
    return frozen


class TcpFlow:
    """Both directions of one TCP connection, appended in wire order."""

    def __init__(self, client=("192.0.2.10", 40000),
                 server=("198.51.100.10", 80), ipv6=False,
                 client_isn=1000, server_isn=5000, mss=1460, vlan=None):
        if ipv6 and ":" not in client[0]:
            client = (CLIENT_IP6, client[1])
        if ipv6 and ":" not in server[0]:
            server = (SERVER_IP6, server[1])
        self.client = tuple(client)
        self.server = tuple(server)
        self.ipv6 = ipv6
        self.client_isn = client_isn
        self.server_isn = server_isn
        self.mss = mss
        self.vlan = vlan
        self.cseq = client_isn      # next sequence number each side sends
        self.sseq = server_isn
        self.ip_id = {True: 1, False: 1}
        self.packets = []

    # -- building blocks (do not append) ---------------------------------

    def ether(self, from_client):
        if from_client:
            eth = Ether(src=CLIENT_MAC, dst=SERVER_MAC)
        else:
            eth = Ether(src=SERVER_MAC, dst=CLIENT_MAC)
        if self.vlan is not None:
            eth = eth / Dot1Q(vlan=self.vlan)
        return eth

    def ip(self, from_client, frag_header=False):
        src, dst = (self.client, self.server) if from_client \
            else (self.server, self.client)
        if self.ipv6:
            l3 = IPv6(src=src[0], dst=dst[0], hlim=64)
            if frag_header:
                l3 = l3 / IPv6ExtHdrFragment(id=self.ip_id[from_client])
        else:
            l3 = IP(src=src[0], dst=dst[0], ttl=64, id=self.ip_id[from_client])
        self.ip_id[from_client] += 1
        return l3

    def packet(self, flags, seq, ack, payload=b"", from_client=True,
               options=None, tag=None, frag_header=False):
        """One frozen frame; does not advance sequence numbers."""
        src, dst = (self.client, self.server) if from_client \
            else (self.server, self.client)
        tcp = TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq & 0xffffffff,
                  ack=ack & 0xffffffff, window=65535, options=options or [])
        pkt = self.ether(from_client) / self.ip(from_client, frag_header) / tcp
        if payload:
            pkt = pkt / payload
        return _freeze(pkt, tag)

    def segment(self, data, offset, from_client=True, flags="PA",
                frag_header=False):
        """A data segment at a stream offset (0 = first byte after the SYN),
        without advancing anything: for retransmissions and overlaps."""
        isn = self.client_isn if from_client else self.server_isn
        ack = self.sseq if from_client else self.cseq
        tag = {"dir": "c2s" if from_client else "s2c", "seq": isn + 1 + offset,
               "len": len(data), "off": offset, "index": -1}
        return self.packet(flags, isn + 1 + offset, ack, data, from_client,
                           tag=tag, frag_header=frag_header)

    def data_packets(self, data, segment_size=None, from_client=True,
                     frag_header=False):
        """Data segments for data, advancing the sender's sequence number;
        not appended to self.packets."""
        size = segment_size or self.mss
        out = []
        for index, start in enumerate(range(0, len(data), size)):
            chunk = data[start:start + size]
            seq = self.cseq if from_client else self.sseq
            isn = self.client_isn if from_client else self.server_isn
            pkt = self.segment(chunk, seq - isn - 1, from_client,
                               frag_header=frag_header)
            pkt.tag["index"] = index
            out.append(pkt)
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
        return out

    def ack_packet(self, from_client):
        """A pure ACK of everything the peer sent so far."""
        if from_client:
            return self.packet("A", self.cseq, self.sseq, from_client=True)
        return self.packet("A", self.sseq, self.cseq, from_client=False)

    # -- the required API (appends to self.packets) ----------------------

    def handshake(self):
        opts = [("MSS", self.mss)]
        self.packets.append(self.packet("S", self.cseq, 0, options=opts))
        self.cseq += 1
        self.packets.append(self.packet("SA", self.sseq, self.cseq,
                                        from_client=False, options=opts))
        self.sseq += 1
        self.packets.append(self.ack_packet(True))

    def send(self, data, segment_size=None, from_client=True, ack=True):
        """Append data segments (then one ACK from the peer unless ack is
        False); return the data packets in creation order."""
        pkts = self.data_packets(data, segment_size, from_client)
        self.packets.extend(pkts)
        if ack and pkts:
            self.packets.append(self.ack_packet(not from_client))
        return pkts

    def close(self):
        """Client FIN, server FIN-ACK, client ACK."""
        self.packets.append(self.packet("FA", self.cseq, self.sseq))
        self.cseq += 1
        self.packets.append(self.packet("FA", self.sseq, self.cseq,
                                        from_client=False))
        self.sseq += 1
        self.packets.append(self.ack_packet(True))

    def client_packets(self, packets=None):
        return [p for p in (self.packets if packets is None else packets)
                if is_from(p, self.client)]

    def server_packets(self, packets=None):
        return [p for p in (self.packets if packets is None else packets)
                if is_from(p, self.server)]


def http_session(request_bytes_list,
                 response=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                 segment_size=None, **flowkw):
    """Handshake, each request followed by its response, close."""
    flow = TcpFlow(**flowkw)
    flow.handshake()
    for req in request_bytes_list:
        flow.send(req, segment_size=segment_size)
        if response:
            flow.send(response, from_client=False)
    flow.close()
    return flow


# -- distortions --------------------------------------------------------------

def reorder(packets, order):
    """packets rearranged: order lists indexes into packets."""
    if sorted(order) != list(range(len(packets))):
        raise ValueError("order must be a permutation of the packet indexes")
    return [packets[i] for i in order]


def swap_adjacent(packets, first, second):
    """Copy of packets with the two given packets exchanged."""
    out = list(packets)
    i, j = out.index(first), out.index(second)
    out[i], out[j] = out[j], out[i]
    return out


def duplicate(pkt):
    """An identical retransmission of pkt (same bytes, same tag)."""
    return _freeze(pkt, getattr(pkt, "tag", None))


def _l2_header(pkt):
    """The Ether (+ Dot1Q) prefix of a frame, as a scapy packet."""
    eth = Ether(src=pkt[Ether].src, dst=pkt[Ether].dst)
    if Dot1Q in pkt:
        eth = eth / Dot1Q(vlan=pkt[Dot1Q].vlan)
    return eth


def fragment_ipv4(pkt, fragsize=64):
    """IPv4 fragments of pkt (fragsize bytes of payload each, multiple of 8),
    each wrapped in pkt's Ethernet/VLAN header."""
    ip = IP(bytes(pkt[IP]))
    return [_freeze(_l2_header(pkt) / f) for f in fragment(ip, fragsize)]


def fragment_ipv4_at(pkt, cuts):
    """IPv4 fragments of pkt split at the given IP payload offsets
    (multiples of 8, increasing), for fragments of unequal sizes."""
    ip = IP(bytes(pkt[IP]))
    data = bytes(ip.payload)
    bounds = [0] + list(cuts) + [len(data)]
    if any(b % 8 for b in cuts) or bounds != sorted(bounds):
        raise ValueError("cuts must be increasing multiples of 8")
    out = []
    for start, end in zip(bounds, bounds[1:]):
        frag = ip.copy()
        frag.remove_payload()
        frag.frag = start // 8
        frag.flags = "MF" if end < len(data) else 0
        frag.len = None
        frag.chksum = None
        out.append(_freeze(_l2_header(pkt) / frag / data[start:end]))
    return out


def fragment_ipv6(pkt, fragsize=96):
    """IPv6 fragments of pkt, which must have been built with a fragment
    header (TcpFlow.segment(..., frag_header=True)); fragsize is the maximum
    fragment size as scapy's fragment6 counts it."""
    ip6 = IPv6(bytes(pkt[IPv6]))
    if IPv6ExtHdrFragment not in ip6:
        raise ValueError("build the packet with frag_header=True")
    return [_freeze(_l2_header(pkt) / f) for f in fragment6(ip6, fragsize)]


def interleave(flows, seed=1):
    """Packets of several flows merged in a deterministic random order that
    keeps each flow's own packet order."""
    rng = random.Random(seed)
    queues = [list(f.packets if isinstance(f, TcpFlow) else f) for f in flows]
    out = []
    while any(queues):
        live = [q for q in queues if q]
        out.append(rng.choice(live).pop(0))
    return out


# -- pcap I/O -------------------------------------------------------------------

def _frame_bytes(pkt):
    return pkt if isinstance(pkt, (bytes, bytearray)) else bytes(pkt)


def write_pcap(path, packets, step_us=PCAP_STEP_US):
    """Write frames (scapy packets or raw bytes) with timestamps step_us
    apart (1 ms by default) from a fixed base, so the same packets always
    give the same file."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, pkt in enumerate(packets):
            raw = _frame_bytes(pkt)
            usec = i * step_us
            sec = PCAP_BASE_TIME + usec // 1000000
            f.write(struct.pack("<IIII", sec, usec % 1000000,
                                len(raw), len(raw)))
            f.write(raw)


def read_pcap_frames(path):
    """Raw frames of a pcap file (micro- or nanosecond, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: no pcap header (%d bytes)" % (path, len(data)))
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    frames, pos = [], 24
    while pos + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        frames.append(bytes(data[pos:pos + caplen]))
        pos += caplen
    return frames


def read_pcap(path):
    """Frames of a pcap as scapy Ether packets (built from the exact bytes)."""
    return [Ether(raw) for raw in read_pcap_frames(path)]


# -- stream reconstruction ---------------------------------------------------------

def tcp_endpoints(pkt):
    """((src_ip, sport), (dst_ip, dport)) of a TCP packet, or None."""
    if TCP not in pkt:
        return None
    l3 = pkt[IPv6] if IPv6 in pkt else pkt[IP] if IP in pkt else None
    if l3 is None:
        return None
    if IP in pkt and (pkt[IP].frag or pkt[IP].flags.MF):
        return None   # a fragment: the TCP header may be partial
    if IPv6ExtHdrFragment in pkt and (pkt[IPv6ExtHdrFragment].offset
                                      or pkt[IPv6ExtHdrFragment].m):
        return None
    tcp = pkt[TCP]
    return (l3.src, tcp.sport), (l3.dst, tcp.dport)


def is_from(pkt, endpoint):
    ends = tcp_endpoints(pkt)
    return ends is not None and ends[0] == tuple(endpoint)


def tcp_payload(pkt):
    """TCP payload bytes of pkt, without Ethernet padding."""
    tcp = pkt[TCP]
    if IPv6 in pkt:
        ip6 = pkt[IPv6]
        end = ip6.plen   # counts extension headers too
        l4_total = len(bytes(ip6.payload))
        ext = l4_total - len(bytes(tcp))
        l4_len = end - ext
    else:
        ip4 = pkt[IP]
        l4_len = ip4.len - ip4.ihl * 4
    data_len = max(0, l4_len - tcp.dataofs * 4)
    raw = bytes(tcp)[tcp.dataofs * 4:]
    return raw[:data_len]


def payload_stream(packets, sender):
    """Concatenated TCP payload sent by sender=(ip, port), in file order."""
    return b"".join(tcp_payload(p) for p in packets if is_from(p, sender))


def client_payload_stream(packets, client):
    """Concatenated TCP payload client->server in file order."""
    return payload_stream(packets, client)


def assembled_stream(packets, sender):
    """sender's byte stream rebuilt by sequence number from the first SYN
    (retransmissions collapse); raises if overlapping bytes differ."""
    isn, data = None, bytearray()
    for p in packets:
        if not is_from(p, sender):
            continue
        if p[TCP].flags.S:
            isn = p[TCP].seq
            continue
        payload = tcp_payload(p)
        if isn is None or not payload:
            continue
        off = (p[TCP].seq - isn - 1) & 0xffffffff
        end = off + len(payload)
        if off > len(data):
            raise ValueError("gap at stream offset %d" % len(data))
        overlap = bytes(data[off:end])
        if payload[:len(overlap)] != overlap:
            raise ValueError("overlap with different bytes at %d" % off)
        data[off:end] = payload
    return bytes(data)
