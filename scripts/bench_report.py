"""bench_report - what the benchmark shows: the PNG charts (matplotlib,
Agg backend) and the human-readable table printed at the end of a run.

Owns only presentation: every figure comes from the results dict that
bench.py also writes as results.json, and missing parts (a phase that
failed) are shown as missing, never invented.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bench_io  # noqa: E402

CONFIG_LABELS = (
    ("io_limit", "I/O limit\n(decode+forward)"),
    ("matching_limit", "matching limit\n(Hyperscan alone)"),
    ("gateway_1worker", "gateway\n1 worker"),
    ("gateway_2workers", "gateway\n2 workers"),
    ("gateway_1worker_bench_build", "gateway 1 worker\n(bench build)"),
)
STAGES = ("rx", "decode", "flow", "stream", "http", "detect", "verdict",
          "forward")
STAGE_COLORS = ("#8c8c8c", "#4c72b0", "#55a868", "#64b5cd", "#dd8452",
                "#c44e52", "#8172b2", "#937860")


def _fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def _throughput_chart(res, path):
    cfg = res.get("configurations", {})
    rows = [(label, cfg[k]) for k, label in CONFIG_LABELS
            if k in cfg and cfg[k].get("gbps") is not None]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    if rows:
        colors = ["#8c8c8c", "#c44e52", "#4c72b0", "#55a868", "#937860"]
        bars = ax.bar([r[0] for r in rows], [r[1]["gbps"] for r in rows],
                      color=colors[:len(rows)])
        for b, (_, f) in zip(bars, rows):
            ax.annotate("%.2f Gbit/s\n%.3f Mpps\n%.0f ns/pkt"
                        % (f["gbps"], f["mpps"], f["ns_per_packet"]),
                        (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
        ax.set_ylim(0, max(r[1]["gbps"] for r in rows) * 1.3)
    else:
        ax.text(0.5, 0.5, "no throughput figures (see errors)",
                ha="center", transform=ax.transAxes)
    head = res.get("headline") or {}
    ax.set_ylabel("Gbit/s over the same capture (best of %s runs)"
                  % res.get("parameters", {}).get("repeat", "?"))
    ax.set_title("Throughput by configuration - efficiency %s, 2-worker "
                 "scaling %sx" % (_fmt(head.get("efficiency")),
                                  _fmt(head.get("scaling_2workers"))))
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _breakdown_chart(res, path):
    bd = res.get("breakdown") or {}
    cfg = res.get("configurations", {})
    fig, ax = plt.subplots(figsize=(10, 5.4))
    if bd.get("available"):
        left = 0.0
        for stage, color in zip(STAGES, STAGE_COLORS):
            ns = bd["stages"].get(stage, {}).get("ns_per_packet", 0.0)
            ax.barh(["gateway 1 worker\n(bench build)"], [ns], left=left,
                    color=color, label="%s %.0f ns" % (stage, ns))
            if ns > bd["total_ns_per_packet"] * 0.06:
                ax.text(left + ns / 2, 0, stage, ha="center",
                        va="center", fontsize=8, color="white")
            left += ns
        refs = [(k, label) for k, label in CONFIG_LABELS[:2]
                if cfg.get(k, {}).get("ns_per_packet") is not None]
        for k, label in refs:
            ax.barh([label.replace("\n", " ")], [cfg[k]["ns_per_packet"]],
                    color="#cccccc")
            ax.text(cfg[k]["ns_per_packet"], label.replace("\n", " "),
                    " %.0f ns" % cfg[k]["ns_per_packet"], va="center",
                    fontsize=8)
        ax.legend(fontsize=8, loc="upper center", ncol=4,
                  bbox_to_anchor=(0.5, -0.18))
        ax.set_xlabel("ns per packet (cycle counters, exclusive per stage;"
                      " TSC %.2f GHz)" % (bd["tsc_hz"] / 1e9))
        ax.set_title("Per-stage cost per packet - costliest: %s (%.0f%%)"
                     % (bd["costliest_stage"],
                        100 * (bd["costliest_share"] or 0)))
    else:
        ax.text(0.5, 0.5, "per-stage breakdown not available:\n%s"
                % bd.get("note", "phase did not run"), ha="center",
                va="center", transform=ax.transAxes, wrap=True)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rules_chart(res, path):
    rows = [r for r in res.get("signature_scale", [])
            if r["gateway"].get("gbps") is not None]
    fig, ax = plt.subplots(figsize=(9, 5))
    if rows:
        n = [r["rules"] for r in rows]
        ax.plot(n, [r["gateway"]["gbps"] for r in rows], "o-",
                color="#4c72b0", label="gateway, 1 worker")
        ax.plot(n, [r["matching_limit"]["gbps"] for r in rows], "s--",
                color="#c44e52", label="matching limit (Hyperscan alone)")
        for r in rows:
            ax.annotate("%.2f Gbit/s\ncompile %s s"
                        % (r["gateway"]["gbps"],
                           _fmt(r["compile_seconds"], "%.1f")),
                        (r["rules"], r["gateway"]["gbps"]), fontsize=8,
                        xytext=(4, -24), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xticks(n)
        ax.set_xticklabels([str(v) for v in n])
        ax.minorticks_off()
        ax.set_ylim(0, max(max(r["gateway"]["gbps"],
                               r["matching_limit"]["gbps"])
                           for r in rows) * 1.25)
        ax.legend(fontsize=9)
    else:
        ax.text(0.5, 0.5, "no signature-scale figures (see errors)",
                ha="center", transform=ax.transAxes)
    ax.set_xlabel("rules (bundled, then bundled + synthetic from ET Open /"
                  " CRS payloads)")
    ax.set_ylabel("Gbit/s over the benchmark capture")
    ax.set_title("Throughput against rule count")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def charts(res, out):
    paths = {"throughput": out / "throughput.png",
             "breakdown": out / "breakdown.png",
             "rules": out / "rules.png"}
    _throughput_chart(res, paths["throughput"])
    _breakdown_chart(res, paths["breakdown"])
    _rules_chart(res, paths["rules"])
    return {k: str(v) for k, v in paths.items()}


# ---- the table ---------------------------------------------------------------

def table(res):
    L = []
    env = res.get("environment", {})
    par = res.get("parameters", {})
    cap = res.get("capture", {})
    L.append("")
    L.append("=== IPS pcap replay benchmark ===")
    L.append("CPU %s, %s cores; DPDK %s, Hyperscan %s; built with "
             "-march=%s"
             % (env.get("cpu_model"), env.get("cores"), env.get("dpdk"),
                env.get("hyperscan"), env.get("march")))
    if cap:
        L.append("capture: %.2f GB, %d packets, %d flows, %d requests "
                 "(%d attacks), %d client L7 bytes%s"
                 % (cap["bytes"] / 1e9, cap["packets"], cap["flows"],
                    cap["requests"], cap["attack_requests"],
                    cap["l7_client_bytes"],
                    " (reused)" if cap.get("reused") else ""))
    L.append("each timed configuration: best of %s runs, preloaded from "
             "memory" % par.get("repeat"))
    L.append("")
    L.append("%-34s %10s %10s %12s" % ("configuration", "Mpps", "Gbit/s",
                                       "ns/packet"))
    cfg = res.get("configurations", {})
    for k, label in CONFIG_LABELS:
        if k in cfg:
            f = cfg[k]
            L.append("%-34s %10s %10s %12s"
                     % (label.replace("\n", " "), _fmt(f["mpps"], "%.3f"),
                        _fmt(f["gbps"]), _fmt(f["ns_per_packet"], "%.0f")))
    head = res.get("headline")
    if head:
        L.append("")
        L.append("efficiency (t_io + t_match) / t_gateway_1w = %s  "
                 "(target >= 0.7: %s)"
                 % (_fmt(head["efficiency"], "%.3f"),
                    "met" if head["efficiency_meets_target"] else "MISSED"))
        L.append("2-worker scaling mpps2 / mpps1         = %s  "
                 "(target >= 1.8: %s)"
                 % (_fmt(head["scaling_2workers"], "%.3f"),
                    "met" if head["scaling_meets_target"] else "MISSED"))
    L += bench_io.table_lines(res.get("io_yardstick"))
    bd = res.get("breakdown")
    if bd:
        L.append("")
        if bd.get("available"):
            L.append("per-stage cost (bench build, exclusive):")
            for s in STAGES:
                v = bd["stages"].get(s)
                if v:
                    L.append("  %-10s %8.0f cycles %8.1f ns  %5.1f%%"
                             % (s, v["cycles_per_packet"], v["ns_per_packet"],
                                100 * v["ns_per_packet"] /
                                bd["total_ns_per_packet"]))
            L.append("  costliest stage: %s" % bd["costliest_stage"])
        else:
            L.append("per-stage breakdown: %s" % bd.get("note"))
    scale = res.get("signature_scale")
    if scale:
        L.append("")
        L.append("%-8s %-20s %10s %10s %14s %8s"
                 % ("rules", "set", "compile s", "gw Gbit/s",
                    "match Gbit/s", "alerts"))
        for r in scale:
            L.append("%-8d %-20s %10s %10s %14s %8d"
                     % (r["rules"], r["set"], _fmt(r["compile_seconds"]),
                        _fmt(r["gateway"]["gbps"]),
                        _fmt(r["matching_limit"]["gbps"]), r["alerts"]))
    st = res.get("startup")
    if st:
        L.append("")
        L.append("start-up time with %d rules: from a bundle %.2f s "
                 "(signatures %.2f s), from rule files %.2f s (compile "
                 "%.2f s, signatures %.2f s)"
                 % (st["rules"], st["from_bundle"]["wall_seconds"],
                    st["from_bundle"]["load_seconds"],
                    st["from_rule_files"]["wall_seconds"],
                    st["from_rule_files"]["compile_seconds"],
                    st["from_rule_files"]["load_seconds"]))
    mem = res.get("memory")
    if mem:
        L.append("")
        L.append("memory: %d B per tracked flow (struct), %d B per held "
                 "or kept segment (mbuf), %d B per in-progress HTTP "
                 "transaction"
                 % (mem["flow_slot_bytes"], mem["held_segment_bytes"],
                    mem["http_txn_bytes"]))
        L.append("  HTTP: %d of %d requests needed a large header arena "
                 "(%d B each); both HTTP pools %.1f MB per worker"
                 % (mem["http_requests_in_large_arena"],
                    mem["http_requests"], mem["http_header_arena_bytes"],
                    mem["http_pool_bytes_per_worker"] / 1e6))
        L.append("  kept: %d B per flow (the server's window is clamped to "
                 "it, at most %d mbufs), %d B per worker (at most %d mbufs)"
                 % (mem["kept_bytes_per_flow"], mem["kept_mbufs_per_flow"],
                    mem["kept_bytes_per_worker"],
                    mem["kept_mbufs_per_worker"]))
        L.append("  peak RSS of the 1-worker run (capture preloaded): "
                 "%.1f MB" % (mem["main_run_peak_rss_kb"] / 1024))
        t = mem["http_txn_runs"]["in_progress"]
        L.append("  %d HTTP requests in progress (%d-byte heads): %.0f B "
                 "each measured (peak RSS difference)"
                 % (t["http_in_progress"], t["head_bytes"],
                    mem["rss_bytes_per_http_txn"]))
        o = mem["open_flows_run"]
        L.append("  %d open flows: peak RSS %.1f MB, %.0f B per flow "
                 "measured (target <= 512: %s)"
                 % (o["open_flows"], o["peak_rss_kb"] / 1024,
                    mem["rss_bytes_per_flow"],
                    "met" if mem["idle_flow_meets_target"] else "MISSED"))
    hon = res.get("honesty")
    if hon:
        L.append("")
        L.append("honesty checks: %s" % ("all passed" if hon["passed"]
                                         else "FAILED"))
        for c in hon["checks"]:
            L.append("  [%s] %s" % ("ok" if c["ok"] else "FAIL", c["name"]))
    for e in res.get("errors", []):
        L.append("")
        L.append("ERROR: %s" % e.splitlines()[0] if e else "ERROR")
    L.append("")
    L.append("results: %s; charts: %s" % (
        "results.json", ", ".join(sorted(res.get("charts", {}).values()))))
    return "\n".join(L) + "\n"
