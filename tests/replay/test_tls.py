"""test_tls - tls.certs rules on the server's TLS 1.2 Certificate message,
through the dataplane: ET Open's own rule (Sliver/Havoc framework
certificates), a certificate split across segments and records, server
segments out of order, non-TLS servers, and a full certificate pool (the
server stalled longest gives up its place).

The handshake bytes are built here (record and handshake framing as RFC
5246 lays them out); the certificates are DER-shaped byte strings carrying
the subject encodings the rule looks for.
"""

import struct

from scapy.layers.inet import IP, TCP

from checks import assert_accounting, assert_same_frames, frames
from conftest import conf_variant
from tcpgen import TcpFlow, interleave, payload_stream
from test_signatures import CORPORA

ET_DIR = CORPORA / "et-open"
ET_RULES = ET_DIR / "emerging-attack_response.rules"
SLIVER_SID = 2037281


def et_conf(tmp_path, **settings):
    """replay.conf with ET Open's classification.config (its classtypes)."""
    return conf_variant(tmp_path, classification='"%s"' %
                        (ET_DIR / "classification.config"), **settings)


def et_rule(sid, action="alert", rules=ET_RULES):
    """ET Open's rule sid, as shipped (in rules: a file of ET_DIR), with
    its action replaced."""
    for line in (ET_DIR / rules).read_text().splitlines():
        if line.startswith("alert ") and "sid:%d;" % sid in line:
            return action + line[len("alert"):] + "\n"
    raise KeyError(sid)


def u24(n):
    return struct.pack("!I", n)[1:]


def record(content_type, body, version=b"\x03\x03"):
    return bytes([content_type]) + version + struct.pack("!H", len(body)) + body


def handshake(msg_type, body):
    return bytes([msg_type]) + u24(len(body)) + body


CLIENT_HELLO = record(22, handshake(1, b"\x03\x03" + bytes(32) +
                                    b"\x00\x00\x02\xc0\x2f\x01\x00"),
                      b"\x03\x01")
SERVER_HELLO = handshake(2, b"\x03\x03" + bytes(32) + b"\x00\xc0\x2f\x00")
HELLO_DONE = handshake(14, b"")


def certificate(certs):
    entries = b"".join(u24(len(c)) + c for c in certs)
    return handshake(11, u24(len(entries)) + entries)


def server_flight(certs, n_records=1):
    """ServerHello, Certificate, ServerHelloDone in n_records handshake
    records (messages cut across record boundaries when n_records > 1)."""
    msgs = SERVER_HELLO + certificate(certs) + HELLO_DONE
    size = -(-len(msgs) // n_records)
    return b"".join(record(22, msgs[i:i + size])
                    for i in range(0, len(msgs), size))


def rdn(oid_last, value, tag=0x13):
    attr = b"\x06\x03\x55\x04" + bytes([oid_last, tag, len(value)]) + value
    seq = b"\x30" + bytes([len(attr)]) + attr
    return b"\x31" + bytes([len(seq)]) + seq


def der_cert(subject, filler=700):
    """A certificate's shape: SEQUENCE { version, serial, issuer ..., the
    subject Name } with filler standing for the key and signature."""
    name = b"\x30" + bytes([len(subject)]) + subject
    body = (b"\xa0\x03\x02\x01\x02\x02\x04\x11\x22\x33\x44" + name +
            bytes(range(256)) * (filler // 256) + bytes(filler % 256))
    return b"\x30\x82" + struct.pack("!H", len(body)) + body


# Sliver's generated subject: C=US, empty ST, L, street, a postal code of
# four digits, then CN, no O, no e-mail (what sid 2037281 describes).
SLIVER_SUBJECT = (rdn(0x06, b"US") + rdn(0x08, b"") + rdn(0x07, b"") +
                  rdn(0x09, b"") + rdn(0x11, b"1234") +
                  rdn(0x03, b"sliver.local", 0x0c))
# The same with an organisation after the CN: a real CA's subject shape.
ORG_SUBJECT = SLIVER_SUBJECT + rdn(0x0a, b"Acme Corp", 0x0c)
CA_CERT = der_cert(rdn(0x06, b"US") + rdn(0x0a, b"Example CA", 0x0c), 900)


def tls_flow(certs, client, server, segment_size=500, n_records=1):
    """Handshake, ClientHello, the server's flight in segments; returns the
    flow and the server's data packets (not yet closed)."""
    flow = TcpFlow(client=client, server=server)
    flow.handshake()
    flow.send(CLIENT_HELLO)
    data = flow.send(server_flight(certs, n_records), segment_size,
                     from_client=False)
    return flow, data


def finish(flow):
    flow.send(record(20, b"\x01") + record(23, b"encrypted" * 10))
    flow.close()
    return flow


def cert_end_segment(certs, index, segment_size, n_records=1):
    """Index of the server data segment holding certs[index]'s last byte."""
    flight = server_flight(certs, n_records)
    end = flight.index(certs[index]) + len(certs[index])
    return (end - 1) // segment_size


def sids(res):
    return sorted(a["alert"]["signature_id"] for a in res.alerts)


def test_et_sliver_certificate_dropped_at_its_last_segment(
        run_replay, pcap, rules_file, tmp_path):
    certs = [der_cert(SLIVER_SUBJECT), CA_CERT]
    flow, data = tls_flow(certs, ("192.0.2.40", 43000),
                          ("198.51.100.40", 443))
    finish(flow)
    rules = rules_file(tmp_path, et_rule(SLIVER_SID, "drop"), "tls.rules")
    res = run_replay(pcap(flow.packets), rules=rules,
                     conf=et_conf(tmp_path))

    done = data[cert_end_segment(certs, 0, 500)]
    server = flow.server_packets()
    # the server's packets before the one completing the certificate
    # reached the client; none from it on
    assert_same_frames(res.rev_frames, frames(server[:server.index(done)]),
                       "REV")
    assert sids(res) == [SLIVER_SID], res.alerts
    assert res.alerts[0]["alert"]["action"] == "blocked"
    assert res.drops["rule"] == 1
    assert res.counters["detect_tls_certs"] == 1
    assert_accounting(res, len(flow.packets))


def test_et_rule_alerts_on_sliver_only_any_port_any_records(
        run_replay, pcap, rules_file, tmp_path):
    """The Sliver subject alerts whether its certificate arrives in one
    record or cut across three, on 443 or 8443; an organisation after the
    CN (a negated content) and the CA certificate alone do not."""
    cases = [
        ([der_cert(SLIVER_SUBJECT), CA_CERT], 443, 1, True),
        ([CA_CERT, der_cert(SLIVER_SUBJECT)], 8443, 3, True),
        ([der_cert(ORG_SUBJECT), CA_CERT], 443, 1, False),
        ([CA_CERT], 443, 2, False),
    ]
    flows = []
    for i, (certs, port, n_records, _) in enumerate(cases):
        flow, _ = tls_flow(certs, ("192.0.2.%d" % (50 + i), 43100 + i),
                           ("198.51.100.%d" % (50 + i), port), 333,
                           n_records)
        flows.append(finish(flow))
    packets = interleave([f.packets for f in flows])
    rules = rules_file(tmp_path, et_rule(SLIVER_SID), "tls.rules")
    res = run_replay(pcap(packets), rules=rules, conf=et_conf(tmp_path))

    alerted = sorted(a["dest_ip"] if a["src_ip"].startswith("198.")
                     else a["src_ip"] for a in res.alerts)
    want = sorted(f.client[0] for f, c in zip(flows, cases) if c[3])
    assert alerted == want, res.alerts
    assert sids(res) == [SLIVER_SID] * 2
    assert res.summary["dropped"] == 0, res.drops
    assert res.counters["tls_server_handshakes"] == 4
    assert res.counters["detect_tls_certs"] == 7
    for f in flows:
        assert payload_stream(res.rev_packets, f.server) == \
            payload_stream(f.packets, f.server)
    assert_accounting(res, len(packets))


def test_server_segment_ahead_is_dropped_until_in_order(
        run_replay, pcap, rules_file, tmp_path):
    """A server segment beyond the next byte would let the client hold
    certificate bytes the rules have not seen: it is dropped, and its
    retransmission, now in order, is inspected."""
    certs = [der_cert(SLIVER_SUBJECT), CA_CERT]
    flow, data = tls_flow(certs, ("192.0.2.60", 43200),
                          ("198.51.100.60", 443))
    ahead = data[2]
    i, j = flow.packets.index(data[1]), flow.packets.index(ahead)
    flow.packets[i], flow.packets[j] = flow.packets[j], flow.packets[i]
    flow.packets.insert(j + 1, ahead.copy())
    finish(flow)
    rules = rules_file(tmp_path, et_rule(SLIVER_SID), "tls.rules")
    res = run_replay(pcap(flow.packets), rules=rules,
                     conf=et_conf(tmp_path))

    assert res.drops == {"server_out_of_order": 1}, res.drops
    assert sids(res) == [SLIVER_SID]
    assert payload_stream(res.rev_packets, flow.server) == \
        server_flight(certs) + b""
    assert_accounting(res, len(flow.packets))


def test_non_tls_servers_are_not_followed(run_replay, pcap, rules_file,
                                          tmp_path):
    ssh = TcpFlow(client=("192.0.2.70", 43300), server=("198.51.100.70", 22))
    ssh.handshake()
    ssh.send(b"SSH-2.0-OpenSSH_9.2\r\n", from_client=False)
    ssh.send(b"SSH-2.0-client\r\n")
    ssh.send(bytes(range(256)) * 4, 300, from_client=False)
    ssh.close()
    rules = rules_file(tmp_path, et_rule(SLIVER_SID), "tls.rules")
    res = run_replay(pcap(ssh.packets), rules=rules, conf=et_conf(tmp_path))

    assert res.summary["dropped"] == 0, res.drops
    assert res.counters["tls_server_not_tls"] == 1
    assert res.counters["tls_server_handshakes"] == 0
    assert payload_stream(res.rev_packets, ssh.server) == \
        payload_stream(ssh.packets, ssh.server)
    assert_accounting(res, len(ssh.packets))


def test_full_pool_evicts_the_stalled_server(run_replay, pcap, rules_file,
                                             tmp_path):
    """One certificate slot: A's server stalls mid-certificate, B's needs
    the slot.  B is inspected (its Sliver certificate alerts); A, stalled
    longest, loses its slot and its connection, reset both ways."""
    a, adata = tls_flow([CA_CERT], ("192.0.2.80", 43400),
                        ("198.51.100.80", 443))
    b, _ = tls_flow([der_cert(SLIVER_SUBJECT)], ("192.0.2.81", 43401),
                    ("198.51.100.80", 443))
    finish(b)
    # A: handshake, ClientHello, its first two server segments; then B
    cut = a.packets.index(adata[1]) + 1
    packets = a.packets[:cut] + b.packets
    conf = et_conf(tmp_path, tls_handshakes="1")
    rules = rules_file(tmp_path, et_rule(SLIVER_SID), "tls.rules")
    res = run_replay(pcap(packets), rules=rules, conf=conf)

    assert res.counters["detect_tls_evicted"] == 1
    assert res.counters["detect_tls_pool_full"] == 0
    assert sids(res) == [SLIVER_SID]
    events = [e["anomaly"]["event"] for e in res.anomalies
              if e["anomaly"]["layer"] == "detect"]
    assert events == ["tls_cert_evicted"], res.anomalies
    resets = [p for p in res.rev_packets if TCP in p and p[TCP].flags.R and
              p[IP].dst == a.client[0]]
    assert len(resets) == 1
    assert_accounting(res, len(packets))
