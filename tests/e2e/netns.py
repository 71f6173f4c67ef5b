"""netns - shared plumbing of the end-to-end tests: a client namespace and a
server ("pod") namespace joined by the gateway as a bump in the wire on two
veth pairs (net_af_packet), as in the VM cloud gateway deployment.

    [cli ns] cli0 <-veth-> PUB  [gateway]  PRIV <-veth-> srv0 [srv ns]

Every test module names its own namespaces and host-side veths, so modules
never share state.  Everything here is bounded in time.
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
PMD_DIR = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"


def sh(*args, check=True, ns=None, timeout=30):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True,
                          timeout=timeout)


def veth_up(ns, inner, outer, addrs):
    """A veth pair: INNER (with ADDRS, a string or a list) in NS, OUTER on
    the host for the gateway."""
    if isinstance(addrs, str):
        addrs = [addrs]
    sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
    sh("ip", "link", "set", inner, "netns", ns)
    for addr in addrs:
        sh("ip", "addr", "add", addr + "/24", "dev", inner, ns=ns)
    for dev, where in ((inner, ns), (outer, None)):
        # af_packet hands the gateway what the kernel built: with TX
        # checksum offload the TCP checksum would be left partial.
        sh("ethtool", "-K", dev, "tx", "off", ns=where)
        sh("ip", "link", "set", dev, "up", ns=where)
    sh("ip", "link", "set", "lo", "up", ns=ns)


class Topology:
    """Two namespaces and two veth pairs; create() then destroy() (which is
    also safe to call on a half-built or a stale topology)."""

    def __init__(self, cli_ns, srv_ns, pub, priv, client_ips, server_ips):
        self.cli_ns, self.srv_ns = cli_ns, srv_ns
        self.pub, self.priv = pub, priv
        self.client_ips, self.server_ips = client_ips, server_ips

    def destroy(self):
        for ns in (self.cli_ns, self.srv_ns):
            sh("ip", "netns", "del", ns, check=False)
        for dev in (self.pub, self.priv):
            sh("ip", "link", "del", dev, check=False)

    def create(self):
        self.destroy()
        sh("ip", "netns", "add", self.cli_ns)
        sh("ip", "netns", "add", self.srv_ns)
        veth_up(self.cli_ns, "cli0", self.pub, self.client_ips)
        veth_up(self.srv_ns, "srv0", self.priv, self.server_ips)
        for dev in (self.pub, self.priv):
            # the gateway's ports carry no addresses: the host stays out
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev)

    def gateway_conf(self, rule_files, classification="", extra=""):
        """The gateway's libconfig text: l2 pair over the two host veths."""
        files = ", ".join('"%s"' % f for f in rule_files)
        return """
eal = [ "--no-huge", "-m", "512", "--no-shconf", "--no-pci", "--log-level=error" ];
pmd_dir = "%s";
workers = 1;
mode = "l2";
ports = (
  { name = "pub"; devargs = "net_af_packet0,iface=%s,qpairs=1"; role = "public"; peer = "priv"; },
  { name = "priv"; devargs = "net_af_packet1,iface=%s,qpairs=1"; role = "private"; peer = "pub"; }
);
signatures = { files = [ %s ]; classification = "%s"; };
%s""" % (PMD_DIR, self.pub, self.priv, files, classification, extra)


def start_pod_server(tmp, ns, ip):
    """Python's http.server (threading: every connection waits in its own
    thread, as a real pod keeps serving others) on IP:80 in NS, serving
    TMP/www/index.html."""
    (tmp / "www").mkdir(exist_ok=True)
    (tmp / "www" / "index.html").write_text("hello from the pod\n")
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, "/usr/bin/python3", "-m", "http.server",
         "80", "--bind", ip, "--directory", str(tmp / "www")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_gateway(conf, eve):
    """The gateway on CONF, alerts to EVE, its control socket beside EVE
    (live mode would otherwise open the configured /run/ips/ctl.sock)."""
    sock = Path(eve).parent / "ctl.sock"
    return subprocess.Popen([str(BINARY), "--config", str(conf), "--eve",
                             str(eve), "--control-socket", str(sock)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(procs, timeout=15):
    """SIGTERM each process still running, SIGKILL after TIMEOUT."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def wait_until(ready, what, gw=None, timeout=30, step=0.5):
    """Poll READY() until it returns true, at most TIMEOUT seconds; fail
    early if the gateway process GW exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if gw is not None and gw.poll() is not None:
            raise AssertionError("gateway exited: %s" % gw.stderr.read())
        if ready():
            return
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def eve_events(path):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass          # a line being written right now
    return out


def eve_alerts(path, sid, wait=5.0):
    deadline = time.time() + wait
    while time.time() < deadline:
        found = [e for e in eve_events(path)
                 if e.get("event_type") == "alert"
                 and e["alert"]["signature_id"] == sid]
        if found:
            return found
        time.sleep(0.2)
    return []
