"""test_l3_load - issue 10's load test: 30 s of wrk with 50 connections
against Debian's nginx in a pod, through the gateway (mode l3,
net_af_packet, the bundled signatures and the testbed's rules), then
directly (the router's link that bypasses the gateway to the same nginx
on its second address), on the testbed of tests/e2e/testbed.py.

Prints requests/s and latency percentiles side by side, and the
gateway's CPU use per worker: the OS's view (a poll-mode worker is
always on its CPU) and the share of its loop that handled packets
(worker_busy_cycles / worker_cycles).  It is a benchmark printout, not a
speed limit: it asserts only that wrk saw no error (socket errors,
timeouts, non-2xx) in either run and that the gateway's counters add up:
every packet forwarded, dropped for a reason, held or for the gateway
itself; the requests it parsed between wrk's completed ones and those
plus the connections open at the end; nginx's log the same.  Also
written to $IPS_BUILD_DIR/e2e-l3-load.txt.

Needs root and wrk (Debian's wrk package); fails, never skips, without.
"""
import os
import re
import shutil
from pathlib import Path

import pytest

from netns import BINARY, BUILD, SRC, sh
from test_l3_gateway import RULES
from testbed import POD1, Testbed, assert_accounting, ctl, url

DURATION, CONNECTIONS, THREADS = 30, 50, 2
PATH = "/index.html"


def wrk(bed, target):
    r = sh("wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % DURATION,
           "--timeout", "5s", "--latency", url(target, PATH),
           ns=bed.ns["cli"], check=False, timeout=DURATION + 60)
    assert r.returncode == 0, r.stdout + r.stderr
    return parse_wrk(r.stdout)


def parse_wrk(out):
    res = {"raw": out}
    res["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    res["latency"] = {}
    for pct, val, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)",
                                     out, re.M):
        res["latency"][pct] = float(val) * {"us": 1e-3, "ms": 1.0,
                                            "s": 1e3}[unit]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    return res


def worker_threads(pid):
    """{thread name: utime + stime ticks} of the DPDK worker lcores."""
    out = {}
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "worker" in name:
            out[name] = int(fields[11]) + int(fields[12])
    return out


def nginx_lines(bed, server_addr):
    log = bed.pod_dir("pod1") / "nginx-access.log"
    return sum(1 for l in log.read_text().splitlines()
               if l.startswith(server_addr + " ") and PATH in l)


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    assert os.geteuid() == 0, "the load test needs root (netns, af_packet)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    assert shutil.which("wrk"), "wrk is not installed (apt-get install wrk)"
    tmp = tmp_path_factory.mktemp("l3-load")
    b = Testbed("l3ld-", tmp, mode="l3", driver="af_packet")
    try:
        b.create()
        b.start_pods()
        (tmp / "l3gw.rules").write_text(RULES)
        rules = sorted(str(p) for p in (SRC / "signatures").glob("*.rules"))
        rules.append(str(tmp / "l3gw.rules"))
        assert b.start_gateway(b.gateway_conf(rules)), b.gateway_error()
        yield b
    finally:
        b.destroy()


def test_load_through_the_gateway_and_directly(bed):
    hz = os.sysconf("SC_CLK_TCK")
    before = bed.stats()
    logged0 = nginx_lines(bed, POD1["v4"])
    ticks0 = worker_threads(bed.gw.pid)
    via = wrk(bed, POD1["v4"])
    ticks1 = worker_threads(bed.gw.pid)
    per = ctl(bed.sock, "stats")["per_worker"]
    after = bed.stats()
    summary = bed.stop_gateway()
    # without the gateway burning its core, for a fair baseline
    direct = wrk(bed, POD1["direct"])

    lines = ["", "load: wrk -t%d -c%d -d%ds GET %s (nginx, 1 worker process)"
             % (THREADS, CONNECTIONS, DURATION, PATH),
             "%-28s %14s %14s" % ("", "through gateway", "direct"),
             "%-28s %14.0f %14.0f" % ("requests/s", via["rps"], direct["rps"]),
             "%-28s %14d %14d" % ("requests", via["requests"],
                                  direct["requests"])]
    for pct in ("50", "75", "90", "99"):
        lines.append("%-28s %14.3f %14.3f" % ("latency p%s (ms)" % pct,
                                                via["latency"][pct],
                                                direct["latency"][pct]))
    lines.append("%-28s %14d %14d" % ("errors (socket, non-2xx)",
                                      via["socket_errors"] + via["non_2xx"],
                                      direct["socket_errors"] +
                                      direct["non_2xx"]))
    lines.append("gateway CPU per worker during the run:")
    for i, (name, t1) in enumerate(sorted(ticks1.items())):
        os_pct = 100.0 * (t1 - ticks0.get(name, 0)) / hz / DURATION
        busy = per[i]["worker_busy_cycles"] if i < len(per) else 0
        total = per[i]["worker_cycles"] if i < len(per) else 0
        lines.append("  %-14s OS %5.1f %%   handling packets %5.1f %% of its "
                     "loop (all of the run)" % (name, os_pct,
                                               100.0 * busy / max(total, 1)))
    d_busy = after["worker_busy_cycles"] - before["worker_busy_cycles"]
    d_all = after["worker_cycles"] - before["worker_cycles"]
    lines.append("  all workers, this run only: handling packets %.1f %% of "
                 "the loop" % (100.0 * d_busy / max(d_all, 1)))
    text = "\n".join(lines) + "\n"
    print(text)
    (BUILD / "e2e-l3-load.txt").write_text(text + "\n" + via["raw"] +
                                           "\n" + direct["raw"])

    assert via["socket_errors"] == 0 and via["non_2xx"] == 0, via["raw"]
    assert direct["socket_errors"] == 0 and direct["non_2xx"] == 0, \
        direct["raw"]
    assert_accounting(summary)
    assert summary["alerts"] == 0, "benign load raised alerts"
    # every request wrk completed was parsed (and inspected) by the gateway;
    # at most one more per connection was in flight when wrk stopped
    parsed = after["http_requests"] - before["http_requests"]
    assert via["requests"] <= parsed <= via["requests"] + CONNECTIONS, \
        (via["requests"], parsed)
    logged = nginx_lines(bed, POD1["v4"]) - logged0
    assert via["requests"] <= logged <= parsed, (via["requests"], logged,
                                                 parsed)
    assert nginx_lines(bed, POD1["direct"]) >= direct["requests"]
