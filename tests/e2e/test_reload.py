"""test_reload - hot reload under live traffic (issue 8, "What must be
shown").

The gateway sits between a client and a server namespace on veth pairs
(net_af_packet), benign HTTP/1.1 flows through it without pause, and the
bundle is swapped 100 times over the control socket, alternating between
two rule sets that judge one attack differently: A alerts (sid 9300001 rev
1, forwarded), B rejects it (rev 2, RST both ways).  After every swap an
attack on a fresh connection must be judged by the set just loaded; a few
requests begun before a swap and finished after it must be judged by the
set they began on.  Bad bundles are refused with the rules in force
unchanged.  At the end: every benign request answered, every packet
accounted for (the gateway's counters against themselves and against the
kernel's count of what reached its ports), and resident memory growth over
the swaps printed and bounded.

    [ips-rl-cli] rlcli0 <-> rlpub [gateway] rlpriv <-> rlsrv0 [ips-rl-srv]
        198.51.100.10/24                            198.51.100.20/24

Needs root.  Bounded: every request has a timeout, the client's benign loop
stops by itself, the whole test takes well under two minutes; namespaces,
links and processes are removed whatever happens.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

SRC = Path(os.environ.get("IPS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("IPS_BUILD_DIR", SRC / "build"))
BINARY = BUILD / "ips-dataplane"
IPSCTL = BUILD / "ipsctl"
CLI_NS, SRV_NS = "ips-rl-cli", "ips-rl-srv"
CLIENT_IP, SERVER_IP = "198.51.100.10", "198.51.100.20"
SWAPS = 100
SLOW_AT = (5, 33, 64, 97)        # swaps a transaction straddles
RSS_BOUND_KB = 16 * 1024

RULE = ('{action} http any any -> any any (msg:"RL attack"; '
        'flow:to_server,established; http.uri; content:"/attack"; '
        'sid:9300001; rev:{rev};)\n')
SERVER = """
import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], 80),
    lambda *a: H(*a, directory=sys.argv[2])).serve_forever()
"""


def sh(*args, check=True, ns=None, timeout=30):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True,
                          timeout=timeout)


def cleanup():
    for ns in (CLI_NS, SRV_NS):
        sh("ip", "netns", "del", ns, check=False)
    for dev in ("rlpub", "rlpriv"):
        sh("ip", "link", "del", dev, check=False)


def veth_up(ns, inner, outer, addr):
    sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
    sh("ip", "link", "set", inner, "netns", ns)
    sh("ip", "addr", "add", addr + "/24", "dev", inner, ns=ns)
    for dev, where in ((inner, ns), (outer, None)):
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev, ns=where)
        sh("ethtool", "-K", dev, "tx", "off", ns=where)
        sh("ip", "link", "set", dev, "up", ns=where)
    sh("ip", "link", "set", "lo", "up", ns=ns)


def kernel_rx(dev):
    return int(Path("/sys/class/net/%s/statistics/rx_packets" % dev).read_text())


def rss_kb(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def ctl(sock, *args, ok=True):
    r = subprocess.run([str(IPSCTL), "--socket", str(sock), "--json"] +
                       [str(a) for a in args], capture_output=True,
                       text=True, timeout=30)
    reply = json.loads(r.stdout)
    assert reply["ok"] is ok, (args, reply)
    return reply


def raw_request(sock, req):
    """One request without ipsctl (which refuses a path that is not
    there)."""
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(json.dumps(req).encode() + b"\n")
        return json.loads(s.makefile().readline())


def compile_bundle(tmp, name, action, rev):
    rules = tmp / (name + ".rules")
    rules.write_text(RULE.format(action=action, rev=rev))
    out = tmp / (name + ".bundle")
    subprocess.run([str(IPSCTL), "compile", "-o", str(out), str(rules)],
                   check=True, capture_output=True, timeout=60)
    return out


def test_reload_under_traffic(tmp_path):
    assert os.geteuid() == 0, "the reload test needs root (netns, af_packet)"
    assert BINARY.exists() and IPSCTL.exists(), "build first"
    tmp = tmp_path
    bundles = {"A": compile_bundle(tmp, "A", "alert", 1),
               "B": compile_bundle(tmp, "B", "reject", 2)}
    expect = {"A": ("resp 404", "allowed", 1), "B": ("reset", "blocked", 2)}
    data = bundles["A"].read_bytes()
    (tmp / "truncated.bundle").write_bytes(data[:len(data) // 2])
    (tmp / "garbage.bundle").write_bytes(b"IPSBNDL1" + b"\0" * 200)
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("hello from the pod\n")
    sock = tmp / "ctl.sock"
    eve = tmp / "eve.json"
    conf = tmp / "reload.conf"
    conf.write_text("""
eal = [ "--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=error" ];
pmd_dir = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";
workers = 1;
mode = "l2";
ports = (
  { name = "pub"; devargs = "net_af_packet0,iface=rlpub,qpairs=1"; role = "public"; peer = "priv"; },
  { name = "priv"; devargs = "net_af_packet1,iface=rlpriv,qpairs=1"; role = "private"; peer = "pub"; }
);
limits = { flows = 2048; stream_held = 512; http_transactions = 256;
           body_streams = 32; raw_streams = 32; frag_datagrams = 64;
           alert_ring = 1024; };
signatures = { bundle = "%s"; };
control = { socket = "%s"; mode = 0600; };
""" % (bundles["A"], sock))

    cleanup()
    procs = []
    try:
        sh("ip", "netns", "add", CLI_NS)
        sh("ip", "netns", "add", SRV_NS)
        veth_up(CLI_NS, "rlcli0", "rlpub", CLIENT_IP)
        veth_up(SRV_NS, "rlsrv0", "rlpriv", SERVER_IP)
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV_NS, "/usr/bin/python3", "-c", SERVER,
             SERVER_IP, str(tmp / "www")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        rx0 = kernel_rx("rlpub") + kernel_rx("rlpriv")
        gw = subprocess.Popen([str(BINARY), "--config", str(conf), "--eve",
                               str(eve)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        procs.append(gw)
        deadline = time.time() + 30
        while not sock.exists():
            assert gw.poll() is None, "gateway exited: %s" % gw.stderr.read()
            assert time.time() < deadline, "no control socket"
            time.sleep(0.2)
        assert ctl(sock, "ping")["cmd"] == "ping"
        assert oct(sock.stat().st_mode & 0o777) == "0o600"

        client = subprocess.Popen(
            ["ip", "netns", "exec", CLI_NS, "/usr/bin/python3",
             str(Path(__file__).parent / "reload_client.py"), SERVER_IP,
             "--max-seconds", "100"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(client)

        def say(line):
            client.stdin.write(line + "\n")
            client.stdin.flush()
            return client.stdout.readline().strip()

        # the server answers through the gateway before anything else
        deadline = time.time() + 30
        while say("attack warmup") != "resp 404":
            assert time.time() < deadline, "no path through the gateway"
            time.sleep(0.5)

        phases = []                 # (marker, set in force at its start)
        slow = []                   # (marker, set it began on, result)
        in_force = "A"
        rss = {}
        swap_ms = []
        for i in range(SWAPS):
            if i in SLOW_AT:
                assert say("begin %d" % i) == "ok"
                began_on = in_force
            nxt = "B" if in_force == "A" else "A"
            reply = ctl(sock, "load", bundles[nxt])
            assert reply["generation"] == i + 2 and reply["rules"] == 1
            swap_ms.append(reply["swap_ms"])
            in_force = nxt
            if i in SLOW_AT:
                slow.append((i, began_on, say("finish %d" % i)))
            result = say("attack %d" % i)
            phases.append((i, in_force, result))
            if i == 0:
                rss["first"] = rss_kb(gw.pid)
            if i == 9:
                rss["warm"] = rss_kb(gw.pid)
            time.sleep(0.02)        # benign requests straddle the next swap
        rss["last"] = rss_kb(gw.pid)

        # a bad bundle changes nothing
        for bad, why in (("truncated.bundle", "truncated.bundle: "),
                         ("garbage.bundle", "garbage.bundle: "),
                         ("missing.bundle", "missing.bundle: ")):
            reply = raw_request(sock, {"cmd": "load",
                                       "bundle": str(tmp / bad)})
            assert reply["ok"] is False, reply
            assert why in reply["error"], reply
            assert reply["error"].endswith("(rules in force unchanged)"), reply
        assert say("attack after-bad") == expect[in_force][0]
        phases.append(("after-bad", in_force, expect[in_force][0]))
        version = ctl(sock, "version")
        assert version["generation"] == SWAPS + 1

        benign = say("stop").split()
        stats = ctl(sock, "stats")
        rules = ctl(sock, "rules")
        client.wait(timeout=15)
        time.sleep(0.5)             # last packets through the gateway
        rx_kernel = kernel_rx("rlpub") + kernel_rx("rlpriv") - rx0
        gw.send_signal(signal.SIGTERM)
        out, err = gw.communicate(timeout=30)
        assert gw.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        cleanup()

    # each phase judged by the rules in force
    for marker, in_set, result in phases:
        assert result == expect[in_set][0], (marker, in_set, result)
    for marker, began_on, result in slow:
        assert result == expect[began_on][0], ("slow", marker, began_on,
                                               result)
    alerts = {}
    for line in eve.read_text().splitlines():
        ev = json.loads(line)
        if ev.get("event_type") == "alert":
            alerts[ev["http"]["url"]] = ev["alert"]
    for marker, in_set, _ in phases:
        a = alerts["/attack?phase=%s" % marker]
        assert (a["action"], a["rev"]) == expect[in_set][1:], (marker, a)
    for marker, began_on, _ in slow:
        a = alerts["/attack?slow=%s" % marker]
        assert (a["action"], a["rev"]) == expect[began_on][1:], (marker, a)

    # benign traffic never stopped and never failed
    ok, failed = int(benign[1]), int(benign[2])
    assert failed == 0 and ok >= 20, benign

    # every packet accounted for
    s = summary
    assert s["packets_in"] == (s["forwarded"] + s["dropped"] +
                               s["held_at_exit"] + s["merged"]), s
    assert s["packets_in"] == rx_kernel, (s["packets_in"], rx_kernel)
    assert stats["total"]["rx_packets"] <= s["packets_in"]
    assert stats["total"]["rx_packets"] == sum(
        w["rx_packets"] for w in stats["per_worker"])
    # one rule, its hits in the last generation: the attacks since
    assert rules["count"] == 1 and rules["rules"][0]["sid"] == 9300001
    assert rules["rules"][0]["hits"] >= 1

    growth_all = rss["last"] - rss["first"]
    growth_warm = rss["last"] - rss["warm"]
    print("\nreload: %d swaps, %d attack phases, %d straddling requests, "
          "%d benign requests answered, %d packets in (kernel %d), "
          "%d forwarded, %d dropped; swap %.3f ms median; RSS %d kB after "
          "the first swap, %d kB after 10, %d kB after %d: growth %d kB "
          "(%d kB after warm-up)" % (
              SWAPS, len(phases), len(slow), ok, s["packets_in"], rx_kernel,
              s["forwarded"], s["dropped"], sorted(swap_ms)[len(swap_ms) // 2],
              rss["first"], rss["warm"], rss["last"], SWAPS, growth_all,
              growth_warm))
    assert growth_warm < RSS_BOUND_KB, rss
