"""test_slowloris - a live slowloris flood costs the flood, not the clients
that come after it (DESIGN §9), with real sockets on both sides.

    [slow-cli] cli0 <-veth-> slowpub [gateway] slowpriv <-veth-> srv0 [slow-srv]
      192.0.2.50 (attacker)                                       192.0.2.60
      192.0.2.51 (client)

The gateway has HTTP_TXNS transactions; the attacker opens twice as many
connections, each with a request head it never finishes.  Then curl, from
a second address, must be served: the head stalled longest gives up its
transaction (reset both ways), not the newcomer.  A legitimate slow client
(one header line a second for 10 s) is served while the pool is not full.

Needs root (namespaces, af_packet); fails, never skips, without it.  Run it
under `flock /tmp/ips-e2e.lock`.  Every loop and wait is bounded; the
attacker, the server and the gateway are stopped and the namespaces
removed after the module.
"""
import json
import os
import subprocess
import time

import pytest

from netns import (BINARY, Topology, eve_events, sh, start_gateway,
                   start_pod_server, stop, wait_until)

CLI_NS, SRV_NS = "slow-cli", "slow-srv"
ATTACKER_IP, CLIENT_IP, SERVER_IP = "192.0.2.50", "192.0.2.51", "192.0.2.60"
TOPO = Topology(CLI_NS, SRV_NS, "slowpub", "slowpriv",
                [ATTACKER_IP, CLIENT_IP], SERVER_IP)
HTTP_TXNS = 16
IDLE = 2 * HTTP_TXNS
RULES = """\
drop http any any -> any any (msg:"E2E passwd read"; flow:to_server,established; http.uri; content:"/etc/passwd"; sid:9100101; rev:1;)
"""
# One source holds the whole pool here: the test is about the pool, not
# the per-source share (tests/replay/test_floods.py covers shares).
LIMITS = """
limits = { http_transactions = %d; source_share = 100; };
""" % HTTP_TXNS

# Opens N connections from ADDR, sends each an unfinished head, says
# "ready" and holds them until stdin closes (at most 120 s).
ATTACKER = r"""
import select, socket, sys
addr, server, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.create_connection((server, 80), timeout=5,
                                 source_address=(addr, 0))
    s.sendall(b"GET /slow/%d HTTP/1.1\r\nHost: pod\r\nX-Wait: " % i)
    socks.append(s)
print("ready", flush=True)
select.select([sys.stdin], [], [], 120)
"""


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    assert os.geteuid() == 0, "the end-to-end test needs root (netns, af_packet)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    tmp = tmp_path_factory.mktemp("slowloris")
    procs = []
    try:
        TOPO.create()
        (tmp / "e2e.rules").write_text(RULES)
        conf = tmp / "e2e.conf"
        conf.write_text(TOPO.gateway_conf(["e2e.rules"], extra=LIMITS))
        server = start_pod_server(tmp, SRV_NS, SERVER_IP)
        procs.append(server)
        eve = tmp / "eve.json"
        gw = start_gateway(conf, eve)
        procs.append(gw)
        wait_until(lambda: curl(max_time=2).stdout == "200",
                   "a request to reach the server through the gateway", gw)
        yield {"gw": gw, "eve": eve, "procs": procs}
    finally:
        stop(procs)
        TOPO.destroy()


def curl(path="/index.html", max_time=5):
    return sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
              "--max-time", str(max_time), "--interface", CLIENT_IP,
              "http://%s%s" % (SERVER_IP, path), ns=CLI_NS, check=False,
              timeout=max_time + 10)


# Sends a request one header line a second for 10 s, then prints the
# status line of the answer.
SLOW_CLIENT = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[2], 80), timeout=30,
                             source_address=(sys.argv[1], 0))
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: pod\r\n")
for i in range(10):
    time.sleep(1)
    s.sendall(b"X-Line-%d: slow\r\n" % i)
s.sendall(b"Connection: close\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode(), flush=True)
"""


def test_slow_client_is_served_while_the_pool_has_room(testbed):
    r = sh("/usr/bin/python3", "-c", SLOW_CLIENT, CLIENT_IP, SERVER_IP,
           ns=CLI_NS, check=False, timeout=40)
    assert r.stdout.strip().endswith("200 OK"), (r.stdout, r.stderr)


def test_clients_are_served_during_a_slowloris_flood(testbed):
    attacker = subprocess.Popen(
        ["ip", "netns", "exec", CLI_NS, "/usr/bin/python3", "-c", ATTACKER,
         ATTACKER_IP, SERVER_IP, str(IDLE)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    testbed["procs"].append(attacker)
    try:
        line = attacker.stdout.readline()
        assert line.strip() == "ready", attacker.stderr.read()
        # the pool is full of unfinished heads: every request from the
        # second client must still be served
        codes = [curl().stdout for _ in range(10)]
        assert codes == ["200"] * 10, codes
    finally:
        attacker.stdin.close()
        attacker.wait(timeout=15)
    evicted = []
    deadline = time.time() + 5
    while time.time() < deadline and not evicted:
        evicted = [e for e in eve_events(testbed["eve"])
                   if e.get("event_type") == "anomaly" and
                   e["anomaly"]["event"] == "txn_evicted"]
        time.sleep(0.2)
    assert evicted, "no txn_evicted anomaly in the EVE log"
    assert all(e["src_ip"] == ATTACKER_IP for e in evicted), evicted[:3]


def test_gateway_counted_the_evictions(testbed):
    gw = testbed["gw"]
    gw.send_signal(15)
    out, err = gw.communicate(timeout=20)
    assert gw.returncode == 0, err
    s = json.loads(out.strip().splitlines()[-1])
    c = s["counters"]
    # the idle heads beyond the pool, and one per request that found the
    # pool full again
    assert c["http_txn_evicted"] >= IDLE - HTTP_TXNS, \
        " ".join("%s=%s" % (k, v) for k, v in c.items() if v)
    assert c["verdict_rst_sent"] == 2 * c["http_txn_evicted"], c
    assert s["drops"].get("http_txn_pool_full", 0) == 0, s["drops"]
    assert s["packets_in"] == (s["forwarded"] + s["dropped"] +
                               s["held_at_exit"] + s["merged"])
