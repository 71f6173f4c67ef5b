"""test_tls_live - tls.certs rules on a real TLS stack: OpenSSL's server
and client in their own namespaces, the gateway between them as a bump in
the wire (net_af_packet), certificates made by openssl for the test.

    [ips-tls-cli] cli0 <-veth-> tlspub [gateway] tlspriv <-veth-> srv0 [ips-tls-srv]
       192.0.2.50/24                                          192.0.2.60/24

A server presenting the "evil" certificate (TLS 1.2) is cut off before
the client has it; the same rules let a benign certificate through on any
port; TLS 1.3 encrypts its certificates, so they are not inspected (as in
Suricata), and the handshake completes.  Needs root; fails, never skips.
Every client is bounded by its timeout; the servers and the gateway are
stopped and the namespaces removed after the module.
"""
import os

import pytest

from netns import (BINARY, Topology, eve_alerts, sh, start_gateway, stop,
                   wait_until)

import subprocess
import time

CLI_NS, SRV_NS = "ips-tls-cli", "ips-tls-srv"
CLIENT_IP, SERVER_IP = "192.0.2.50", "192.0.2.60"
TOPO = Topology(CLI_NS, SRV_NS, "tlspub", "tlspriv", CLIENT_IP, SERVER_IP)
EVIL_SID, EVIL_CN_SID = 9200001, 9200002
ET_SUBJECT_SID, ISSUER_DROP_SID, SNI_SID = 2031299, 9200003, 9200004
JA3_SID = 9200005
V13_SID, V12_DROP_SID = 9200006, 9200007

RULES = """\
drop tls any any -> any any (msg:"E2E evil certificate"; flow:established,to_client; tls.certs; content:"c2.evil.example"; sid:9200001; rev:1;)
alert tls any any -> any any (msg:"E2E evil CN, relative pcre"; flow:established,to_client; tls.certs; content:"|55 04 03|"; pcre:"/^.{1,2}c2\\.evil\\.example/R"; sid:9200002; rev:1;)
alert tls any any -> any any (msg:"ET CURRENT_EVENTS [Fireeye] Backdoor.SSL.BEACON.[CSBundle Ajax]"; flow:established,to_client; tls.cert_subject; content:"C=US, ST=WA, L=Seattle, O=Microsoft, OU=Information Technologies, CN=ajax.microsoft.com"; bsize:87; fast_pattern; tls.cert_issuer; content:"C=US, ST=WA, L=Seattle, O=Microsoft, OU=Information Technologies, CN=ajax.microsoft.com"; bsize:87; classtype:trojan-activity; sid:2031299; rev:2;)
drop tls any any -> any any (msg:"E2E issuer"; flow:established,to_client; tls.cert_issuer; content:"OU=Information Technologies, CN=ajax"; tls.cert_serial; content:":"; sid:9200003; rev:1;)
drop tls any any -> any any (msg:"E2E SNI"; flow:established,to_server; tls.sni; content:"blocked.example"; endswith; sid:9200004; rev:1;)
drop tls any any -> any 13443 (msg:"E2E JA3"; flow:established,to_server; ja3.string; content:"771,"; startswith; pcre:"/^771,[0-9-]+,([0-9]+-)*0(-[0-9]+)*,/"; ja3.hash; pcre:"/^[0-9a-f]{32}$/"; sid:9200005; rev:1;)
alert tls any any -> any [14443,15443] (msg:"E2E TLS 1.3 client"; flow:established,to_server; tls.version:1.3; sid:9200006; rev:1;)
drop tls any any -> any [14443,15443] (msg:"E2E TLS 1.2 client"; flow:established,to_server; tls.version:1.2; sid:9200007; rev:1;)
"""

# name -> (subject, port the server listens on, TLS versions it offers)
SERVERS = {
    "evil12": ("/CN=c2.evil.example/O=E2E", 443, ["-tls1_2"]),
    "good12": ("/CN=www.good.example/O=E2E", 8443, ["-tls1_2"]),
    "evil13": ("/CN=c2.evil.example/O=E2E", 9443, ["-tls1_3"]),
    # ET's CobaltStrike profile certificate (sid 2031299): self-signed
    "beacon12": ("/C=US/ST=WA/L=Seattle/O=Microsoft/"
                 "OU=Information Technologies/CN=ajax.microsoft.com",
                 10443, ["-tls1_2"]),
    # for tls.sni: s_server serves one connection at a time, and a dropped
    # ClientHello leaves it waiting on that one, so these take no other
    "sni12": ("/CN=www.good.example/O=E2E", 11443, ["-tls1_2"]),
    "sni13": ("/CN=www.good.example/O=E2E", 12443, ["-tls1_3"]),
    "ja3": ("/CN=www.good.example/O=E2E", 13443, ["-tls1_2"]),
    # for tls.version: both versions offered; 15443 takes the dropped one
    "version": ("/CN=www.good.example/O=E2E", 14443, []),
    "version12": ("/CN=www.good.example/O=E2E", 15443, []),
}


def make_cert(tmp, name, subject):
    key, crt = tmp / (name + ".key"), tmp / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", subject, "-keyout",
                    str(key), "-out", str(crt)], check=True,
                   capture_output=True, timeout=60)
    return key, crt


def start_tls_server(tmp, name):
    subject, port, versions = SERVERS[name]
    key, crt = make_cert(tmp, name, subject)
    return subprocess.Popen(
        ["ip", "netns", "exec", SRV_NS, "openssl", "s_server", "-quiet",
         "-www", "-accept", "%s:%d" % (SERVER_IP, port), "-cert", str(crt),
         "-key", str(key)] + versions,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def curl_tls(port, max_time=5, sni=None, extra=()):
    """curl over TLS to the server's port, naming sni in its ClientHello
    (none: the address, which sends no server_name); (exit code, HTTP
    status)."""
    host = sni or SERVER_IP
    resolve = ["--resolve", "%s:%d:%s" % (sni, port, SERVER_IP)] if sni \
        else []
    r = sh("curl", "-s", "-k", "-o", "/dev/null", "-w", "%{http_code}",
           "--max-time", str(max_time), *resolve, *extra,
           "https://%s:%d/" % (host, port),
           ns=CLI_NS, check=False, timeout=max_time + 10)
    return r.returncode, r.stdout


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    assert os.geteuid() == 0, "the end-to-end test needs root (netns, af_packet)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    tmp = tmp_path_factory.mktemp("tls")
    procs = []
    try:
        TOPO.create()
        (tmp / "tls.rules").write_text(RULES)
        conf = tmp / "tls.conf"
        conf.write_text(TOPO.gateway_conf(["tls.rules"]))
        for name in SERVERS:
            procs.append(start_tls_server(tmp, name))
        eve = tmp / "eve.json"
        gw = start_gateway(conf, eve)
        procs.append(gw)
        wait_until(lambda: curl_tls(8443, max_time=2) == (0, "200"),
                   "a TLS request to reach the benign server", gw)
        yield {"gw": gw, "eve": eve}
    finally:
        stop(procs)
        TOPO.destroy()


def test_benign_certificate_passes_on_any_port(testbed):
    for _ in range(3):
        assert curl_tls(8443) == (0, "200")
    assert not eve_alerts(testbed["eve"], EVIL_SID, wait=0.5)
    assert not eve_alerts(testbed["eve"], ET_SUBJECT_SID, wait=0.1)
    assert not eve_alerts(testbed["eve"], ISSUER_DROP_SID, wait=0.1)


def test_certificate_names_as_suricata_prints_them(testbed):
    """tls.cert_subject / tls.cert_issuer / tls.cert_serial on the names
    OpenSSL wrote: ET's rule matches the subject string byte for byte
    (bsize 87), and a drop on the issuer cuts the handshake."""
    code, status = curl_tls(10443, max_time=4)
    assert code != 0 and status in ("000", ""), (code, status)
    assert eve_alerts(testbed["eve"], ET_SUBJECT_SID)
    drops = eve_alerts(testbed["eve"], ISSUER_DROP_SID)
    assert drops and drops[0]["alert"]["action"] == "blocked"


def test_evil_certificate_is_cut_before_the_client_has_it(testbed):
    code, status = curl_tls(443, max_time=4)
    # no handshake, so no HTTP status at all
    assert code != 0 and status in ("000", ""), (code, status)
    alerts = eve_alerts(testbed["eve"], EVIL_SID)
    assert alerts, "no EVE alert for the evil certificate"
    assert alerts[0]["alert"]["action"] == "blocked"
    assert eve_alerts(testbed["eve"], EVIL_CN_SID)
    # the server is still there: the benign one still answers
    assert curl_tls(8443) == (0, "200")


def test_sni_is_read_before_the_server_has_the_hello(testbed):
    """tls.sni on curl's ClientHello: any other name reaches the server,
    the named host is cut before the handshake, over TLS 1.2 and 1.3 alike
    (the ClientHello is clear in both)."""
    for port in (11443, 12443):
        assert curl_tls(port, sni="www.good.example") == (0, "200")
    assert not eve_alerts(testbed["eve"], SNI_SID, wait=0.3)
    for n, port in enumerate((11443, 12443), 1):
        code, status = curl_tls(port, max_time=4, sni="c2.blocked.example")
        assert code != 0 and status in ("000", ""), (code, status)
        deadline = time.time() + 5
        while len(alerts := eve_alerts(testbed["eve"], SNI_SID)) < n and \
                time.time() < deadline:
            time.sleep(0.2)
        assert len(alerts) == n
        assert alerts[-1]["alert"]["action"] == "blocked"
        assert alerts[-1]["src_ip"] == CLIENT_IP


def test_ja3_of_a_live_client_hello(testbed):
    """ja3.string / ja3.hash on curl's ClientHello: TLS 1.2's legacy
    version (771), a server_name extension (type 0) after the ciphers, the
    hash 32 lower-case hex digits; the handshake is cut there."""
    code, status = curl_tls(13443, max_time=4, sni="www.good.example")
    assert code != 0 and status in ("000", ""), (code, status)
    alerts = eve_alerts(testbed["eve"], JA3_SID)
    assert alerts and alerts[0]["alert"]["action"] == "blocked"


def test_tls_version_of_a_live_client_hello(testbed):
    """tls.version on curl's ClientHello: offering TLS 1.3, its version is
    the first of supported_versions (1.3, legacy_version still 1.2), and
    the handshake goes on; limited to 1.2 (no supported_versions), it is
    1.2, and the drop cuts it before the server has the hello."""
    assert curl_tls(14443) == (0, "200")
    alerts = eve_alerts(testbed["eve"], V13_SID)
    assert alerts and alerts[0]["alert"]["action"] == "allowed"
    assert not eve_alerts(testbed["eve"], V12_DROP_SID, wait=0.3)
    code, status = curl_tls(15443, max_time=4, extra=("--tls-max", "1.2"))
    assert code != 0 and status in ("000", ""), (code, status)
    drops = eve_alerts(testbed["eve"], V12_DROP_SID)
    assert drops and drops[0]["alert"]["action"] == "blocked"
    assert len(eve_alerts(testbed["eve"], V13_SID)) == 1


def test_tls13_certificates_are_not_visible(testbed):
    """TLS 1.3 sends its Certificate encrypted: nothing to inspect, the
    handshake completes (Suricata does not see it either)."""
    before = len(eve_alerts(testbed["eve"], EVIL_SID, wait=0.2))
    assert curl_tls(9443) == (0, "200")
    assert len(eve_alerts(testbed["eve"], EVIL_SID, wait=0.5)) == before
