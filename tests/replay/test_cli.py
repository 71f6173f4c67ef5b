"""test_cli - the command-line contract: --rules, refusal of bad input.

Bad rules or config must stop the binary before it forwards anything, with
a non-zero exit and a message naming file:line: an IPS must never run a
rule set other than the one its files describe.
"""

import json
import re
import subprocess

from checks import assert_accounting, assert_alert, assert_same_frames, frames
from conftest import (BINARY, DEFAULT_CONF, DEFAULT_RULES, conf_variant,
                      rules_file)
from tcpgen import http_session

PASSWD = b"GET /etc/passwd HTTP/1.1\r\nHost: h\r\nUser-Agent: EvilScanner\r\n\r\n"


def run_raw(tmp_path, *args):
    assert BINARY.exists(), "binary %s not found (set IPS_BUILD_DIR)" % BINARY
    return subprocess.run([str(BINARY)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path))


def test_rules_option_replaces_config_rules(run_replay, pcap, tmp_path):
    only = rules_file(tmp_path, 'alert http any any -> any any (msg:"uri seen"; '
                      'flow:to_server,established; http.uri; content:"passwd"; '
                      'sid:424242; rev:7;)\n')
    flow = http_session([PASSWD], segment_size=9)
    res = run_replay(pcap(flow.packets), rules=only)

    # test.rules would drop this request (sid 9000001) and alert on the
    # user agent (9000002); with --rules only the given file is loaded.
    assert [a["alert"]["signature_id"] for a in res.alerts] == [424242]
    assert_alert(res.alerts[0], 424242, "allowed", flow.client, flow.server)
    assert res.alerts[0]["alert"]["rev"] == 7
    assert_same_frames(res.out_frames, frames(flow.client_packets()), "OUT")
    assert res.summary["dropped"] == 0, res.drops
    assert_accounting(res, len(flow.packets))


def test_rules_option_repeated_loads_every_file(run_replay, pcap, tmp_path):
    a = rules_file(tmp_path, 'alert http any any -> any any (msg:"a"; '
                   'http.method; content:"GET"; sid:5001;)\n', "a.rules")
    b = rules_file(tmp_path, 'alert http any any -> any any (msg:"b"; '
                   'http.host; content:"h"; sid:5002;)\n', "b.rules")
    flow = http_session([PASSWD])
    res = run_replay(pcap(flow.packets), rules=[a, b])

    assert sorted(a["alert"]["signature_id"] for a in res.alerts) == [5001, 5002]
    assert res.summary["alerts"] == 2
    assert res.summary["dropped"] == 0, res.drops


def test_bad_rule_refused_with_location(pcap, tmp_path):
    bad = rules_file(tmp_path, "# comment\n"
                     'drop http any any -> any any (msg:"x"; http.uri; '
                     'content:"a"; no_such_keyword; sid:1;)\n', "bad.rules")
    inp = pcap(http_session([PASSWD]).packets)
    out = tmp_path / "out.pcap"
    proc = run_raw(tmp_path, "--config", DEFAULT_CONF, "--replay", inp,
                   "--write", out, "--rules", bad)
    assert proc.returncode != 0
    assert "bad.rules:2" in proc.stderr, proc.stderr
    assert "no_such_keyword" in proc.stderr, proc.stderr
    assert not out.exists() or out.stat().st_size <= 24


def test_unknown_config_key_refused_with_location(pcap, tmp_path):
    conf = tmp_path / "typo.conf"
    text = conf_variant(tmp_path).read_text()     # rule paths made absolute
    conf.write_text(text.replace("flows = 4096;", "flows = 4096;\n  flowz = 1;"))
    line = conf.read_text().splitlines().index("  flowz = 1;") + 1
    inp = pcap(http_session([PASSWD]).packets)
    proc = run_raw(tmp_path, "--config", conf, "--replay", inp)
    assert proc.returncode != 0
    assert "typo.conf:%d" % line in proc.stderr, proc.stderr
    assert "flowz" in proc.stderr, proc.stderr


def test_empty_pcap(run_replay, pcap):
    res = run_replay(pcap([]))
    s = res.summary
    assert (s["packets_in"], s["forwarded"], s["dropped"], s["flows"]) == (0, 0, 0, 0)
    assert res.out_frames == [] and res.rev_frames == [] and res.eve == []
    assert json.loads(json.dumps(s["counters"])) == s["counters"]


# ---- bundles: ipsctl compile, and the dataplane starting from one ---------

IPSCTL = BINARY.parent / "ipsctl"
CLASSIFICATION = DEFAULT_RULES.parent / "classification.config"


def ipsctl(tmp_path, *args):
    assert IPSCTL.exists(), "ipsctl %s not found (set IPS_BUILD_DIR)" % IPSCTL
    return subprocess.run([str(IPSCTL)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path))


def compile_bundle(tmp_path, rules=DEFAULT_RULES, name="test.bundle"):
    out = tmp_path / name
    proc = ipsctl(tmp_path, "compile", "--classification", CLASSIFICATION,
                  rules, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_ipsctl_compile_prints_counts_per_buffer(tmp_path):
    out, proc = compile_bundle(tmp_path)
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"5 rules from 1 file\(s\) compiled in [0-9.]+ s, "
                        r"generation \d+: %s" % re.escape(str(out)),
                        lines[0]), proc.stdout
    per = {l.split()[0]: l.split()[1:] for l in lines[1:]}
    # test.rules: one uri, one header, one user-agent and two body rules
    assert {b: v[0] for b, v in per.items()} == {
        "http.uri": "1", "http.header": "1", "http.user_agent": "1",
        "http.request_body": "2"}, proc.stdout
    assert per["http.request_body"][-1] == "stream"
    assert per["http.uri"][-1] == "block"
    assert out.read_bytes()[:8] == b"IPSBNDL1"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]   # no temp


def test_ipsctl_compile_bad_rule_writes_nothing(tmp_path):
    bad = rules_file(tmp_path, "# comment\n"
                     'drop http any any -> any any (msg:"x"; http.uri; '
                     'content:"a"; no_such_keyword; sid:1;)\n', "bad.rules")
    out = tmp_path / "bad.bundle"
    proc = ipsctl(tmp_path, "compile", bad, "-o", out)
    assert proc.returncode == 1
    assert "bad.rules:2:" in proc.stderr, proc.stderr
    assert "no_such_keyword" in proc.stderr, proc.stderr
    assert "no bundle written" in proc.stderr, proc.stderr
    assert not out.exists()


CHECK_RULES = (
    "# one good rule, three bad ones\n"
    'alert http any any -> any any (msg:"ok"; http.uri; content:"a"; '
    'pcre:"/b(c)\\1/R"; sid:1;)\n'
    'alert smtp any any -> any any (msg:"smtp"; sid:2;)\n'
    'alert http any any -> any any (msg:"kw"; http.uri; content:"a"; '
    'dsize:3; sid:3;)\n'
    'alert http any any -> any any (msg:"flag"; pcre:"/x/D"; sid:4;)\n')


def test_ipsctl_check_json(tmp_path):
    """--json: one object, for tools: accepted, rejected, every error with
    file, line, the keyword it is in and the reason."""
    rules = rules_file(tmp_path, CHECK_RULES, "c.rules")
    proc = ipsctl(tmp_path, "check", "--json", rules)
    assert proc.returncode == 1
    assert proc.stderr == ""
    [line] = proc.stdout.splitlines()
    obj = json.loads(line)
    assert obj["accepted"] == 1 and obj["rejected"] == 3, obj
    errs = [(e["file"], e["line"], e["keyword"], e["reason"])
            for e in obj["errors"]]
    assert errs == [
        (str(rules), 3, "protocol", "unsupported protocol 'smtp'"),
        (str(rules), 4, "dsize", "unsupported keyword 'dsize'"),
        (str(rules), 5, "pcre", "pcre flag 'D': buffer http.header.raw is "
         "not supported"),
    ], errs
    assert {r["reason"]: r["count"] for r in obj["reasons"]} == {
        e[3]: 1 for e in errs}


def test_ipsctl_check_report_tallies_reasons(tmp_path):
    rules = rules_file(tmp_path, CHECK_RULES + CHECK_RULES.replace(
        "sid:", "sid:10"), "c.rules")
    proc = ipsctl(tmp_path, "check", "--report", rules)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert "unsupported protocol 'smtp': 2" in lines, proc.stdout
    assert "unsupported keyword 'dsize': 2" in lines, proc.stdout
    assert lines[-1].startswith("2 rules ok, 6 errors (25.0% accepted)")


def test_ipsctl_compile_needs_output(tmp_path):
    proc = ipsctl(tmp_path, "compile", DEFAULT_RULES)
    assert proc.returncode == 2
    assert "usage: ipsctl" in proc.stderr


def test_dataplane_starts_from_bundle(run_replay, pcap, tmp_path):
    bundle, _ = compile_bundle(tmp_path)
    # the head in one packet: the drop on its URI and the alert on its
    # user agent are decided together
    flow = http_session([PASSWD])
    res = run_replay(pcap(flow.packets), rules=[],
                     extra_args=["--bundle", bundle])
    assert "rules from bundle %s" % bundle in res.stderr, res.stderr
    assert "compiled in" not in res.stderr     # nothing compiled here
    # test.rules drops the request (9000001) and alerts on the UA (9000002)
    assert sorted(a["alert"]["signature_id"] for a in res.alerts) == \
        [9000001, 9000002]
    assert res.summary["rules"] == 5
    assert res.summary["drops"].get("rule", 0) >= 1, res.drops
    assert_accounting(res, len(flow.packets))


def test_config_bundle_key_wins_over_files(run_replay, pcap, tmp_path):
    only = rules_file(tmp_path, 'alert http any any -> any any (msg:"b"; '
                      'http.uri; content:"passwd"; sid:777;)\n', "b.rules")
    bundle, _ = compile_bundle(tmp_path, only)
    conf = conf_variant(tmp_path)
    text = conf.read_text()
    conf.write_text(text.replace("files = [", 'bundle = "%s";\n  files = ['
                                 % bundle, 1))
    flow = http_session([PASSWD])
    res = run_replay(pcap(flow.packets), rules=[], conf=conf)
    assert [a["alert"]["signature_id"] for a in res.alerts] == [777]


def test_corrupt_bundle_refused(pcap, tmp_path):
    bundle, _ = compile_bundle(tmp_path)
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0x40
    bundle.write_bytes(bytes(data))
    inp = pcap(http_session([PASSWD]).packets)
    out = tmp_path / "out.pcap"
    proc = run_raw(tmp_path, "--config", DEFAULT_CONF, "--replay", inp,
                   "--write", out, "--bundle", bundle)
    assert proc.returncode != 0
    assert "%s: checksum mismatch" % bundle in proc.stderr, proc.stderr
    assert not out.exists() or out.stat().st_size <= 24


def test_truncated_bundle_refused(pcap, tmp_path):
    bundle, _ = compile_bundle(tmp_path)
    bundle.write_bytes(bundle.read_bytes()[:1000])
    inp = pcap(http_session([PASSWD]).packets)
    proc = run_raw(tmp_path, "--config", DEFAULT_CONF, "--replay", inp,
                   "--bundle", bundle)
    assert proc.returncode != 0
    assert "truncated" in proc.stderr, proc.stderr


def test_rules_compiled_out_of_process(run_replay, pcap, tmp_path):
    """--rules still works, through ipsctl compile in a child process; a
    missing compiler is a clear error."""
    flow = http_session([PASSWD])
    res = run_replay(pcap(flow.packets))
    assert "rules from 1 file(s), compiled in" in res.stderr, res.stderr
    assert "out of process" in res.stderr
    conf = conf_variant(tmp_path)
    conf.write_text(conf.read_text().replace(
        "files = [", 'compiler = "/nonexistent/ipsctl";\n  files = [', 1))
    proc = run_raw(tmp_path, "--config", conf, "--replay",
                   pcap(flow.packets, "b.pcap"))
    assert proc.returncode != 0
    assert "/nonexistent/ipsctl" in proc.stderr, proc.stderr
