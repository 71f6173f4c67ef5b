"""test_cli - the command-line contract: --rules, refusal of bad input.

Bad rules or config must stop the binary before it forwards anything, with
a non-zero exit and a message naming file:line: an IPS must never run a
rule set other than the one its files describe.
"""

import json
import subprocess

from checks import assert_accounting, assert_alert, assert_same_frames, frames
from conftest import BINARY, DEFAULT_CONF, conf_variant, rules_file
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
