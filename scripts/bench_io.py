"""bench_io - the benchmark's I/O yardstick (issue 9): DPDK's own
forwarding rate on the same capture and core as the limit the gateway is
measured against.

Owns: the traffic shapes (web, API), the dpdk-testpmd io-forwarding run,
and the per-shape rows: testpmd io, gateway --inspect none, gateway with
full inspection on 1 and 2 workers, all with the 2,000-literal http.uri
rule set from ET Open, preloaded, in steady state.

Steady state: testpmd forwards for seconds, over and over the same
preloaded mbufs; the gateway reads its preloaded capture PASSES times
(--passes) so that neither figure is the cost of a first touch of the
capture's memory.  Ratios are of figures measured in the same run.
"""

import re
import subprocess
import threading
import time

import bench_rules

TESTPMD = "/usr/bin/dpdk-testpmd"
PMD_DIR = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"
URI_LITERALS = 2000

# name -> trafgen arguments beside --size/--seed/--mss
SHAPES = (
    ("web", []),
    ("api", ["--profile", "api", "--requests-mean", 16, "--max-body", 8192]),
)

TESTPMD_RE = re.compile(r"CPU cycles/packet=([0-9.]+) \(total cycles=(\d+) "
                        r"/ total io packets=(\d+)\) at (\d+) MHz")


def wait_forwarding(proc, timeout):
    """testpmd's output up to "Press enter to exit", which it prints once
    forwarding has started (all of it if it exits first); RuntimeError
    if neither happens within timeout seconds."""
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "Press enter to exit" in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise RuntimeError("dpdk-testpmd did not start forwarding in %d s:"
                           "\n%s" % (timeout, "".join(lines)[-2000:]))
    return "".join(lines)


def testpmd(pcap, packets, mem_mb, seconds, lcore=1):
    """dpdk-testpmd io forwarding, net_pcap infinite_rx -> net_null, one
    forwarding core (lcore, the gateway's first worker's).  Forwarding
    starts once the capture is loaded; cycles are counted per busy burst
    (--record-core-cycles), so the load time is not in the figure."""
    # line-buffered: "Press enter to exit" must reach us when printed
    cmd = ["stdbuf", "-oL", TESTPMD, "-l", "0,%d" % lcore, "--no-huge",
           "-m", str(mem_mb),
           "--no-shconf", "--no-pci", "-d", PMD_DIR, "--log-level=error",
           "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap,
           "--vdev", "net_null0,no-rx=1", "--",
           "--forward-mode=io", "--record-core-cycles", "--nb-cores=1",
           "--total-num-mbufs=%d" % (packets + 16384)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        # forward for `seconds` from when forwarding starts: loading the
        # capture into mbufs takes a while, longer on a loaded machine
        head = wait_forwarding(proc, timeout=120)
        time.sleep(seconds)
        out, _ = proc.communicate("\n", timeout=120)
        out = head + (out or "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    m = TESTPMD_RE.search(out or "")
    if proc.returncode != 0 or not m:
        raise RuntimeError("dpdk-testpmd printed no cycles/packet (exit "
                           "%s):\n%s" % (proc.returncode, (out or "")[-2000:]))
    cpp, mhz = float(m.group(1)), int(m.group(4))
    return dict(cycles_per_packet=cpp, packets=int(m.group(3)),
                mpps=mhz / cpp, ns_per_packet=cpp / mhz * 1e3,
                command=" ".join(str(c) for c in cmd))


def gateway_row(s, packets_per_pass, passes):
    hz = s["tsc_hz"]
    workers = s.get("per_worker") or []
    return dict(mpps=s["mpps"], ns_per_packet=1e3 / s["mpps"]
                if s["mpps"] else None,
                packets=s["packets_in"], passes=passes,
                packets_per_pass=packets_per_pass, alerts=s["alerts"],
                dropped=s["dropped"], march=s.get("march"),
                per_worker=[dict(w, ns_per_packet=w["cpu_cycles_per_packet"]
                                 / hz * 1e9) for w in workers])


def phase_shapes(b, tools, res, work, args, progress):
    """b is the bench module (its trafgen, dataplane, write_conf,
    mem_for, best_of helpers)."""
    out = dict(rules=URI_LITERALS, passes=args.passes, shapes={},
               method="same preloaded capture and core for every row; "
                      "testpmd io forwarding counts busy cycles over "
                      "%d s; the gateway reads its capture %d times "
                      "(--passes), best of %d" % (args.testpmd_seconds,
                                                  args.passes, args.repeat))
    res["io_yardstick"] = out
    rules = work / "uri-literals.rules"
    for name, extra in SHAPES:
        pcap = work / ("shape-%s.pcap" % name)
        progress("io-" + name, "capture %s, %s" % (args.shape_size, name))
        truth = b.trafgen(tools, pcap, work / ("shape-%s.json" % name),
                          ["--size", args.shape_size, "--seed", args.seed,
                           "--mss", b.MSS] + extra)
        if not rules.exists():
            pool = bench_rules.payload_pool(
                str(tools.ipsctl), str(b.SHARED_CORPORA),
                b.client_payload_text(pcap), enough=URI_LITERALS)
            bench_rules.write_synthetic(str(rules), URI_LITERALS, pool,
                                        str(tools.ipsctl),
                                        str(b.CLASSIFICATION),
                                        buffers=("http.uri",))
        pk = truth["packets"]
        frame = (truth["bytes"] - 24 - 16 * pk) / pk
        client = truth["l7_client_bytes"] / max(
            1, truth["l7_client_bytes"] + truth["l7_server_bytes"])
        row = dict(packets=pk, mean_frame_bytes=frame,
                   client_byte_share=client, flows=truth["flows"],
                   requests=truth["requests"])
        flows_cap = b.pow2_at_least(int(truth["flows"] * 1.25))
        conf1 = b.write_conf(work / ("io-%s-1.conf" % name), b.mem_for(pk),
                             flows_cap)
        conf2 = b.write_conf(work / ("io-%s-2.conf" % name),
                             b.mem_for(pk, 2), flows_cap)
        progress("io-" + name, "dpdk-testpmd io forwarding, %d s"
                 % args.testpmd_seconds)
        row["testpmd_io"] = testpmd(pcap, pk, b.mem_for(pk),
                                    args.testpmd_seconds)
        runs = [("gateway_inspect_none", conf1, 1, "none", [],
                 tools.dataplane),
                ("gateway_1worker", conf1, 1, "full", [rules],
                 tools.dataplane),
                ("gateway_2workers", conf2, 2, "full", [rules],
                 tools.dataplane)]
        if tools.native_dataplane:
            runs.append(("gateway_1worker_native", conf1, 1, "full",
                         [rules], tools.native_dataplane))
        for key, conf, workers, inspect, rl, binary in runs:
            progress("io-" + name, "%s, best of %d" % (key, args.repeat))
            s = b.best_of(args.repeat, lambda: b.dataplane(
                binary, conf, pcap, rl, workers=workers,
                preload=True, inspect=inspect, passes=args.passes))
            row[key] = gateway_row(s, pk, args.passes)
        io = row["testpmd_io"]["mpps"]
        g1 = row["gateway_1worker"]["mpps"]
        row["ratios"] = dict(
            inspect_none_vs_testpmd=row["gateway_inspect_none"]["mpps"] / io,
            full_vs_testpmd=g1 / io,
            scaling_2workers=row["gateway_2workers"]["mpps"] / g1)
        row["targets"] = dict(inspect_none_vs_testpmd=0.8,
                              full_vs_testpmd=0.5, scaling_2workers=1.8)
        out["shapes"][name] = row
    return out


def table_lines(io):
    """The I/O yardstick section of the printed table."""
    if not io or not io.get("shapes"):
        return []
    L = ["", "I/O yardstick: %d literal http.uri rules (ET Open), %s"
         % (io["rules"], io["method"])]
    L.append("%-6s %6s %6s | %8s %8s %6s %8s %6s %8s %6s"
             % ("shape", "frame", "client", "testpmd", "none", "x io",
                "full 1w", "x io", "full 2w", "x 1w"))
    for name, r in io["shapes"].items():
        rt = r["ratios"]
        L.append("%-6s %5.0fB %5.0f%% | %8.2f %8.2f %6.2f %8.2f %6.2f "
                 "%8.2f %6.2f"
                 % (name, r["mean_frame_bytes"], 100 * r["client_byte_share"],
                    r["testpmd_io"]["mpps"],
                    r["gateway_inspect_none"]["mpps"],
                    rt["inspect_none_vs_testpmd"],
                    r["gateway_1worker"]["mpps"], rt["full_vs_testpmd"],
                    r["gateway_2workers"]["mpps"], rt["scaling_2workers"]))
    L.append("  (Mpps; targets: none >= 0.8 x io, full >= 0.5 x io, "
             "2 workers >= 1.8 x 1)")
    for name, r in io["shapes"].items():
        for key in ("gateway_1worker", "gateway_2workers"):
            ws = r[key]["per_worker"]
            L.append("  %s %s: %s" % (name, key, ", ".join(
                "worker %d %.1f%% of packets, %.0f cycles/packet (CPU time)"
                % (w["worker"], 100 * w["share"], w["cpu_cycles_per_packet"])
                for w in ws)))
        L.append("  %s testpmd io: %.0f cycles/packet" %
                 (name, r["testpmd_io"]["cycles_per_packet"]))
        nat = r.get("gateway_1worker_native")
        if nat:
            L.append("  %s full 1 worker built -march=%s: %.2f Mpps "
                     "(%.2f x io; default build -march=%s: %.2f)"
                     % (name, nat["march"], nat["mpps"],
                        nat["mpps"] / r["testpmd_io"]["mpps"],
                        r["gateway_1worker"]["march"],
                        r["gateway_1worker"]["mpps"]))
    return L
