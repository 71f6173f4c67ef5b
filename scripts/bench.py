#!/usr/bin/python3
"""bench.py - the pcap replay benchmark (issue 4): one run measures, on the
same capture and the same compiled signatures, the I/O limit (decode and
forward only), the matching limit (Hyperscan alone over exactly the
buffers the gateway scans, ips-hsbench), the gateway with 1 and 2
workers, a per-stage cycle breakdown (bench build), signature scale
(bundled, 1,000 and 10,000 rules), memory per flow / segment /
transaction and a 1,000,000-open-flows run, and floods (per pool, the
attacker rate needed to deny legitimate traffic, before and after pools
evicted their stalled holders: bench_floods.py); plus honesty checks on
an untimed run.  Writes OUT/results.json, OUT/*.png and prints a table.

Owns the orchestration; signatures and attack material live in
bench_rules.py, charts and the table in bench_report.py.  Usually started
by scripts/bench.sh (which builds the trees); --quick is the smoke-test
mode: small capture, scaled-down rule sets and memory run, binaries of
--build only (nothing is built).
"""

import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_floods  # noqa: E402
import bench_io  # noqa: E402
import bench_report  # noqa: E402
import bench_rules  # noqa: E402
import sig_attacks  # noqa: E402

SOURCE_DIR = Path(__file__).resolve().parent.parent
BENCH_CONF = SOURCE_DIR / "scripts" / "bench.conf"
CLASSIFICATION = SOURCE_DIR / "signatures" / "classification.config"
# The shared third-party corpora sit beside the repository (../shared).
SHARED_CORPORA = Path(os.environ.get("IPS_CORPORA",
                                     SOURCE_DIR.parent / "shared" / "corpora"))

# Full run: a 2 GiB capture (about 2.45 M packets, 46 k flows, 180 k
# requests) preloads into about 10 GB of mbufs (see PRELOAD_MBUF_BYTES),
# which leaves room for the 2-worker run on a 24 GiB machine.
FULL = dict(size="2G", repeat=3, scale=(1000, 10000), open_flows=1000000,
            small_flows=1000, shape_size="300M", passes=3,
            testpmd_seconds=10)
# --quick: every phase, scaled down; each signature compile costs seconds
# (many in a sanitizer build), so one run per configuration and one
# synthetic set.
QUICK = dict(size="6M", repeat=1, scale=(300,), open_flows=100000,
             small_flows=1000, shape_size="6M", passes=2,
             testpmd_seconds=3)
# In-progress HTTP transactions of the memory run (both modes): within
# bench.conf's http_transactions (8192).
N_TXN_RUN = 8000
MSS = 1460
ATTACK_FRACTION = 0.01
# Without hugepages DPDK keeps each mbuf (2368 B) inside one 4 KiB page,
# so a preloaded packet costs a page, plus its ring slot.
PRELOAD_MBUF_BYTES = 4096 + 64
EAL_BASE_MB = 1024              # pools, flow tables, rings besides preload


class BenchError(Exception):
    pass


# ---- progress --------------------------------------------------------------

class Progress:
    def __init__(self):
        self.t0 = time.monotonic()
        self.phase = ""

    def __call__(self, phase, msg=""):
        self.phase = phase
        sys.stderr.write("[bench %7.1fs] %-12s %s\n"
                         % (time.monotonic() - self.t0, phase, msg))
        sys.stderr.flush()

    def elapsed(self):
        return time.monotonic() - self.t0


def loud(lines):
    bar = "!" * 72
    sys.stderr.write("\n%s\n" % bar)
    for l in lines:
        sys.stderr.write("!!! %s\n" % l)
    sys.stderr.write("%s\n\n" % bar)
    sys.stderr.flush()


# ---- binaries --------------------------------------------------------------

class Tools:
    def __init__(self, build, bench_build, native_build=None):
        self.native_dataplane = (native_build / "ips-dataplane"
                                 if native_build else None)
        if self.native_dataplane and not self.native_dataplane.exists():
            raise BenchError("%s not found (meson setup build-native "
                             "-Dnative=true)" % self.native_dataplane)
        self.dataplane = build / "ips-dataplane"
        self.ipsctl = build / "ipsctl"
        self.trafgen = build / "tests" / "tools" / "ips-trafgen"
        self.hsbench = build / "tests" / "tools" / "ips-hsbench"
        self.cycles_dataplane = (bench_build / "ips-dataplane"
                                 if bench_build else None)
        for p in (self.dataplane, self.ipsctl, self.trafgen, self.hsbench):
            if not p.exists():
                raise BenchError("%s not found: build it first "
                                 "(scripts/setup.sh)" % p)
        if self.cycles_dataplane and not self.cycles_dataplane.exists():
            raise BenchError("%s not found (meson setup build-bench "
                             "-Dbench_cycles=true)" % self.cycles_dataplane)


def run(cmd, timeout=None, env=None):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise BenchError("%s exited %d:\n%s" % (
            " ".join(str(c) for c in cmd), proc.returncode,
            (proc.stderr or proc.stdout)[-3000:]))
    if "runtime error:" in proc.stderr or "Sanitizer" in proc.stderr:
        raise BenchError("sanitizer report from %s:\n%s"
                         % (cmd[0], proc.stderr[-3000:]))
    return proc


def last_json(text, what):
    lines = [l for l in text.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError("%s printed no JSON summary:\n%s"
                         % (what, text[-2000:]))


# ---- configuration ---------------------------------------------------------

def write_conf(path, mem_mb, flows):
    """bench.conf with the EAL memory size and per-worker flow capacity
    of this run; the classification path made absolute."""
    text = BENCH_CONF.read_text()
    text, n1 = re.subn(r'"-m",\s*"\d+"', '"-m", "%d"' % mem_mb, text)
    text, n2 = re.subn(r"(\n\s*flows\s*=\s*)\d+;", r"\g<1>%d;" % flows, text)
    text, n3 = re.subn(r'classification\s*=\s*"[^"]*";',
                       'classification = "%s";' % CLASSIFICATION, text)
    if (n1, n2, n3) != (1, 1, 1):
        raise BenchError("%s: expected one -m, flows and classification "
                         "setting" % BENCH_CONF)
    path.write_text(text)
    return path


def pow2_at_least(n):
    return 1 << max(10, math.ceil(math.log2(max(n, 1))))


# ---- the dataplane ---------------------------------------------------------

COMPILE_RE = re.compile(r"(\d+) rules from (\d+) file\(s\), compiled in "
                        r"([0-9.]+) s")


def dataplane(binary, conf, pcap, rules, workers=1, preload=False,
              inspect="full", eve=None, timeout=3600, passes=1,
              bundle=None):
    cmd = [binary, "--config", conf, "--replay", pcap,
           "--workers", workers, "--inspect", inspect]
    if bundle:
        cmd += ["--bundle", bundle]
    if preload:
        cmd.append("--preload")
    if passes > 1:
        cmd += ["--passes", passes]
    if eve:
        cmd += ["--eve", eve]
    for r in rules:
        cmd += ["--rules", r]
    # glibc fills every malloc with MALLOC_PERTURB_'s byte (meson test
    # sets it): the pools would all be resident and the RSS figures of
    # phase_memory would measure the filling, not the use.
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
    proc = run(cmd, timeout=timeout, env=env)
    s = last_json(proc.stdout, "ips-dataplane")
    m = COMPILE_RE.search(proc.stderr)
    s["compile_seconds"] = float(m.group(3)) if m else None
    return s


def best_of(n, fn):
    """Runs fn n times; the run with the shortest timed window."""
    runs = [fn() for _ in range(n)]
    best = min(runs, key=lambda s: s["elapsed_s"])
    best["runs_elapsed_s"] = [r["elapsed_s"] for r in runs]
    # Compiling is CPU-bound work done before each run: other load on
    # the machine only adds to it, so the least is the estimate.
    compiles = [r["compile_seconds"] for r in runs
                if r.get("compile_seconds") is not None]
    best["compile_seconds"] = min(compiles) if compiles else None
    return best


def figures(packets, frame_bytes, seconds):
    """packets/s, Gbit/s and ns per packet of one pass over the capture."""
    if not seconds or seconds <= 0:
        return dict(seconds=seconds, mpps=None, gbps=None, ns_per_packet=None)
    return dict(seconds=seconds, mpps=packets / seconds / 1e6,
                gbps=frame_bytes * 8 / seconds / 1e9,
                ns_per_packet=seconds / packets * 1e9)


def config_figures(s, packets, frame_bytes):
    f = figures(packets, frame_bytes, s["elapsed_s"])
    f.update(workers=s["workers"], packets_in=s["packets_in"],
             bytes_in=s["bytes_in"], runs_seconds=s.get("runs_elapsed_s"),
             alerts=s["alerts"], dropped=s["dropped"],
             peak_rss_kb=s["memory"]["peak_rss_kb"],
             compile_seconds=s.get("compile_seconds"))
    return f


def hsbench(tools, pcap, rules, repeat, classification=CLASSIFICATION):
    cmd = [tools.hsbench, "--pcap", pcap, "--repeat", repeat,
           "--classification", classification]
    for r in rules:
        cmd += ["--rules", r]
    # The measuring tool leaves its rule set and databases to exit; in a
    # sanitizer build that is not a finding about the gateway.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [
        env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    return last_json(run(cmd, timeout=3600, env=env).stdout, "ips-hsbench")


# ---- traffic ---------------------------------------------------------------

def trafgen(tools, out, truth, args):
    run([tools.trafgen, "--out", out, "--truth", truth] + list(args),
        timeout=3600)
    return json.loads(Path(truth).read_text())


def client_payload_text(pcap, limit=16 << 20):
    """Client-to-server TCP payload of a generator capture, as text (the
    generator's clients are 198.51.100.0/24 and 203.0.113.0/24)."""
    out, total = [], 0
    with open(pcap, "rb") as f:
        f.read(24)
        while total < limit:
            hdr = f.read(16)
            if len(hdr) < 16:
                break
            incl = struct.unpack("<I", hdr[8:12])[0]
            frame = f.read(incl)
            if len(frame) < 54 or frame[12:14] != b"\x08\x00":
                continue
            ihl = (frame[14] & 0x0F) * 4
            if frame[26:29] not in (b"\xc6\x33\x64", b"\xcb\x00\x71"):
                continue
            tcp = 14 + ihl
            doff = (frame[tcp + 12] >> 4) * 4
            payload = frame[tcp + doff:]
            if payload:
                out.append(payload.decode("latin-1"))
                total += len(payload)
    return "\n".join(out)


def calibrate_attacks(tools, work, rules, candidates, progress):
    """Keeps the candidate attack requests that raise exactly their own
    sid: each goes alone into one flow (--concurrency 1, every first
    request an attack, handed out in order), and the EVE log of one
    replay says what each flow raised."""
    cand = work / "attack-candidates.json"
    cand.write_text(json.dumps([{"sid": c["sid"], "request": c["request"]}
                                for c in candidates]))
    truth = trafgen(tools, work / "calib.pcap", work / "calib.json",
                    ["--flows", len(candidates), "--concurrency", 1,
                     "--attacks", cand, "--attack-fraction", 1.0,
                     "--seed", 5, "--mss", MSS])
    conf = write_conf(work / "calib.conf", 1024, 4096)
    eve = work / "calib-eve.json"
    if eve.exists():
        eve.unlink()
    dataplane(tools.dataplane, conf, work / "calib.pcap", rules, eve=eve)
    raised = {}
    for ev in read_eve(eve):
        key = "%s:%s" % (ev["src_ip"], ev["src_port"])
        raised.setdefault(key, set()).add(ev["alert"]["signature_id"])
    kept, rejected = [], []
    for af in sorted(truth["attack_flows"], key=lambda a: a["flow"]):
        c = candidates[af["flow"]]
        if af["sid"] != c["sid"]:
            raise BenchError("calibration capture: flow %d carries sid %d, "
                             "expected %d" % (af["flow"], af["sid"],
                                              c["sid"]))
        got = raised.get(af["client"], set())
        if got == {c["sid"]}:
            kept.append(c)
        else:
            rejected.append(dict(sid=c["sid"], raised=sorted(got),
                                 request=c["request"][:160]))
    progress("attacks", "%d of %d example requests raise exactly their sid"
             % (len(kept), len(candidates)))
    return kept, rejected


def read_eve(path):
    events = []
    if not Path(path).exists():
        return events
    for line in Path(path).read_text().splitlines():
        if line.strip():
            ev = json.loads(line)
            if ev.get("event_type") == "alert":
                events.append(ev)
    return events


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def capture(tools, out, args, attacks_path, reuse, progress):
    """The benchmark capture: generated, or reused when --reuse finds one
    made with the same parameters, attack set and generator."""
    pcap, truth_path = out / "capture.pcap", out / "capture.json"
    params = dict(size=args.size, seed=args.seed, mss=MSS,
                  attack_fraction=ATTACK_FRACTION,
                  attacks=file_digest(attacks_path),
                  trafgen=file_digest(tools.trafgen))
    params_path = out / "capture.params.json"
    if reuse and pcap.exists() and truth_path.exists() and \
            params_path.exists() and \
            json.loads(params_path.read_text()) == params:
        progress("capture", "reusing %s (%.2f GB)"
                 % (pcap, pcap.stat().st_size / 1e9))
        return pcap, json.loads(truth_path.read_text()), True
    progress("capture", "generating %s of traffic" % args.size)
    if params_path.exists():
        params_path.unlink()
    truth = trafgen(tools, pcap, truth_path,
                    ["--size", args.size, "--seed", args.seed, "--mss", MSS,
                     "--attacks", attacks_path,
                     "--attack-fraction", ATTACK_FRACTION])
    params_path.write_text(json.dumps(params))
    progress("capture", "%d packets, %d flows, %d requests (%d attacks), "
             "%.2f GB in %.1f s" % (truth["packets"], truth["flows"],
                                    truth["requests"],
                                    truth["attack_requests"],
                                    truth["bytes"] / 1e9,
                                    truth["generation_seconds"]))
    return pcap, truth, False


# ---- honesty ---------------------------------------------------------------

def honesty_checks(s, truth, alerts, actions):
    """Every check as {name, ok, expected, got}: the untimed run with EVE
    must have parsed every generated request, inspected every client
    byte, detected every attack and blocked nothing benign."""
    c = s["counters"]
    checks = []

    def check(name, expected, got):
        checks.append(dict(name=name, ok=expected == got,
                           expected=expected, got=got))

    check("packets_in == truth packets", truth["packets"], s["packets_in"])
    check("http_requests == truth requests", truth["requests"],
          c.get("http_requests"))
    check("stream_bytes_inspected == truth l7_client_bytes",
          truth["l7_client_bytes"], c.get("stream_bytes_inspected"))
    want = {int(k): v for k, v in truth["attacks_by_sid"].items() if v}
    got = {}
    for ev in alerts:
        sid = ev["alert"]["signature_id"]
        got[sid] = got.get(sid, 0) + 1
    check("alerts per sid == truth attacks_by_sid",
          {str(k): v for k, v in sorted(want.items())},
          {str(k): v for k, v in sorted(got.items())})
    attack_clients = sorted(a["client"] for a in truth["attack_flows"])
    alert_clients = sorted("%s:%s" % (e["src_ip"], e["src_port"])
                           for e in alerts)
    check("alerted flows == attack flows", attack_clients, alert_clients)
    blocking = sum(1 for a in truth["attack_flows"]
                   if actions.get(a["sid"]) in ("drop", "reject"))
    check("drop_rule == attack flows of drop/reject rules", blocking,
          c.get("drop_rule"))
    # Packets after a blocked request (the server's answer, the close)
    # are drop_flow_blocked: allowed only when some flow was blocked.
    allowed = {"drop_rule"} | ({"drop_flow_blocked"} if blocking else set())
    other = {k: v for k, v in c.items()
             if k.startswith("drop_") and k not in allowed and v}
    check("no other drop_ counter non-zero", {}, other)
    check("held_at_exit == 0", 0, s["held_at_exit"])
    return checks


def work_check(name, ref, s):
    """A timed run did the same work as the honesty run."""
    keys = ("packets_in", "alerts", "dropped")
    exp = {k: ref[k] for k in keys}
    got = {k: s[k] for k in keys}
    for k in ("http_requests", "stream_bytes_inspected",
              "detect_bytes_scanned"):
        exp[k] = ref["counters"].get(k)
        got[k] = s["counters"].get(k)
    return dict(name="%s did the same work as the honesty run" % name,
                ok=exp == got, expected=exp, got=got)


# ---- environment -----------------------------------------------------------

def pkg_version(name):
    try:
        return subprocess.run(["pkg-config", "--modversion", name],
                              capture_output=True, text=True
                              ).stdout.strip() or None
    except OSError:
        return None


def loadavg():
    """1-minute load: other work on the machine skews the figures."""
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def environment():
    cpu = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(SOURCE_DIR), "rev-parse",
                          "HEAD"], capture_output=True, text=True)
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True)
    return dict(cpu_model=cpu, cores=os.cpu_count(), memory_bytes=mem,
                loadavg_at_start=loadavg(),
                kernel=platform.release(), dpdk=pkg_version("libdpdk"),
                hyperscan=pkg_version("libhs"),
                compiler=(cc.stdout.splitlines() or [None])[0],
                python=platform.python_version(),
                git_commit=git.stdout.strip() or None)


# ---- phases ----------------------------------------------------------------

def mem_for(packets, workers=1):
    return int(packets * PRELOAD_MBUF_BYTES / (1 << 20)) + \
        EAL_BASE_MB * workers


def phase_limits(tools, res, pcap, truth, rules, conf1, conf2, repeat,
                 progress):
    pk = truth["packets"]
    frame_bytes = truth["bytes"] - 24 - 16 * pk
    cfg = res["configurations"]

    # Inspection off: nothing would use signatures, so none are compiled.
    progress("io-limit", "--preload --inspect none, 1 worker, best of %d"
             % repeat)
    s = best_of(repeat, lambda: dataplane(
        tools.dataplane, conf1, pcap, [], preload=True, inspect="none"))
    cfg["io_limit"] = config_figures(s, pk, frame_bytes)

    progress("match-limit", "ips-hsbench, best of %d" % repeat)
    h = hsbench(tools, pcap, rules, repeat)
    cfg["matching_limit"] = figures(pk, frame_bytes, h["seconds"])
    cfg["matching_limit"].update(
        hsbench=h, basis="the capture's packets and frame bytes over "
        "ips-hsbench's best scan time (hsbench.gbps is its own rate over "
        "the bytes scanned)")

    for name, conf, workers, binary in (
            ("gateway_1worker", conf1, 1, tools.dataplane),
            ("gateway_2workers", conf2, 2, tools.dataplane)):
        progress(name, "--preload, %d worker(s), best of %d"
                 % (workers, repeat))
        s = best_of(repeat, lambda: dataplane(
            binary, conf, pcap, rules, workers=workers, preload=True))
        cfg[name] = config_figures(s, pk, frame_bytes)
        res["_summaries"][name] = s

    if tools.cycles_dataplane:
        progress("breakdown", "bench build (cycle counters), 1 worker, "
                 "best of %d" % repeat)
        s = best_of(repeat, lambda: dataplane(
            tools.cycles_dataplane, conf1, pcap, rules, preload=True))
        cfg["gateway_1worker_bench_build"] = config_figures(s, pk,
                                                            frame_bytes)
        res["_summaries"]["gateway_1worker_bench_build"] = s
        res["breakdown"] = breakdown(s)
    else:
        res["breakdown"] = dict(
            available=False, stages=None,
            note="no bench build given (--bench-build): per-stage "
                 "cycle counters are compiled into bench builds only")


def breakdown(s):
    cyc = s.get("cycles_per_packet")
    if not cyc:
        return dict(available=False, stages=None,
                    note="the bench build reported no cycle counters")
    hz = s["tsc_hz"]
    stages = {k: dict(cycles_per_packet=v, ns_per_packet=v / hz * 1e9)
              for k, v in cyc.items()}
    total = sum(v["ns_per_packet"] for v in stages.values())
    top = max(stages, key=lambda k: stages[k]["ns_per_packet"])
    return dict(available=True, tsc_hz=hz, stages=stages,
                total_ns_per_packet=total, costliest_stage=top,
                costliest_share=stages[top]["ns_per_packet"] / total
                if total else None,
                ns_per_packet_measured=s["elapsed_s"] / s["packets_in"] * 1e9)


def headline(res):
    cfg = res["configurations"]
    t_io = cfg["io_limit"]["seconds"]
    t_m = cfg["matching_limit"]["seconds"]
    t_g1 = cfg["gateway_1worker"]["seconds"]
    m1 = cfg["gateway_1worker"]["mpps"]
    m2 = cfg["gateway_2workers"]["mpps"]
    eff = (t_io + t_m) / t_g1 if t_g1 else None
    scale = m2 / m1 if m1 else None
    return dict(efficiency=eff, efficiency_target=0.7,
                efficiency_meets_target=eff is not None and eff >= 0.7,
                scaling_2workers=scale, scaling_target=1.8,
                scaling_meets_target=scale is not None and scale >= 1.8,
                method="each timed configuration run %d times, best "
                       "(shortest timed window) kept; efficiency = "
                       "(t_io_limit + t_matching_limit) / t_gateway_1worker"
                       % res["parameters"]["repeat"])


def phase_scale(tools, res, work, pcap, truth, bundled, conf1, sizes,
                repeat, progress):
    pk = truth["packets"]
    frame_bytes = truth["bytes"] - 24 - 16 * pk
    cfg = res["configurations"]
    g1 = res["_summaries"]["gateway_1worker"]
    rows = [dict(rules=g1["rules"], set="bundled",
                 compile_seconds=g1.get("compile_seconds"),
                 gateway=cfg["gateway_1worker"],
                 matching_limit=cfg["matching_limit"],
                 alerts=g1["alerts"])]
    progress("scale", "payload pool: ET Open contents + CRS fragments")
    for sub in ("et-open", "crs-regression"):
        if not (SHARED_CORPORA / sub).is_dir():
            raise BenchError("%s not found (set IPS_CORPORA)"
                             % (SHARED_CORPORA / sub))
    benign = work / "benign.pcap"
    trafgen(tools, benign, work / "benign.json",
            ["--size", "16M", "--seed", 11, "--mss", MSS])
    # Enough strings for the largest set without reuse (all of ET Open
    # for the full run; the first files suffice for --quick).
    pool = bench_rules.payload_pool(str(tools.ipsctl), str(SHARED_CORPORA),
                                    client_payload_text(benign),
                                    enough=max(sizes))
    n_bundled = g1["rules"]
    for n in sizes:
        path = work / ("synthetic-%d.rules" % n)
        bench_rules.write_synthetic(str(path), n - n_bundled, pool,
                                    str(tools.ipsctl), str(CLASSIFICATION))
        rules = bundled + [path]
        progress("scale", "%d rules (%d bundled + %d synthetic): gateway "
                 "1 worker, best of %d" % (n, n_bundled, n - n_bundled,
                                           repeat))
        s = best_of(repeat, lambda: dataplane(
            tools.dataplane, conf1, pcap, rules, preload=True))
        progress("scale", "%d rules: ips-hsbench" % n)
        h = hsbench(tools, pcap, rules, repeat)
        m = figures(pk, frame_bytes, h["seconds"])
        m.update(hsbench=h)
        rows.append(dict(rules=s["rules"], set="bundled+synthetic",
                         compile_seconds=s.get("compile_seconds"),
                         gateway=config_figures(s, pk, frame_bytes),
                         matching_limit=m, alerts=s["alerts"],
                         synthetic_payload_strings=len(pool)))
    res["signature_scale"] = rows


IPSCTL_COMPILE_RE = re.compile(r"rules from \d+ file\(s\) compiled in "
                               r"([0-9.]+) s")


def phase_scale_et_open(tools, res, work, pcap, truth, conf1, repeat,
                        progress):
    """The rule-scale row of the whole ET Open set the parser accepts
    (scripts/et_open_accepted.py): compiled by ipsctl into a bundle (its
    compile time), the gateway from that bundle, and the matching limit
    (Hyperscan alone over the same buffers; PCRE2 confirmation runs only
    in the gateway)."""
    pk = truth["packets"]
    frame_bytes = truth["bytes"] - 24 - 16 * pk
    et = SHARED_CORPORA / "et-open"
    rules, bundle = work / "et-open-accepted.rules", work / "et-open.bundle"
    progress("scale", "ET Open: the accepted rules")
    out = run([sys.executable, SOURCE_DIR / "scripts" / "et_open_accepted.py",
               "--ipsctl", tools.ipsctl, "--expand-vars", "-o", rules]).stdout
    proc = run([tools.ipsctl, "compile", "--classification",
                et / "classification.config", rules, "-o", bundle])
    m = IPSCTL_COMPILE_RE.search(proc.stdout)
    progress("scale", "ET Open (%s): gateway 1 worker, best of %d"
             % (out.strip().split(" (")[0], repeat))
    s = best_of(repeat, lambda: dataplane(tools.dataplane, conf1, pcap, [],
                                          preload=True, bundle=bundle))
    progress("scale", "ET Open: ips-hsbench")
    h = hsbench(tools, pcap, [rules], repeat,
                classification=et / "classification.config")
    lim = figures(pk, frame_bytes, h["seconds"])
    lim.update(hsbench=h)
    res["signature_scale"].append(dict(
        rules=s["rules"], set="ET Open accepted",
        compile_seconds=float(m.group(1)) if m else None,
        gateway=config_figures(s, pk, frame_bytes), matching_limit=lim,
        alerts=s["alerts"], acceptance=out.strip(),
        # both scan the HTTP buffers and each raw flow direction the
        # rules read: the same bytes, unless a drop cut a flow short
        coverage=dict(hsbench_bytes_scanned=h["bytes_scanned"],
                      gateway_detect_bytes_scanned=s["counters"].get(
                          "detect_bytes_scanned"),
                      raw_directions=h.get("raw_directions"))))


BUNDLE_LOAD_RE = re.compile(r"rules from bundle .* loaded in ([0-9.]+) s")
FILES_LOAD_RE = re.compile(r"compiled in ([0-9.]+) s \(out of process, "
                           r"([0-9.]+) s to load\)")


def phase_startup(tools, res, work, bundled, conf1, sizes, repeat, progress):
    """Start-up time with the largest rule set of phase_scale (10,000
    rules in a full run): from a bundle compiled beforehand by ipsctl, and
    from the rule files (the dataplane runs ipsctl compile itself).  Each
    run replays an empty capture, so its wall time is the start-up and
    the teardown; the signature part is read from the dataplane's
    stderr."""
    n = max(sizes)
    rules = bundled + [work / ("synthetic-%d.rules" % n)]
    empty = work / "empty.pcap"
    empty.write_bytes(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0,
                                  65535, 1))
    bundle = work / ("startup-%d.bundle" % n)
    progress("startup", "%d rules: ipsctl compile" % n)
    t0 = time.monotonic()
    run([tools.ipsctl, "compile", "--classification", CLASSIFICATION]
        + rules + ["-o", bundle])
    compile_wall = time.monotonic() - t0

    def once(args, regex):
        t = time.monotonic()
        proc = run([tools.dataplane, "--config", conf1, "--replay", empty]
                   + args, timeout=3600)
        wall = time.monotonic() - t
        s = last_json(proc.stdout, "ips-dataplane")
        m = regex.search(proc.stderr)
        if m is None or s["rules"] != n:
            raise BenchError("start-up run: %d rules loaded, %d expected; "
                             "stderr:\n%s" % (s["rules"], n,
                                              proc.stderr[-2000:]))
        return wall, [float(g) for g in m.groups()]

    progress("startup", "%d rules: from the bundle, best of %d"
             % (n, repeat))
    b = min((once(["--bundle", bundle], BUNDLE_LOAD_RE)
             for _ in range(repeat)), key=lambda r: r[0])
    progress("startup", "%d rules: from the rule files, best of %d"
             % (n, repeat))
    f = min((once([a for r in rules for a in ("--rules", r)],
                  FILES_LOAD_RE) for _ in range(repeat)),
            key=lambda r: r[0])
    res["startup"] = dict(
        rules=n, bundle_bytes=bundle.stat().st_size,
        ipsctl_compile_wall_seconds=compile_wall,
        from_bundle=dict(wall_seconds=b[0], load_seconds=b[1][0]),
        from_rule_files=dict(wall_seconds=f[0], compile_seconds=f[1][0],
                             load_seconds=f[1][1]),
        method="ips-dataplane --replay of an empty capture, process wall "
               "time (EAL init, pools, signatures, teardown), best of %d; "
               "load_seconds: signatures only (bundle read and verified; "
               "for rule files: ipsctl compile in a child process, then "
               "the bundle read)" % repeat)


def phase_memory(tools, res, work, n_open, n_small, progress):
    g1 = res["_summaries"]["gateway_1worker"]
    mem = dict(g1["memory"])
    c1 = g1["counters"]
    out = dict(flow_slot_bytes=mem["flow_slot_bytes"],
               held_segment_bytes=mem["mbuf_bytes"],
               held_segment_note="one mbuf (DPDK's elt + header + "
                                 "trailer); without hugepages the pool "
                                 "places one per 4 KiB page",
               kept_segment_bytes=mem["mbuf_bytes"],
               kept_segment_note="a kept (forwarded, unacknowledged) "
                                 "segment is the received mbuf, "
                                 "referenced, not copied",
               kept_bytes_per_flow=mem["kept_bytes_per_flow"],
               kept_mbufs_per_flow=mem["kept_mbufs_per_flow"],
               kept_bytes_per_worker=mem["kept_bytes_per_worker"],
               kept_mbufs_per_worker=mem["kept_mbufs_per_worker"],
               kept_note="the server's window is clamped to "
                         "kept_bytes_per_flow: a client never has more "
                         "unacknowledged bytes in flight than are kept",
               http_txn_bytes=mem["http_txn_bytes"],
               http_txn_note="one pooled transaction, its small arena "
                             "(head and normalized buffers) included",
               http_header_arena_bytes=mem["http_header_arena_bytes"],
               http_pool_bytes_per_worker=mem["http_pool_bytes"],
               http_requests=c1["http_requests"],
               http_requests_in_large_arena=c1["http_header_arena_used"],
               main_run_peak_rss_kb=mem["peak_rss_kb"],
               main_run_note="gateway 1 worker, capture preloaded into "
                             "mbufs (most of the RSS)")
    runs = {label: open_flows_run(tools, work, n, [], progress)
            for label, n in (("small", n_small), ("open", n_open))}
    big, small = runs["open"], runs["small"]
    per_flow = ((big["peak_rss_kb"] - small["peak_rss_kb"]) * 1024 /
                (big["open_flows"] - small["open_flows"]))
    tracked_all = big["flow_created"] == big["open_flows"] and \
        big["flow_evicted"] == 0 and big["dropped"] == 0
    out.update(open_flows_run=big, small_run=small,
               rss_bytes_per_flow=per_flow,
               rss_method="(peak RSS with N open flows and a flow table "
                          "of capacity >= N) - (peak RSS with %d flows, "
                          "capacity %d), divided by the flow difference"
                          % (small["open_flows"], small["flows_capacity"])
                          + "; both runs without signatures, capture read "
                            "from disk (not preloaded)",
               all_flows_tracked=tracked_all,
               idle_flow_target_bytes=512,
               idle_flow_meets_target=max(per_flow,
                                          mem["flow_slot_bytes"]) <= 512)
    # In-progress HTTP transactions: the same flows, each with a request
    # in progress (a POST head whose body never comes) or finished.
    txn = {label: open_flows_run(tools, work, N_TXN_RUN, extra, progress)
           for label, extra in (("finished", []),
                                ("in_progress", ["--unfinished"]))}
    out.update(http_txn_runs=txn,
               rss_bytes_per_http_txn=(
                   (txn["in_progress"]["peak_rss_kb"] -
                    txn["finished"]["peak_rss_kb"]) * 1024 / N_TXN_RUN),
               rss_txn_method="(peak RSS with %d flows each with a request "
                              "in progress: a %d-byte POST head, no body) - "
                              "(peak RSS with the same flows after a "
                              "finished GET), divided by %d"
                              % (N_TXN_RUN, txn["in_progress"]["head_bytes"],
                                 N_TXN_RUN))
    res["memory"] = out


def phase_floods(tools, res, work, before, progress):
    """Per pool, the attacker rate needed to deny legitimate traffic
    (bench_floods.py), for the gateway built before the pools evicted
    their stalled holders (--floods-before) and this one."""
    binaries = {"after": tools.dataplane}
    if before is not None:
        binaries = {"before": before, "after": tools.dataplane}
    fw = work / "floods"
    fw.mkdir(exist_ok=True)
    res["floods"] = bench_floods.measure(binaries, fw, progress)


def open_flows_run(tools, work, n, extra, progress):
    """ips-trafgen --open-flows n (extra: its other options) through the
    dataplane without signatures (compiled databases are the same size in
    every run and would cancel out of any difference anyway)."""
    progress("memory", "%d concurrent open flows %s" % (n, " ".join(extra)))
    name = "open-%d%s" % (n, "".join(extra))
    pcap, tj = work / (name + ".pcap"), work / (name + ".json")
    truth = trafgen(tools, pcap, tj, ["--open-flows", n, "--seed", 3] + extra)
    conf = write_conf(work / (name + ".conf"), 2048, pow2_at_least(n))
    s = dataplane(tools.dataplane, conf, pcap, [])
    c = s["counters"]
    os.unlink(pcap)
    return dict(open_flows=n, packets=truth["packets"],
                head_bytes=truth["l7_client_bytes"] // n,
                flows_capacity=s["memory"]["flows_capacity"],
                peak_rss_kb=s["memory"]["peak_rss_kb"],
                flow_created=c.get("flow_created"),
                flow_evicted=c.get("flow_evicted"),
                http_requests=c.get("http_requests"),
                http_in_progress=(c.get("http_requests", 0) -
                                  c.get("http_requests_complete", 0)),
                http_large_arena=c.get("http_header_arena_used"),
                dropped=s["dropped"])


# ---- main ------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path,
                    default=Path(os.environ.get("IPS_BUILD_DIR",
                                                SOURCE_DIR / "build")),
                    help="release build tree (default $IPS_BUILD_DIR or "
                         "build/)")
    ap.add_argument("--bench-build", type=Path, default=None,
                    help="build tree with -Dbench_cycles=true (per-stage "
                         "breakdown); without it the breakdown is skipped")
    ap.add_argument("--native-build", type=Path, default=None,
                    help="build tree with -Dnative=true: its full-"
                         "inspection row is reported beside the default "
                         "build's in the I/O yardstick")
    ap.add_argument("--out", type=Path, default=SOURCE_DIR / "bench-out")
    ap.add_argument("--size", default=None,
                    help="capture size (trafgen --size; default 2G, "
                         "--quick 6M)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per timed configuration (best kept; "
                         "default 3, --quick 1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke-test mode: 6 MB capture, one synthetic "
                         "set of 300 rules, 20,000 open flows")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse OUT/capture.pcap if made with the same "
                         "parameters")
    ap.add_argument("--open-flows", type=int, default=None)
    ap.add_argument("--floods-before", type=Path, default=None,
                    help="ips-dataplane built before pools evicted their "
                         "stalled holders, for the floods section's "
                         "'before' column (scripts/bench.sh builds it)")
    ap.add_argument("--floods-only", action="store_true",
                    help="run the floods section only")
    ap.add_argument("--passes", type=int, default=None,
                    help="passes over the preloaded capture in the I/O "
                         "yardstick rows (default 3, --quick 2)")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    args.size = args.size or mode["size"]
    args.repeat = args.repeat or mode["repeat"]
    args.scale = mode["scale"]
    args.open_flows = args.open_flows or mode["open_flows"]
    args.small_flows = mode["small_flows"]
    args.shape_size = mode["shape_size"]
    args.passes = args.passes or mode["passes"]
    args.testpmd_seconds = mode["testpmd_seconds"]
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    progress = Progress()
    out = args.out.resolve()
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    tools = Tools(args.build.resolve(),
                  args.bench_build.resolve() if args.bench_build else None,
                  args.native_build.resolve() if args.native_build
                  else None)
    res = dict(parameters=dict(size=args.size, seed=args.seed,
                               repeat=args.repeat, quick=args.quick,
                               mss=MSS, attack_fraction=ATTACK_FRACTION,
                               scale_rule_counts=list(args.scale),
                               open_flows=args.open_flows,
                               build=str(tools.dataplane.parent),
                               bench_build=str(args.bench_build)
                               if args.bench_build else None),
               environment=environment(), configurations={}, errors=[],
               _summaries={})
    progress("start", "out %s; %s" % (out, res["environment"]["cpu_model"]))
    status = 0
    try:
        if args.floods_only:
            phase_floods(tools, res, work, args.floods_before, progress)
            raise StopIteration
        bundled = [Path(p) for p in
                   bench_rules.bundled_rule_files(str(SOURCE_DIR))]
        actions = bench_rules.rule_actions([str(p) for p in bundled])
        progress("attacks", "calibrating signature examples (one flow "
                 "each)")
        cands = sig_attacks.attacks(str(SOURCE_DIR / "signatures" /
                                        "examples"), MSS)
        good, rejected = calibrate_attacks(tools, work, bundled, cands,
                                           progress)
        res["attacks"] = dict(candidates=len(cands), used=len(good),
                              sids=len({g["sid"] for g in good}),
                              not_used=rejected)
        # Shuffled (fixed seed) so that a small capture, which uses only
        # the first few, still draws from every signature family.
        random.Random(args.seed).shuffle(good)
        attacks_path = work / "attacks.json"
        attacks_path.write_text(json.dumps(
            [{"sid": g["sid"], "request": g["request"]} for g in good]))

        pcap, truth, reused = capture(tools, out, args, attacks_path,
                                      args.reuse, progress)
        res["capture"] = dict(path=str(pcap), reused=reused,
                              **{k: v for k, v in truth.items()
                                 if k not in ("attack_flows",)})
        flows_cap = pow2_at_least(int(truth["flows"] * 1.25))
        conf1 = write_conf(work / "run-1.conf", mem_for(truth["packets"]),
                           flows_cap)
        conf2 = write_conf(work / "run-2.conf",
                           mem_for(truth["packets"], 2), flows_cap)

        progress("honesty", "untimed run with EVE, bundled signatures")
        eve = work / "honesty-eve.json"
        if eve.exists():
            eve.unlink()
        ref = dataplane(tools.dataplane, conf1, pcap, bundled, eve=eve)
        checks = honesty_checks(ref, truth, read_eve(eve), actions)
        res["_summaries"]["honesty"] = ref

        phase_limits(tools, res, pcap, truth, bundled, conf1, conf2,
                     args.repeat, progress)
        for name in ("gateway_1worker", "gateway_2workers",
                     "gateway_1worker_bench_build"):
            if name in res["_summaries"]:
                checks.append(work_check(name, ref, res["_summaries"][name]))
        ml = res["configurations"]["matching_limit"]["hsbench"]
        res["matching_limit_coverage"] = dict(
            hsbench_bytes_scanned=ml["bytes_scanned"],
            gateway_detect_bytes_scanned=ref["counters"].get(
                "detect_bytes_scanned"),
            note="ips-hsbench also scans what follows a blocked request "
                 "in its flow; the gateway stops there")
        res["honesty"] = dict(passed=all(c["ok"] for c in checks),
                              checks=checks)
        if not res["honesty"]["passed"]:
            loud(["HONESTY CHECK FAILED: the figures below do not "
                  "describe a gateway that inspected everything"] +
                 ["%s: expected %s, got %s" % (c["name"],
                                               str(c["expected"])[:300],
                                               str(c["got"])[:300])
                  for c in checks if not c["ok"]])
            status = 3
        res["headline"] = headline(res)
        res["environment"]["march"] = ref.get("march")
        bench_io.phase_shapes(sys.modules[__name__], tools, res, work, args,
                              progress)
        phase_scale(tools, res, work, pcap, truth, bundled, conf1,
                    args.scale, args.repeat, progress)
        phase_scale_et_open(tools, res, work, pcap, truth, conf1,
                            args.repeat, progress)
        phase_startup(tools, res, work, bundled, conf1, args.scale,
                      args.repeat, progress)
        phase_memory(tools, res, work, args.open_flows,
                     args.small_flows, progress)
        phase_floods(tools, res, work, args.floods_before, progress)
    except StopIteration:
        pass
    except (BenchError, subprocess.TimeoutExpired, OSError,
            RuntimeError) as e:
        res["errors"].append(str(e))
        loud(["BENCHMARK ERROR in phase %s:" % progress.phase] +
             str(e).splitlines()[:30])
        status = 2
    res.pop("_summaries", None)
    res["wall_seconds"] = progress.elapsed()
    res["environment"]["loadavg_at_end"] = loadavg()
    progress("report", "charts and results.json")
    res["charts"] = bench_report.charts(res, out)
    (out / "results.json").write_text(json.dumps(res, indent=1,
                                                 sort_keys=True) + "\n")
    if not args.floods_only:
        sys.stdout.write(bench_report.table(res))
    if "floods" in res:
        sys.stdout.write(bench_floods.table(res["floods"]))
    progress("done", "%s (%.0f s)" % (out / "results.json",
                                      progress.elapsed()))
    return status


if __name__ == "__main__":
    sys.exit(main())
