"""test_http_servers - issue 7, "What must be shown": the gateway must inspect
every request a real server acts on, however it is spelled.

Two pods behind the gateway, in one server namespace on two addresses:
Debian's nginx (192.0.2.20:80) and Python's http.server parser
(tests/e2e/http_log_server.py, 192.0.2.21:80).  The gateway runs the bundled
signatures (signatures/*.rules) with its default policies, on net_af_packet
between the client namespace and the server namespace:

    [ips-hs-cli] cli0 192.0.2.10 <-> gwhpub [gateway] gwhpriv <-> srv0 [ips-hs-srv]
                                                         192.0.2.20 nginx, 192.0.2.21 python

Every case of tests/e2e/evasion_corpus.py is sent over a raw TCP socket,
bytes exactly as written, once to each server, one connection per case and
server, from a source port that names the case.  Then, per case and server:

  server   served = the server's access log has the case's request
           ("case=NNN" marker) with status < 400
  gateway  EVE alerts (sid, allowed/blocked) and anomalies of that flow,
           and what the client saw (response status, reset, timeout)

The test fails if a server served an attack request on a flow the gateway
raised no alert for, if a plain well-formed request of an attack string
(the sanity control) was not alerted, or if a benign control was not served
by both servers or raised anything.  It prints one table row per case and
writes the table to $IPS_BUILD_DIR/e2e-http-servers.txt.

Needs root; fails, never skips, without it.  Every connection is bounded
(2 s after the last byte sent); the servers and the gateway are stopped and
the namespaces removed after the module.
"""
import errno
import json
import os
import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evasion_corpus import CASES, materialize
from netns import BINARY, BUILD, SRC, Topology, eve_events, sh, start_gateway, stop, wait_until

HERE = Path(__file__).resolve().parent
CLI_NS, SRV_NS = "ips-hs-cli", "ips-hs-srv"
CLIENT_IP = "192.0.2.10"
SERVERS = {"nginx": "192.0.2.20", "python": "192.0.2.21"}
TOPO = Topology(CLI_NS, SRV_NS, "gwhpub", "gwhpriv", CLIENT_IP,
                list(SERVERS.values()))
# source port of case i towards server s: unique per connection
PORT_BASE = {"gw": {"nginx": 20000, "python": 30000},
             "direct": {"nginx": 40000, "python": 50000}}
READ_TIMEOUT = 2.0
PARALLEL = 24
MARK = re.compile(r"case=(\d{3})")

NGINX_CONF = """\
user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format cases escape=json '{{"port":"$remote_port","request":"$request",'
        '"method":"$request_method","uri":"$uri","status":"$status"}}';
    access_log {tmp}/nginx-access.log cases;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_header_timeout 5s;
    client_body_timeout 5s;
    server {{
        listen {addr}:80;
        root {tmp}/www;
        # files from the doc root; any other path and any method: 200
        location / {{ try_files $uri @any; }}
        location @any {{ return 200 "ok\\n"; }}
    }}
}}
"""


def rules_files():
    return sorted(str(p) for p in (SRC / "signatures").glob("*.rules"))


def probe(addr, path="/index.html?probe=1", timeout=2):
    """A benign request from the client namespace (curl); True if 200."""
    r = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
           "--max-time", str(timeout), "http://%s%s" % (addr, path),
           ns=CLI_NS, check=False, timeout=timeout + 10)
    return r.stdout == "200"


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    assert os.geteuid() == 0, "the end-to-end test needs root (netns, af_packet)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    tmp = tmp_path_factory.mktemp("http-servers")
    procs = []
    try:
        TOPO.create()
        for ns in (CLI_NS, SRV_NS):
            # ephemeral ports (curl's probes) stay clear of the case ports
            sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=61000 65000", ns=ns)
        www = tmp / "www"
        www.mkdir()
        (www / "index.html").write_text("hello from the pod\n")
        (www / "a.txt").write_text("a\n")
        (www / "img").mkdir()
        (www / "img" / "logo.txt").write_text("logo\n")
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / d).mkdir()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, addr=SERVERS["nginx"]))
        # -e: the startup error log, before the config is read
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV_NS, "nginx", "-p", str(tmp), "-e",
             str(tmp / "nginx-error.log"), "-c", str(conf), "-g",
             "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV_NS, "/usr/bin/python3",
             str(HERE / "http_log_server.py"), SERVERS["python"], "80",
             str(tmp / "python-access.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        gwconf = tmp / "gw.conf"
        gwconf.write_text(TOPO.gateway_conf(
            rules_files(), SRC / "signatures" / "classification.config"))
        eve = tmp / "eve.json"
        gw = start_gateway(gwconf, eve)
        procs.append(gw)
        # The gateway compiles all bundled rules at start: under ASan that
        # takes a while, hence the long (still bounded) wait.
        t0 = time.time()
        for name, addr in SERVERS.items():
            wait_until(lambda: probe(addr), "%s to answer through the gateway"
                       % name, gw, timeout=240)
        print("\ngateway ready after %.1f s" % (time.time() - t0))
        yield {"gw": gw, "eve": eve, "tmp": tmp}
    finally:
        stop(procs)
        TOPO.destroy()


class InNamespace:
    """Run the body with this thread in network namespace NS (setns(2):
    os.setns is Python 3.12+, Debian 12 has 3.11).  Threads started inside
    inherit it, so a thread pool created there connects from NS."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    CLONE_NEWNET = 0x40000000

    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        self.own = open("/proc/self/ns/net")
        with open("/run/netns/" + self.ns) as f:
            assert self.libc.setns(f.fileno(), self.CLONE_NEWNET) == 0, "setns"

    def __exit__(self, *exc):
        assert self.libc.setns(self.own.fileno(), self.CLONE_NEWNET) == 0
        self.own.close()


def send_case(src_ip, server, sport, chunks):
    """One connection: send CHUNKS (pausing between them), half-close, read
    until EOF, reset or READ_TIMEOUT.  Returns what the client saw."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(READ_TIMEOUT)
    data, outcome = b"", None
    try:
        s.bind((src_ip, sport))
        s.connect((SERVERS[server], 80))
        for i, c in enumerate(chunks):
            if i:
                # "wait for the response, then send the next request"
                try:
                    data += s.recv(65536)
                except socket.timeout:
                    pass
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        deadline = time.time() + READ_TIMEOUT
        while time.time() < deadline:
            s.settimeout(max(0.05, deadline - time.time()))
            b = s.recv(65536)
            if not b:
                outcome = "closed"
                break
            data += b
        else:
            outcome = "timeout"
    except socket.timeout:
        outcome = "timeout"
    except ConnectionResetError:
        outcome = "reset"
    except OSError as e:
        if e.errno in (errno.EPIPE, errno.ENOTCONN):
            # the server closed before the last chunk or the half-close
            outcome = "closed"
        else:
            outcome = "error:%s" % e.errno
    finally:
        s.close()
    statuses = re.findall(rb"HTTP/1\.[01] (\d{3})", data)
    return {"sport": sport, "outcome": outcome,
            "statuses": [int(x) for x in statuses], "bytes": len(data)}


def run_all_cases(path):
    """Send every case to every server, PARALLEL connections at a time:
    PATH "gw" from the client namespace through the gateway, "direct" from
    the server namespace straight to the servers (the baseline: what each
    server does with the bytes when nothing is in between)."""
    ns, src = (CLI_NS, CLIENT_IP) if path == "gw" else (SRV_NS, "")
    with InNamespace(ns), ThreadPoolExecutor(PARALLEL) as ex:
        futs = {(srv, i): ex.submit(send_case, src, srv, port_of(path, srv, i),
                                    materialize(c, i))
                for i, c in enumerate(CASES) for srv in SERVERS}
        return {k: f.result(timeout=120) for k, f in futs.items()}


def port_of(path, server, idx):
    return PORT_BASE[path][server] + idx


def path_of_port(port):
    return "gw" if port < PORT_BASE["direct"]["nginx"] else "direct"


def read_server_logs(tmp):
    """{(path, server): {case: [(status, request line, port)]}} from the
    access logs; the client port tells the gateway path from the direct."""
    out = {(p, s): {} for p in PORT_BASE for s in SERVERS}
    files = {"nginx": tmp / "nginx-access.log",
             "python": tmp / "python-access.log"}
    for srv, path in files.items():
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            status = int(e.get("status") or 0)
            req = e.get("request") or ""
            port = int(e.get("port") or 0)
            for m in set(MARK.findall(req)):
                out[(path_of_port(port), srv)].setdefault(int(m), []).append(
                    (status, req, port))
    return out


def read_gateway(eve):
    """{(dest ip, src port): {"alerts": [(sid, action)], "anomalies": [...]}}"""
    flows = {}
    for e in eve_events(eve):
        if e.get("src_ip") != CLIENT_IP:
            continue
        f = flows.setdefault((e.get("dest_ip"), e.get("src_port")),
                             {"alerts": [], "anomalies": []})
        if e.get("event_type") == "alert":
            a = e["alert"]
            f["alerts"].append((a["signature_id"], a["action"]))
        elif e.get("event_type") == "anomaly":
            an = e["anomaly"]
            f["anomalies"].append("%s:%s" % (an.get("layer"), an.get("event")))
    return flows


def describe_server(logged, client):
    """(served?, short text): "200" / "400,200" statuses the server logged
    for the case's request, else "-" and what the client saw."""
    if logged:
        statuses = [st for st, _, _ in logged]
        served = any(st < 400 for st in statuses)
        return served, ",".join(map(str, statuses))
    c = {"timeout": "timeout", "reset": "reset", "closed": "closed"}.get(
        client["outcome"], client["outcome"])
    if client["statuses"]:
        c += "; got " + ",".join(map(str, client["statuses"]))
    return False, "- (%s)" % c


def describe_gateway(flow):
    parts = []
    for sid, act in sorted(set(flow["alerts"])):
        parts.append("%d%s" % (sid, "B" if act == "blocked" else "A"))
    if flow["anomalies"]:
        parts.append("anom[" + ",".join(sorted(set(flow["anomalies"]))) + "]")
    return " ".join(parts) or "passed"


def wait_for_logs(paths, rounds=20):
    """EVE records leave the worker through a ring; servers log a request
    when it completes.  Wait until the files stop growing (bounded)."""
    last, stable = None, 0
    for _ in range(rounds):
        sizes = tuple(p.stat().st_size if p.exists() else 0 for p in paths)
        stable = stable + 1 if sizes == last else 0
        if stable >= 2:
            return
        last = sizes
        time.sleep(0.5)


LEGEND = """\
columns: what each server logged for the case's request (status; "-" = not
logged, with what the client saw), sent directly (server namespace, no
gateway: the baseline) and through the gateway; then the gateway's events on
the nginx flow | the python flow: sid + B (blocked) or A (alert, allowed),
anom[...] = anomaly events, "passed" = nothing logged.
FAIL = a server served (status < 400) through the gateway a request on a flow
the gateway raised no alert for; or a server served a case directly but not
through the gateway, and the gateway logged nothing on that flow."""


def test_every_served_request_was_inspected(testbed):
    start = time.time()
    direct = run_all_cases("direct")
    via = run_all_cases("gw")
    send_time = time.time() - start
    eve, tmp = testbed["eve"], testbed["tmp"]
    wait_for_logs((eve, tmp / "nginx-access.log", tmp / "python-access.log"))

    logs = read_server_logs(tmp)
    flows = read_gateway(eve)
    empty = {"alerts": [], "anomalies": []}

    rows, failures, counts = [], [], {}
    for i, c in enumerate(CASES):
        row = ["%03d %s" % (i, c.name)]
        gw = []
        for srv, addr in SERVERS.items():
            _, ddesc = describe_server(logs[("direct", srv)].get(i, []),
                                       direct[(srv, i)])
            client = via[(srv, i)]
            served, sdesc = describe_server(logs[("gw", srv)].get(i, []), client)
            flow = flows.get((addr, client["sport"]), empty)
            alerted = bool(flow["alerts"])
            gdesc = describe_gateway(flow)
            row += [ddesc, sdesc]
            gw.append(gdesc)
            if c.kind == "attack" and served and not alerted:
                failures.append("%03d %s: %s served it (%s; direct %s), "
                                "gateway %s" % (i, c.name, srv, sdesc, ddesc, gdesc))
            dserved = any(st < 400 for st, _, _ in
                          logs[("direct", srv)].get(i, []))
            if (dserved and not served and not alerted
                    and not flow["anomalies"]):
                # the gateway changed what the server did without saying so
                failures.append("%03d %s: %s served it directly (%s) but not "
                                "through the gateway (%s), which logged "
                                "nothing" % (i, c.name, srv, ddesc, sdesc))
            if c.kind == "plain" and not alerted:
                failures.append("%03d %s (sanity control): no alert towards %s"
                                " (%s)" % (i, c.name, srv, sdesc))
            if c.kind == "benign" and (not served or alerted or flow["anomalies"]):
                failures.append("%03d %s (benign control): %s %s, gateway %s" % (
                    i, c.name, srv, sdesc, gdesc))
            key = (c.kind, srv, "served" if served else "not-served",
                   "alerted" if alerted else "no-alert")
            counts[key] = counts.get(key, 0) + 1
        row.append(" | ".join(gw))
        rows.append(row)

    fmt = "%-42.42s %-19.19s %-19.19s %-19.19s %-19.19s %s"
    lines = [LEGEND, "",
             fmt % ("case", "nginx direct", "nginx via gw", "python direct",
                    "python via gw", "gateway: nginx flow | python flow")]
    lines += [fmt % tuple(r) for r in rows]
    lines.append("")
    lines.append("counts through the gateway (kind, server, served?, alerted?):")
    for k in sorted(counts):
        lines.append("  %-7s %-7s %-11s %-9s %4d" % (k + (counts[k],)))
    lines.append("%d cases, %d connections in %.1f s" % (
        len(CASES), len(direct) + len(via), send_time))
    lines.append("%d failure(s)" % len(failures))
    lines += ["  FAIL " + f for f in failures]
    table = "\n".join(lines)
    print("\n" + table)
    try:
        (BUILD / "e2e-http-servers.txt").write_text(table + "\n")
    except OSError:
        pass
    assert not failures, "%d request(s) served uninspected or controls " \
        "failed (table above):\n%s" % (len(failures), "\n".join(failures))
