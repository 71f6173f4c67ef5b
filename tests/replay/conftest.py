"""conftest - fixtures that run ips-dataplane --replay and parse its outputs.

Owns: locating the binary (IPS_BUILD_DIR, default <repo>/build),
the run_replay fixture (one replay per call, outputs in the test's
tmp_path), config variants, and rules files.  A missing binary, a non-zero
exit or a summary line that is not JSON fails the test with stderr shown:
the suite never skips.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tcpgen  # noqa: E402

REPLAY_DIR = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("IPS_SOURCE_DIR", REPLAY_DIR.parent.parent))
BUILD_DIR = Path(os.environ.get("IPS_BUILD_DIR", SOURCE_DIR / "build"))
BINARY = BUILD_DIR / "ips-dataplane"
DEFAULT_CONF = REPLAY_DIR / "replay.conf"
DEFAULT_RULES = REPLAY_DIR / "test.rules"
REPLAY_TIMEOUT_S = 120


class Result:
    """Everything one replay produced."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.summary = {}
        self.eve = []
        self.alerts = []
        self.anomalies = []
        self.out_frames = []        # raw bytes, as written to OUT
        self.out_packets = []       # the same as scapy Ether packets
        self.rev_frames = []
        self.rev_packets = []

    @property
    def drops(self):
        return self.summary.get("drops", {})

    @property
    def counters(self):
        return self.summary.get("counters", {})

    def describe(self):
        return ("exit %s\n--- stdout (tail) ---\n%s\n--- stderr ---\n%s"
                % (self.returncode, self.stdout[-3000:], self.stderr[-6000:]))


def _read_eve(path):
    events = []
    if not path.exists():
        return events
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as e:
            pytest.fail("EVE line %d is not JSON (%s): %r" % (n, e, line))
    return events


def _last_json_line(res):
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    if not lines:
        pytest.fail("replay printed no summary line\n" + res.describe())
    try:
        summary = json.loads(lines[-1])
    except ValueError as e:
        pytest.fail("last stdout line is not JSON (%s)\n%s" % (e, res.describe()))
    if not isinstance(summary, dict):
        pytest.fail("summary is not a JSON object\n" + res.describe())
    return summary


def _read_output_pcap(path, res, what):
    if not path.exists():
        pytest.fail("%s pcap %s was not written\n%s" % (what, path, res.describe()))
    try:
        return tcpgen.read_pcap_frames(path)
    except ValueError as e:
        pytest.fail("%s pcap unreadable: %s\n%s" % (what, e, res.describe()))


def _rules_args(rules):
    if rules is None:
        rules = [DEFAULT_RULES]
    elif isinstance(rules, (str, Path)):
        rules = [rules]
    args = []
    for r in rules:
        args += ["--rules", str(r)]
    return args


def replay(tmp_path, pcap_path, rules=None, conf=None, workers=None,
           extra_args=(), name="replay", env=None):
    """Run one replay; fail the test unless it exits 0 with a JSON summary.
    env: extra environment variables for the binary."""
    if not BINARY.exists():
        pytest.fail("binary %s not found (set IPS_BUILD_DIR)" % BINARY)
    out = tmp_path / (name + "-out.pcap")
    rev = tmp_path / (name + "-rev.pcap")
    eve = tmp_path / (name + "-eve.json")
    for stale in (out, rev, eve):
        if stale.exists():
            stale.unlink()
    cmd = [str(BINARY), "--config", str(conf or DEFAULT_CONF),
           "--replay", str(pcap_path), "--write", str(out),
           "--write-reverse", str(rev), "--eve", str(eve)]
    cmd += _rules_args(rules)
    if workers is not None:
        cmd += ["--workers", str(workers)]
    cmd += [str(a) for a in extra_args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=REPLAY_TIMEOUT_S, cwd=str(tmp_path),
                              env=dict(os.environ, **env) if env else None)
    except subprocess.TimeoutExpired as e:
        pytest.fail("replay timed out after %ss: %s\nstderr: %s"
                    % (REPLAY_TIMEOUT_S, " ".join(cmd), e.stderr))
    res = Result(proc.returncode, proc.stdout, proc.stderr)
    if proc.returncode != 0:
        pytest.fail("replay failed: %s\n%s" % (" ".join(cmd), res.describe()))
    # UBSan reports and carries on: in a sanitizer build that is a failure.
    if "runtime error:" in proc.stderr:
        pytest.fail("sanitizer report: %s\n%s" % (" ".join(cmd), res.describe()))
    res.summary = _last_json_line(res)
    res.eve = _read_eve(eve)
    res.alerts = [e for e in res.eve if e.get("event_type") == "alert"]
    res.anomalies = [e for e in res.eve if e.get("event_type") == "anomaly"]
    res.out_frames = _read_output_pcap(out, res, "OUT")
    res.rev_frames = _read_output_pcap(rev, res, "REV")
    res.out_packets = [tcpgen.Ether(f) for f in res.out_frames]
    res.rev_packets = [tcpgen.Ether(f) for f in res.rev_frames]
    return res


@pytest.fixture
def run_replay(tmp_path):
    """run_replay(pcap_path, rules=None, conf=None, workers=None,
    extra_args=(), env=None) -> Result.  rules: a path or a list of paths
    (each given as --rules); None uses tests/replay/test.rules."""
    count = [0]

    def run(pcap_path, rules=None, conf=None, workers=None, extra_args=(),
            env=None):
        count[0] += 1
        return replay(tmp_path, pcap_path, rules, conf, workers, extra_args,
                      name="replay%d" % count[0], env=env)
    return run


HSFAULT_LIB = BUILD_DIR / "tests" / "tools" / "libips_hsfault.so"


def hsfault_env(marker):
    """Environment that makes every Hyperscan scan of data containing
    marker fail (tests/tools/hsfault.c, preloaded)."""
    if not HSFAULT_LIB.exists():
        pytest.fail("%s not built" % HSFAULT_LIB)
    asan = os.environ.get("ASAN_OPTIONS", "")
    # The shim is preloaded ahead of a sanitizer build's ASan runtime.
    return {"LD_PRELOAD": str(HSFAULT_LIB), "IPS_HSFAULT_MARKER": marker,
            "ASAN_OPTIONS": (asan + ":" if asan else "") +
            "verify_asan_link_order=0"}


def rules_file(tmp_path, text, name="rules.rules"):
    """Write rule text to tmp_path/name and return its path."""
    path = Path(tmp_path) / name
    path.write_text(text)
    return path


@pytest.fixture(name="rules_file")
def rules_file_fixture():
    """The rules_file(tmp_path, text, name=...) helper, as a fixture."""
    return rules_file


def conf_variant(tmp_path, **settings):
    """A copy of replay.conf in tmp_path with `key = value;` settings
    replaced (values are libconfig text: conf_variant(p, flows="64",
    flow_table_full='"drop"')).  Relative file names become absolute."""
    text = DEFAULT_CONF.read_text()
    for key, value in settings.items():
        pattern = re.compile(r"^(\s*%s\s*=\s*)[^;]*;" % re.escape(key), re.M)
        text, n = pattern.subn(lambda m: m.group(1) + str(value) + ";", text)
        if n != 1:
            raise KeyError("replay.conf has %d '%s' settings" % (n, key))
    text = re.sub(r'"([^"/][^"]*\.(?:rules|config))"',
                  lambda m: '"%s"' % (REPLAY_DIR / m.group(1)), text)
    path = Path(tmp_path) / "variant.conf"
    path.write_text(text)
    return path


@pytest.fixture
def pcap(tmp_path):
    """pcap(packets, name="in.pcap") -> path of the written input pcap."""
    def write(packets, name="in.pcap"):
        path = tmp_path / name
        tcpgen.write_pcap(path, packets)
        return path
    return write
