"""testbed - a small network with real clients and real pods around the
gateway, built from network namespaces and veth pairs by the tests that
use it, and removed by them.

    client net                    the gateway              cluster
    [cli] --- [rtr] ==pub==> [ips-dataplane] ==priv==> [node] --br0-- [pod1] nginx
                 \\                                       |    \\----- [pod2] python
                  \\------------- direct link ------------/

  cli   192.0.2.10/25        2001:db8:c::10/64     a client (curl, wrk)
  rtr   192.0.2.1/25         2001:db8:c::1/64      the client network's router
        uplink  198.51.100.2/28  2001:db8:1::2/64
        direct  192.0.2.129/28                     bypass, for comparisons
  gateway (mode l3)
        pub     198.51.100.1/28  2001:db8:1::1/64  (the gateway's own)
        priv    198.51.100.17/28 2001:db8:2::1/64
  node  downlink 198.51.100.18/28 2001:db8:2::2/64 a Kubernetes node
        (mode l2: 198.51.100.3/28, 2001:db8:1::3/64, the gateway a bump
        in the wire between rtr and node)
        br0     203.0.113.1/24   2001:db8:a::1/64  the pod network
        direct  192.0.2.130/28
  pod1  203.0.113.10 (.11: reached over the direct link)  2001:db8:a::10
        Debian's nginx, as a Kubernetes ingress serves: files, PUT uploads
  pod2  203.0.113.20         2001:db8:a::20        Python's http.server
        (tests/e2e/pod_server.py): files, PUT/POST uploads, chunked too

Addresses only from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
2001:db8::/32.  The gateway runs on net_af_packet or net_af_xdp over the
host-side ends of the pub and priv veths.  Every name starts with the
testbed's prefix, so modules never share anything.
"""
import hashlib
import json
import socket
import subprocess
import time
from pathlib import Path

from netns import BINARY, PMD_DIR, SRC, sh, stop, wait_until

HERE = Path(__file__).resolve().parent

POD1 = {"v4": "203.0.113.10", "v6": "2001:db8:a::10", "direct": "203.0.113.11"}
POD2 = {"v4": "203.0.113.20", "v6": "2001:db8:a::20"}
CLIENT = {"v4": "192.0.2.10", "v6": "2001:db8:c::10"}
GW_PUB = {"v4": "198.51.100.1", "v6": "2001:db8:1::1"}
NODE_L3 = "198.51.100.18"
SERVICE_PORTS = (80, 8080)

NGINX_CONF = """\
user root;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format plain '$server_addr $remote_addr $remote_port "$request" $status $bytes_sent $request_length';
    access_log {tmp}/nginx-access.log plain;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    keepalive_requests 100000;
    client_max_body_size 0;
    server {{
        listen {v4}:80;
        listen {direct}:80;
        listen [{v6}]:80;
        root {tmp}/www;
        location /upload/ {{
            root {tmp};
            dav_methods PUT;
            create_full_put_path on;
        }}
        location = /hello {{ return 200 "hello from nginx\\n"; }}
    }}
}}
"""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_random(path, size, seed):
    """size bytes from a seeded generator (the same bytes every run)."""
    import random
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def ctl(sock, cmd, timeout=5):
    """One request on the dataplane's control socket; the reply object."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(sock))
    s.sendall((json.dumps({"cmd": cmd}) + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


class Testbed:
    """Namespaces, links, pods and the gateway.  create() builds the
    network, start_pods() the servers, start_gateway() the dataplane;
    destroy() undoes everything and is safe on a half-built testbed."""

    __test__ = False                 # not a test class for pytest

    def __init__(self, prefix, tmp, mode="l3", driver="af_packet",
                 nginx_workers=1):
        self.p = prefix
        self.tmp = Path(tmp)
        self.mode = mode
        self.driver = driver
        self.nginx_workers = nginx_workers
        self.ns = {k: prefix + k for k in ("cli", "rtr", "node", "pod1",
                                           "pod2")}
        self.pub = prefix + "pub"
        self.priv = prefix + "priv"
        self.procs = []
        self.gw = None
        self.eve = self.tmp / "eve.json"
        self.sock = self.tmp / "ctl.sock"
        self.gw_log = self.tmp / "gateway.err"

    # -- network -----------------------------------------------------------

    def destroy(self):
        stop(self.procs)
        self.procs = []
        for ns in self.ns.values():
            sh("ip", "netns", "del", ns, check=False)
        for dev in (self.pub, self.priv):
            sh("ip", "link", "del", dev, check=False)

    def _link(self, a_ns, a_dev, b_ns, b_dev):
        """A veth pair; a None namespace is the host."""
        tmp_a, tmp_b = self.p + "ta", self.p + "tb"
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        for tmp, ns, dev in ((tmp_a, a_ns, a_dev), (tmp_b, b_ns, b_dev)):
            if ns is not None:
                sh("ip", "link", "set", tmp, "netns", ns)
            sh("ip", "link", "set", tmp, "name", dev, ns=ns)
            # af_packet/af_xdp hand the gateway what the kernel built: with
            # TX checksum offload the checksums would be left partial
            sh("ethtool", "-K", dev, "tx", "off", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)

    def _addr(self, ns, dev, *addrs):
        for a in addrs:
            fam = ["-6"] if ":" in a else []
            sh("ip", *fam, "addr", "add", a, "dev", dev,
               *(["nodad"] if ":" in a else []), ns=ns)

    def _route(self, ns, *args):
        fam = ["-6"] if any(":" in a for a in args) else []
        sh("ip", *fam, "route", "add", *args, ns=ns)

    def create(self):
        self.destroy()
        n = self.ns
        for ns in n.values():
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for ns in (n["rtr"], n["node"]):
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=ns)
            sh("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", ns=ns)
            sh("sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0", ns=ns)
        self._link(n["cli"], "eth0", n["rtr"], "lan0")
        self._link(n["rtr"], "up0", None, self.pub)
        self._link(None, self.priv, n["node"], "down0")
        self._link(n["rtr"], "dir0", n["node"], "dir1")
        for dev in (self.pub, self.priv):
            # the gateway's ports carry no addresses: the host stays out
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev)
        sh("ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0",
           ns=n["node"])
        sh("ip", "link", "set", "br0", "up", ns=n["node"])
        for pod in ("pod1", "pod2"):
            self._link(n[pod], "eth0", n["node"], "v" + pod)
            sh("ip", "link", "set", "v" + pod, "master", "br0", ns=n["node"])
        self._address()
        self._routes()

    def _address(self):
        n, l3 = self.ns, self.mode == "l3"
        self._addr(n["cli"], "eth0", "192.0.2.10/25", "2001:db8:c::10/64")
        self._addr(n["rtr"], "lan0", "192.0.2.1/25", "2001:db8:c::1/64")
        self._addr(n["rtr"], "up0", "198.51.100.2/28", "2001:db8:1::2/64")
        self._addr(n["rtr"], "dir0", "192.0.2.129/28")
        self._addr(n["node"], "down0",
                   *(("198.51.100.18/28", "2001:db8:2::2/64") if l3 else
                     ("198.51.100.3/28", "2001:db8:1::3/64")))
        self._addr(n["node"], "dir1", "192.0.2.130/28")
        self._addr(n["node"], "br0", "203.0.113.1/24", "2001:db8:a::1/64")
        self._addr(n["pod1"], "eth0", "203.0.113.10/24", "203.0.113.11/24",
                   "2001:db8:a::10/64")
        self._addr(n["pod2"], "eth0", "203.0.113.20/24", "2001:db8:a::20/64")

    def _routes(self):
        n, l3 = self.ns, self.mode == "l3"
        self._route(n["cli"], "default", "via", "192.0.2.1")
        self._route(n["cli"], "default", "via", "2001:db8:c::1")
        for pod in ("pod1", "pod2"):
            self._route(n[pod], "default", "via", "203.0.113.1")
            self._route(n[pod], "default", "via", "2001:db8:a::1")
        gw4, gw6 = ("198.51.100.1", "2001:db8:1::1") if l3 else \
            ("198.51.100.3", "2001:db8:1::3")
        self._route(n["rtr"], "203.0.113.0/24", "via", gw4)
        self._route(n["rtr"], "2001:db8:a::/64", "via", gw6)
        # pod1's second address only over the direct link: the baseline
        self._route(n["rtr"], "203.0.113.11/32", "via", "192.0.2.130")
        if l3:
            # the cluster link is behind the gateway: reachable only if
            # the gateway routed everything (it must not)
            self._route(n["rtr"], "198.51.100.16/28", "via", "198.51.100.1")
            self._route(n["node"], "default", "via", "198.51.100.17")
            self._route(n["node"], "default", "via", "2001:db8:2::1")
        else:
            self._route(n["node"], "default", "via", "198.51.100.2")
            self._route(n["node"], "default", "via", "2001:db8:1::2")
        # answers from .11 go back the way they came
        sh("ip", "rule", "add", "from", "203.0.113.11", "table", "100",
           ns=n["node"])
        self._route(n["node"], "default", "via", "192.0.2.129", "table", "100")

    # -- pods --------------------------------------------------------------------

    def pod_dir(self, pod):
        return self.tmp / pod

    def start_pods(self):
        """nginx in pod1, the Python server in pod2, a listener on the
        node's own cluster address (what the gateway must not reach)."""
        p1 = self.pod_dir("pod1")
        for d in ("www", "upload", "body", "proxy", "fastcgi", "uwsgi",
                  "scgi"):
            (p1 / d).mkdir(parents=True, exist_ok=True)
        (p1 / "www" / "index.html").write_text("hello from pod1\n")
        conf = p1 / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=p1, v4=POD1["v4"],
                                          v6=POD1["v6"],
                                          direct=POD1["direct"],
                                          workers=self.nginx_workers))
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns["pod1"], "nginx", "-p", str(p1),
             "-e", str(p1 / "nginx-error.log"), "-c", str(conf), "-g",
             "daemon off;"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        p2 = self.pod_dir("pod2")
        for d in ("www", "upload"):
            (p2 / d).mkdir(parents=True, exist_ok=True)
        (p2 / "www" / "index.html").write_text("hello from pod2\n")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns["pod2"], "/usr/bin/python3",
             str(HERE / "pod_server.py"), "--root", str(p2), "--log",
             str(p2 / "access.log"), POD2["v4"], POD2["v6"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        node = self.tmp / "node"
        node.mkdir(exist_ok=True)
        (node / "index.html").write_text("the node itself\n")
        if self.mode == "l3":
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns["node"], "/usr/bin/python3",
                 "-m", "http.server", "80", "--bind", NODE_L3, "--directory",
                 str(node)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        for ns, addr in ((self.ns["pod1"], POD1["v4"]),
                         (self.ns["pod2"], POD2["v4"])):
            wait_until(lambda: self.curl_ok(ns, addr), "a pod server in " + ns,
                       timeout=20)

    def curl_ok(self, ns, addr):
        r = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "--max-time", "2", "http://%s/index.html" % addr, ns=ns,
               check=False, timeout=10)
        return r.stdout == "200"

    # -- gateway -----------------------------------------------------------------

    def devargs(self, i, iface):
        if self.driver == "af_xdp":
            return "net_af_xdp%d,iface=%s,start_queue=0,queue_count=1" % (
                i, iface)
        return "net_af_packet%d,iface=%s,qpairs=1" % (i, iface)

    def gateway_conf(self, rules, extra="", workers=1, reject_client=None):
        files = ", ".join('"%s"' % f for f in rules)
        if reject_client is None:
            reject_client = "block_page" if self.mode == "l3" else "reset"
        if self.mode == "l3":
            ports = """
  { name = "pub"; devargs = "%s"; role = "public";
    addresses = [ "198.51.100.1/28", "2001:db8:1::1/64" ]; },
  { name = "priv"; devargs = "%s"; role = "private";
    addresses = [ "198.51.100.17/28", "2001:db8:2::1/64" ]; }""" % (
                self.devargs(0, self.pub), self.devargs(1, self.priv))
            l3 = """
l3 = {
  pod_subnets = [ "203.0.113.0/24", "2001:db8:a::/64" ];
  service_ports = [ %s ];
  routes = (
    { to = "203.0.113.0/24"; via = "198.51.100.18"; },
    { to = "2001:db8:a::/64"; via = "2001:db8:2::2"; },
    { to = "0.0.0.0/0"; via = "198.51.100.2"; },
    { to = "::/0"; via = "2001:db8:1::2"; }
  );
  neighbor_table = 256;
  icmp_rate = 50;
};""" % ", ".join(str(p) for p in SERVICE_PORTS)
        else:
            ports = """
  { name = "pub"; devargs = "%s"; role = "public"; peer = "priv"; },
  { name = "priv"; devargs = "%s"; role = "private"; peer = "pub"; }""" % (
                self.devargs(0, self.pub), self.devargs(1, self.priv))
            l3 = ""
        return """
eal = [ "--no-huge", "-m", "1024", "--no-shconf", "--no-pci", "--log-level=error" ];
pmd_dir = "%s";
workers = %d;
mode = "%s";
ports = (%s
);
%s
limits = { flows = 16384; stream_held = 4096; http_transactions = 2048;
           body_streams = 512; raw_streams = 16384; frag_datagrams = 256;
           alert_ring = 1024; };
policy = { reject_client = "%s"; };
signatures = { files = [ %s ];
               classification = "%s"; };
%s""" % (PMD_DIR, workers, self.mode, ports, l3, reject_client, files,
         SRC / "signatures" / "classification.config", extra)

    def start_gateway(self, conf_text):
        conf = self.tmp / "gateway.conf"
        conf.write_text(conf_text)
        for stale in (self.eve, self.sock):
            if stale.exists():
                stale.unlink()
        err = open(self.gw_log, "w")
        self.gw = subprocess.Popen(
            [str(BINARY), "--config", str(conf), "--eve", str(self.eve),
             "--control-socket", str(self.sock)],
            stdout=subprocess.PIPE, stderr=err, text=True)
        self.procs.append(self.gw)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.gw.poll() is not None:
                return False
            if self.sock.exists() and self.curl_ok(self.ns["cli"],
                                                   POD1["v4"]):
                return True
            time.sleep(0.5)
        raise AssertionError("gateway not forwarding after 120 s:\n" +
                             self.gw_log.read_text()[-3000:])

    def gateway_error(self):
        return self.gw_log.read_text()[-4000:] if self.gw_log.exists() else ""

    def stats(self):
        return ctl(self.sock, "stats")["total"]

    def stop_gateway(self):
        """SIGTERM; the summary line."""
        stop([self.gw])
        out = self.gw.stdout.read()
        self.procs.remove(self.gw)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        assert self.gw.returncode == 0 and lines, \
            "gateway exit %s:\n%s" % (self.gw.returncode, self.gateway_error())
        return json.loads(lines[-1])

    # -- clients -----------------------------------------------------------------

    def curl(self, url, *args, max_time=20, ns=None):
        """curl in the client namespace; returns (exit code, stdout)."""
        r = sh("curl", "-s", "--max-time", str(max_time), *args, url,
               ns=ns or self.ns["cli"], check=False, timeout=max_time + 15)
        return r.returncode, r.stdout


def assert_accounting(s):
    """The summary line of a gateway that stopped: every packet it read
    was forwarded, dropped for one reason, held at exit, merged into a
    reassembled datagram, or (mode l3) for the gateway itself."""
    brief = {k: s[k] for k in ("packets_in", "forwarded", "dropped",
                               "held_at_exit", "merged", "local", "drops")}
    assert s["packets_in"] == (s["forwarded"] + s["dropped"] +
                               s["held_at_exit"] + s["merged"] +
                               s["local"]), brief
    assert s["dropped"] == sum(s["drops"].values()), brief
    return brief


def url(addr, path, port=80):
    host = "[%s]" % addr if ":" in addr else addr
    return "http://%s:%d%s" % (host, port, path)
