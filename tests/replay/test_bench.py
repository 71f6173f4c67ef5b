"""test_bench - smoke test of the pcap replay benchmark (scripts/bench.py).

Owns: one --quick run of the real runner on a small generated capture with
the binaries of $IPS_BUILD_DIR (nothing is built), checking that
results.json carries every figure, that the honesty checks ran and passed,
and that the three charts are valid PNGs; plus the honesty checks
themselves flagging doctored counters, so a runner that stopped checking
would fail here.
"""

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("IPS_SOURCE_DIR",
                                 Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("IPS_BUILD_DIR", SOURCE_DIR / "build"))
BENCH = SOURCE_DIR / "scripts" / "bench.py"
# About a minute on an idle 2-core machine, even in an ASan build; the
# limit only guards against a hang on a loaded one (263 s seen under
# ASan with three test suites sharing the cores).
TIMEOUT_S = 900

sys.path.insert(0, str(SOURCE_DIR / "scripts"))

import bench  # noqa: E402

CONFIGS = ("io_limit", "matching_limit", "gateway_1worker",
           "gateway_2workers")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(["/usr/bin/python3", str(BENCH), "--quick",
                           "--build", str(BUILD_DIR), "--out", str(out)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-6000:])
    res = json.loads((out / "results.json").read_text())
    return out, res, proc


def _positive(v):
    return isinstance(v, (int, float)) and v > 0


def test_uses_the_given_build(quick):
    _, res, _ = quick
    assert Path(res["parameters"]["build"]) == BUILD_DIR.resolve()
    assert res["parameters"]["quick"] is True
    assert res["errors"] == []


def test_every_configuration_has_its_figures(quick):
    _, res, _ = quick
    cfg = res["configurations"]
    for name in CONFIGS:
        for key in ("seconds", "mpps", "gbps", "ns_per_packet"):
            assert _positive(cfg[name][key]), (name, key, cfg[name])
        # ns per packet is the timed window over the packets replayed.
        assert cfg[name]["ns_per_packet"] == pytest.approx(
            cfg[name]["seconds"] / res["capture"]["packets"] * 1e9)
    for name in ("io_limit", "gateway_1worker", "gateway_2workers"):
        assert len(cfg[name]["runs_seconds"]) == res["parameters"]["repeat"]
        assert cfg[name]["seconds"] == min(cfg[name]["runs_seconds"])
        assert cfg[name]["packets_in"] == res["capture"]["packets"]
    assert cfg["gateway_2workers"]["workers"] == 2
    h = cfg["matching_limit"]["hsbench"]
    assert h["bytes_scanned"] > 0 and h["rules"] > 0


def test_headline(quick):
    _, res, _ = quick
    cfg, head = res["configurations"], res["headline"]
    assert head["efficiency"] == pytest.approx(
        (cfg["io_limit"]["seconds"] + cfg["matching_limit"]["seconds"]) /
        cfg["gateway_1worker"]["seconds"])
    assert head["scaling_2workers"] == pytest.approx(
        cfg["gateway_2workers"]["mpps"] / cfg["gateway_1worker"]["mpps"])
    assert isinstance(head["efficiency_meets_target"], bool)
    assert isinstance(head["scaling_meets_target"], bool)


def test_breakdown_reported(quick):
    _, res, _ = quick
    bd = res["breakdown"]
    if bd["available"]:
        assert set(bd["stages"]) == {"rx", "decode", "flow", "stream",
                                     "http", "detect", "verdict", "forward"}
        assert bd["costliest_stage"] in bd["stages"]
    else:
        # A release build has no cycle counters: said so, not invented.
        assert bd["stages"] is None and bd["note"]


def test_signature_scale(quick):
    _, res, _ = quick
    rows = res["signature_scale"]
    counts = res["parameters"]["scale_rule_counts"]
    assert counts
    # the synthetic sizes in order, then the ET Open set the parser
    # accepts (phase_scale_et_open)
    assert [r["set"] for r in rows] == \
        ["bundled"] + ["bundled+synthetic"] * len(counts) + \
        ["ET Open accepted"]
    synthetic, et = rows[:-1], rows[-1]
    assert [r["rules"] for r in synthetic[1:]] == counts
    assert all(a["rules"] < b["rules"] for a, b in zip(synthetic,
                                                        synthetic[1:]))
    assert et["rules"] > rows[0]["rules"] and "accepted" in et["acceptance"]
    # the matching limit scans what the gateway scans: HTTP buffers and
    # both raw directions (ET Open reads the server's bytes too)
    cov = et["coverage"]
    assert cov["raw_directions"] == "both", cov
    assert cov["hsbench_bytes_scanned"] == \
        cov["gateway_detect_bytes_scanned"] > 0, cov
    for r in rows:
        assert _positive(r["compile_seconds"])
        assert _positive(r["gateway"]["gbps"])
        assert _positive(r["matching_limit"]["gbps"])
        assert r["matching_limit"]["hsbench"]["rules"] == r["rules"]


def _sanitized_build():
    """Is the gateway under test built with ASan?  Its peak RSS is then
    the sanitizer's and the prefaulted EAL memory's, the same with 1,000
    or 100,000 flows, so the per-flow RSS difference means nothing."""
    out = subprocess.run(["ldd", str(BUILD_DIR / "ips-dataplane")],
                         capture_output=True, text=True, check=True).stdout
    return "libasan" in out


def test_memory(quick):
    _, res, _ = quick
    mem = res["memory"]
    for key in ("flow_slot_bytes", "held_segment_bytes", "http_txn_bytes",
                "http_header_arena_bytes", "http_pool_bytes_per_worker",
                "kept_segment_bytes", "kept_bytes_per_flow",
                "kept_mbufs_per_flow", "kept_bytes_per_worker",
                "kept_mbufs_per_worker",
                "main_run_peak_rss_kb"):
        assert _positive(mem[key]), key
    # A transaction fits a page; the benchmark's requests fit in it.
    assert mem["http_txn_bytes"] <= 4096
    assert mem["http_requests"] > 0
    assert mem["http_requests_in_large_arena"] == 0
    runs = mem["http_txn_runs"]
    assert runs["in_progress"]["http_in_progress"] == bench.N_TXN_RUN
    assert runs["finished"]["http_in_progress"] == 0
    for r in runs.values():
        assert r["dropped"] == 0 and r["http_large_arena"] == 0, r
    assert isinstance(mem["rss_bytes_per_http_txn"], float)
    if not _sanitized_build():
        assert _positive(mem["rss_bytes_per_http_txn"])
    assert isinstance(mem["rss_bytes_per_flow"], float)
    if not _sanitized_build():
        assert _positive(mem["rss_bytes_per_flow"]), mem["rss_bytes_per_flow"]
    run = mem["open_flows_run"]
    assert run["open_flows"] == res["parameters"]["open_flows"]
    assert run["flow_created"] == run["open_flows"]
    assert run["http_requests"] == run["open_flows"]
    assert mem["all_flows_tracked"] is True
    if not _sanitized_build():
        assert run["peak_rss_kb"] > mem["small_run"]["peak_rss_kb"]
    assert isinstance(mem["idle_flow_meets_target"], bool)


def test_floods(quick):
    """Every pool: a flood sent once no longer denies legitimate traffic;
    only one within each legitimate window does, at a rate reported."""
    _, res, _ = quick
    rows = res["floods"]["rows"]
    assert {r["limit"] for r in rows} == {
        "flows", "stream_held", "http_transactions", "body_streams",
        "raw_streams", "frag_datagrams"}
    for r in rows:
        after = r["after"]
        assert after["once_threshold_k"] is None, r
        assert after["window_threshold_k"] is not None, r
        assert _positive(after["rate_needed_pps"]), r


def test_honesty_checks_passed(quick):
    _, res, _ = quick
    hon = res["honesty"]
    names = [c["name"] for c in hon["checks"]]
    for want in ("packets_in == truth packets",
                 "http_requests == truth requests",
                 "stream_bytes_inspected == truth l7_client_bytes",
                 "alerts per sid == truth attacks_by_sid",
                 "drop_rule == attack flows of drop/reject rules",
                 "no other drop_ counter non-zero"):
        assert want in names
    assert hon["passed"] is True, [c for c in hon["checks"] if not c["ok"]]
    assert res["capture"]["attack_requests"] > 0
    assert res["attacks"]["used"] > 0


def _png_size(path):
    """Width and height of a PNG, after checking its signature and the
    CRC of every chunk and inflating its image data."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        assert zlib.crc32(kind + body) == crc, (path, kind)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
        if kind == b"IEND":
            break
    assert size and idat and len(zlib.decompress(idat)) > 0
    return size


def test_charts_are_valid_pngs(quick):
    out, res, _ = quick
    assert set(res["charts"]) == {"throughput", "breakdown", "rules"}
    for path in res["charts"].values():
        w, h = _png_size(Path(path))
        assert w >= 600 and h >= 300
        assert Path(path).parent == out


def test_table_and_progress(quick):
    _, res, proc = quick
    assert "efficiency" in proc.stdout and "honesty checks: all passed" \
        in proc.stdout
    for phase in ("attacks", "capture", "honesty", "io-limit",
                  "match-limit", "scale", "startup", "memory", "done"):
        assert "] %s" % phase in proc.stderr, phase
    assert "start-up time with %d rules: from a bundle" \
        % max(res["parameters"]["scale_rule_counts"]) in proc.stdout


def test_startup_row(quick):
    """Start-up with the largest rule-scale set, from a bundle and from
    the rule files: measured, not judged (benchmarks are not tests)."""
    _, res, _ = quick
    st = res["startup"]
    assert st["rules"] == max(res["parameters"]["scale_rule_counts"])
    assert st["bundle_bytes"] > 0
    for key in ("wall_seconds", "load_seconds"):
        assert _positive(st["from_bundle"][key]), st
        assert _positive(st["from_rule_files"][key]), st
    assert _positive(st["from_rule_files"]["compile_seconds"]), st


def test_environment(quick):
    _, res, _ = quick
    env = res["environment"]
    assert env["cores"] >= 1 and env["cpu_model"]
    assert env["dpdk"] and env["hyperscan"]


# ---- the memory run's capture (ips-trafgen --open-flows) -------------------

def _tcp_records(path):
    """(flags, client 4-tuple, payload length, from client) of every
    TCP/IPv4 record; servers are 192.0.2.0/24."""
    data = Path(path).read_bytes()
    pos, out = 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack("<I", data[pos + 8:pos + 12])[0]
        f = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        ihl = (f[14] & 0x0F) * 4
        tcp = 14 + ihl
        src, dst = f[26:30], f[30:34]
        sport, dport = struct.unpack(">HH", f[tcp:tcp + 4])
        doff = (f[tcp + 12] >> 4) * 4
        total = struct.unpack(">H", f[16:18])[0]
        client = src[0] != 192
        key = (src, sport, dst, dport) if client else (dst, dport, src, sport)
        out.append((f[tcp + 13], key, total - ihl - doff, client))
    return out


def test_open_flows_capture(tmp_path):
    n = 300
    pcap, truth = tmp_path / "open.pcap", tmp_path / "open.json"
    trafgen = BUILD_DIR / "tests" / "tools" / "ips-trafgen"
    subprocess.run([str(trafgen), "--out", str(pcap), "--truth", str(truth),
                    "--open-flows", str(n), "--seed", "3"], check=True,
                   capture_output=True, timeout=60)
    t = json.loads(truth.read_text())
    recs = _tcp_records(pcap)
    assert t["flows"] == t["requests"] == t["responses"] == n
    assert t["packets"] == len(recs) == 9 * n
    assert len({r[1] for r in recs}) == n
    syn = [i for i, r in enumerate(recs) if r[0] & 0x02]
    fin = [i for i, r in enumerate(recs) if r[0] & 0x01]
    assert len(syn) == 2 * n and len(fin) == 2 * n
    # Every flow is open (handshake, request, answer) before any closes.
    assert max(syn) < min(fin)
    data = [i for i, r in enumerate(recs) if r[2] > 0]
    assert len(data) == 2 * n and max(data) < min(fin)
    assert t["l7_client_bytes"] == sum(r[2] for r in recs if r[3])
    assert t["l7_server_bytes"] == sum(r[2] for r in recs if not r[3])


# ---- the runner's own logic -----------------------------------------------

def test_best_of_keeps_the_shortest_window():
    runs = iter([{"elapsed_s": 0.3}, {"elapsed_s": 0.1}, {"elapsed_s": 0.2}])
    best = bench.best_of(3, lambda: dict(next(runs)))
    assert best["elapsed_s"] == 0.1
    assert best["runs_elapsed_s"] == [0.3, 0.1, 0.2]


def test_figures():
    f = bench.figures(2000000, 10 ** 9, 0.5)
    assert f["mpps"] == pytest.approx(4.0)
    assert f["gbps"] == pytest.approx(16.0)
    assert f["ns_per_packet"] == pytest.approx(250.0)


def _clean_run():
    truth = {"packets": 100, "requests": 10, "l7_client_bytes": 5000,
             "attacks_by_sid": {"1000001": 1, "1000002": 0},
             "attack_flows": [{"sid": 1000001, "client": "198.51.100.1:1234",
                               "flow": 3}]}
    summary = {"packets_in": 100, "held_at_exit": 0,
               "counters": {"http_requests": 10,
                            "stream_bytes_inspected": 5000, "drop_rule": 1,
                            "drop_flow_blocked": 3, "drop_tcp_state": 0}}
    alerts = [{"src_ip": "198.51.100.1", "src_port": 1234,
               "alert": {"signature_id": 1000001}}]
    return summary, truth, alerts, {1000001: "drop", 1000002: "alert"}


def _failed(summary, truth, alerts, actions):
    return [c["name"] for c in
            bench.honesty_checks(summary, truth, alerts, actions)
            if not c["ok"]]


def test_honesty_checks_accept_a_clean_run():
    assert _failed(*_clean_run()) == []


@pytest.mark.parametrize("doctor,check", [
    (lambda s, t, a: s["counters"].update(http_requests=9),
     "http_requests == truth requests"),
    (lambda s, t, a: s["counters"].update(stream_bytes_inspected=4999),
     "stream_bytes_inspected == truth l7_client_bytes"),
    (lambda s, t, a: a.clear(), "alerts per sid == truth attacks_by_sid"),
    (lambda s, t, a: s["counters"].update(drop_rule=2),
     "drop_rule == attack flows of drop/reject rules"),
    (lambda s, t, a: s["counters"].update(drop_tcp_state=1),
     "no other drop_ counter non-zero"),
    (lambda s, t, a: s.update(packets_in=99), "packets_in == truth packets"),
    (lambda s, t, a: a[0].update(src_port=999),
     "alerted flows == attack flows"),
])
def test_honesty_checks_catch_a_lie(doctor, check):
    summary, truth, alerts, actions = _clean_run()
    doctor(summary, truth, alerts)
    assert check in _failed(summary, truth, alerts, actions)


def test_io_yardstick(quick):
    """The I/O yardstick: testpmd io forwarding and the gateway on the
    same captures, each shape with its figures and the ratios computed
    from them (not invented: recomputed here)."""
    _, res, proc = quick
    io = res["io_yardstick"]
    assert set(io["shapes"]) == {"web", "api"}
    for name, r in io["shapes"].items():
        tp = r["testpmd_io"]
        assert _positive(tp["mpps"]) and _positive(tp["cycles_per_packet"])
        assert tp["packets"] > r["packets"]     # forwarded for seconds
        for key, workers in (("gateway_inspect_none", 1),
                             ("gateway_1worker", 1),
                             ("gateway_2workers", 2)):
            g = r[key]
            assert _positive(g["mpps"]), (name, key)
            assert g["packets"] == r["packets"] * io["passes"]
            assert g["dropped"] == 0
            assert len(g["per_worker"]) == workers
            assert sum(w["packets"] for w in g["per_worker"]) == g["packets"]
            assert sum(w["share"] for w in g["per_worker"]) == \
                pytest.approx(1.0)
            for w in g["per_worker"]:
                assert _positive(w["cpu_cycles_per_packet"])
        rt = r["ratios"]
        assert rt["inspect_none_vs_testpmd"] == pytest.approx(
            r["gateway_inspect_none"]["mpps"] / tp["mpps"])
        assert rt["full_vs_testpmd"] == pytest.approx(
            r["gateway_1worker"]["mpps"] / tp["mpps"])
        assert rt["scaling_2workers"] == pytest.approx(
            r["gateway_2workers"]["mpps"] / r["gateway_1worker"]["mpps"])
    # The API shape is what its name says: most bytes from the client.
    assert io["shapes"]["api"]["client_byte_share"] > 0.5
    assert io["shapes"]["web"]["client_byte_share"] < 0.5
    assert "I/O yardstick" in proc.stdout
    assert res["environment"]["march"]
