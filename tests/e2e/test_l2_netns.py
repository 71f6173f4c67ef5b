"""test_l2_netns - the live L2 path end to end: a real client and a real
HTTP server in their own network namespaces, the gateway between them as a
bump in the wire on two veth pairs (net_af_packet), as in the VM cloud
gateway deployment.

    [ips-e2e-cli] cli0 <-veth-> gwpub  [gateway]  gwpriv <-veth-> srv0 [ips-e2e-srv]
       192.0.2.10/24                                          192.0.2.20/24

Needs root (namespaces, af_packet); fails, never skips, without it.
Every client request is bounded by curl's --max-time; the server and the
gateway are stopped and the namespaces removed after the module.
"""
import json
import os
import signal
import time

import pytest

from netns import (BINARY, Topology, eve_alerts, sh, start_gateway,
                   start_pod_server, stop, wait_until)

CLI_NS, SRV_NS = "ips-e2e-cli", "ips-e2e-srv"
CLIENT_IP, SERVER_IP = "192.0.2.10", "192.0.2.20"
TOPO = Topology(CLI_NS, SRV_NS, "gwpub", "gwpriv", CLIENT_IP, SERVER_IP)

RULES = """\
drop http any any -> any any (msg:"E2E passwd read"; flow:to_server,established; http.uri; content:"/etc/passwd"; sid:9100001; rev:1;)
reject http any any -> any any (msg:"E2E reject marker"; flow:to_server,established; http.header; content:"X-E2E-Reject"; nocase; sid:9100002; rev:1;)
alert http any any -> any any (msg:"E2E scanner UA"; flow:to_server,established; http.user_agent; content:"e2e-scanner"; sid:9100003; rev:1;)
"""


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    assert os.geteuid() == 0, "the end-to-end test needs root (netns, af_packet)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    tmp = tmp_path_factory.mktemp("e2e")
    procs = []
    try:
        TOPO.create()
        (tmp / "e2e.rules").write_text(RULES)
        conf = tmp / "e2e.conf"
        conf.write_text(TOPO.gateway_conf(["e2e.rules"]))
        server = start_pod_server(tmp, SRV_NS, SERVER_IP)
        procs.append(server)
        eve = tmp / "eve.json"
        gw = start_gateway(conf, eve)
        procs.append(gw)
        # Ready when a benign request goes through (bounded wait).
        wait_until(lambda: curl("/index.html", max_time=2).returncode == 0,
                   "a request to reach the server through the gateway", gw)
        yield {"gw": gw, "eve": eve}
    finally:
        stop(procs)
        TOPO.destroy()


def curl(path, headers=(), max_time=5, ua="curl/e2e"):
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
            "--max-time", str(max_time), "-A", ua]
    for h in headers:
        args += ["-H", h]
    return sh(*args, "http://%s%s" % (SERVER_IP, path), ns=CLI_NS,
              check=False, timeout=max_time + 10)


def test_benign_request_reaches_the_pod(testbed):
    for _ in range(5):
        r = curl("/index.html")
        assert r.returncode == 0 and r.stdout == "200", (r.returncode, r.stdout)


def test_attack_is_blocked_and_logged(testbed):
    r = curl("/cgi-bin/../../etc/passwd", max_time=3)
    # The request never completes at the server: no HTTP status at all.
    assert r.returncode != 0 and r.stdout in ("000", ""), (r.returncode, r.stdout)
    alerts = eve_alerts(testbed["eve"], 9100001)
    assert alerts, "no EVE alert for the blocked request"
    a = alerts[0]
    assert a["alert"]["action"] == "blocked"
    assert (a["src_ip"], a["dest_ip"], a["dest_port"]) == (CLIENT_IP, SERVER_IP, 80)


def test_reject_resets_the_client(testbed):
    start = time.time()
    r = curl("/index.html", headers=("X-E2E-Reject: 1",), max_time=5)
    # curl exit 56 = connection reset: the reset arrived, no timeout.
    assert r.returncode == 56, (r.returncode, r.stdout)
    assert time.time() - start < 4
    assert eve_alerts(testbed["eve"], 9100002)


def test_alert_rule_lets_the_request_through(testbed):
    r = curl("/index.html", ua="e2e-scanner/1.0")
    assert r.stdout == "200"
    alerts = eve_alerts(testbed["eve"], 9100003)
    assert alerts and alerts[0]["alert"]["action"] == "allowed"


def test_gateway_survives_and_reports_on_sigterm(testbed):
    assert curl("/index.html").stdout == "200"
    gw = testbed["gw"]
    gw.send_signal(signal.SIGTERM)
    out, err = gw.communicate(timeout=20)
    assert gw.returncode == 0, err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["flows"] >= 8
    assert s["drops"].get("rule", 0) >= 2
    assert s["counters"]["verdict_rst_sent"] == 2
    assert s["packets_in"] == (s["forwarded"] + s["dropped"] +
                               s["held_at_exit"] + s["merged"])
