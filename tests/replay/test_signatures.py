"""test_signatures - the bundled rule set (signatures/) against its examples.

Owns: replaying every example request of signatures/examples/<family>.yaml
through the real gateway loaded with all of signatures/*.rules, the checks
that each rule has examples both ways, the rule-set metadata conventions
(sid blocks, msg prefix, classtypes), `ipsctl check` on the whole set, and
a false-positive run over real benign captures.

One pcap per family, one TCP flow per example (client ports distinct), so a
family costs one replay, done twice: requests in one segment, then cut into
small segments.  A `match` example must raise its sid (and, for a drop
rule, be blocked before the pod has the whole request); a `nomatch` example
must raise no bundled rule at all and reach the pod whole.
"""

import base64
import gzip
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from conftest import BUILD_DIR, SOURCE_DIR, conf_variant
from tcpgen import (client_payload_stream, http_session, read_pcap_frames,
                    write_pcap)

SIG_DIR = SOURCE_DIR / "signatures"
EXAMPLES_DIR = SIG_DIR / "examples"
CLASSIFICATION = SIG_DIR / "classification.config"
RULE_FILES = sorted(SIG_DIR.glob("*.rules"))
FAMILIES = [p.stem for p in RULE_FILES]
# The shared third-party corpora sit beside the repository (../shared).
CORPORA = Path(os.environ.get("IPS_CORPORA",
                              SOURCE_DIR.parent / "shared" / "corpora"))
CRS_DIR = CORPORA / "crs-regression" / "tests"
ZEEK_DIR = CORPORA / "zeek-http-traces" / "traces"

# sid blocks of 1000 per family, in this order (signatures/*.rules headers)
SID_BASE = 1000000
SID_BLOCK = 1000
FAMILY_ORDER = ["sqli", "xss", "cmdi", "traversal", "ssrf", "docker_api",
                "k8s_api", "log4shell", "webshell", "miner_tooling",
                "spring4shell"]
MSG_WORDS = {"miner_tooling": ("MINER", "TOOLING")}

CLIENT_IP = "192.0.2.10"
SERVER_IP = "198.51.100.10"
FIRST_CLIENT_PORT = 20000
SMALL_SEGMENT = 7

# Ordinary traffic captured by Zeek's test suite: browsing, uploads, range
# requests, pipelining.  Attack and malformed captures are left out.
BENIGN_TRACES = ["get.pcap", "post.pcap", "multipart-form-data.pcap",
                 "bro.org.pcap", "206_example_c.pcap", "http-body-match.pcap",
                 "putty-upload.pcap", "methods.pcap", "http-post-large.pcap",
                 "1000-requests-one-dropped-response.pcap.gz"]
BENIGN_MIN_TRANSACTIONS = 1000

RULE_RE = re.compile(r"^(\w+)\s+http\s+\S+\s+\S+\s+->\s+\S+\s+\S+\s+\((.*)\)\s*$")


# -- the rule set ------------------------------------------------------------

class Rule:
    def __init__(self, family, path, line, action, options):
        self.family, self.path, self.line = family, path, line
        self.action = action
        self.options = options
        self.sid = int(self._opt(r"\bsid:\s*(\d+)\s*;"))
        self.rev = int(self._opt(r"\brev:\s*(\d+)\s*;"))
        self.msg = self._opt(r'\bmsg:\s*"([^"]*)"\s*;')
        self.classtype = self._opt(r"\bclasstype:\s*([\w-]+)\s*;")

    def _opt(self, pattern):
        m = re.search(pattern, self.options)
        return m.group(1) if m else None

    def where(self):
        return "%s:%d (sid %s)" % (self.path.name, self.line, self.sid)


def load_rules():
    rules = []
    for path in RULE_FILES:
        for n, text in enumerate(path.read_text().splitlines(), 1):
            text = text.strip()
            if not text or text.startswith("#"):
                continue
            m = RULE_RE.match(text)
            assert m, "%s:%d: not a rule line: %s" % (path.name, n, text[:80])
            rules.append(Rule(path.stem, path, n, m.group(1), m.group(2)))
    return rules


RULES = load_rules()
RULE_BY_SID = {r.sid: r for r in RULES}


# -- examples ------------------------------------------------------------------

class Case:
    """One example request: replayed as its own TCP flow."""

    def __init__(self, sid, must_match, raw, port, label):
        self.sid, self.must_match, self.raw = sid, must_match, raw
        self.port, self.label = port, label

    def describe(self):
        line = self.raw.split(b"\r\n", 1)[0][:160]
        return "%s example for sid %d (%s): %r" % (
            "match" if self.must_match else "nomatch", self.sid, self.label,
            line)


def load_example_entries(family):
    path = EXAMPLES_DIR / (family + ".yaml")
    assert path.exists(), "no examples file %s for %s.rules" % (path, family)
    entries = yaml.safe_load(path.read_text())
    assert isinstance(entries, list), "%s: expected a list of entries" % path
    return entries


def crs_request(ref):
    """Raw request of CRS regression test "<rule id>/<test id>" (first
    stage), built the way go-ftw sends it (Content-Length added)."""
    rule_id, test_id = ref.split("/")
    files = list(CRS_DIR.glob("*/%s.yaml" % rule_id))
    assert len(files) == 1, "CRS rule file %s.yaml not found in %s" % (rule_id, CRS_DIR)
    for test in yaml.safe_load(files[0].read_text())["tests"]:
        if str(test["test_id"]) == test_id:
            inp = test["stages"][0]["input"]
            break
    else:
        raise AssertionError("CRS test %s not found" % ref)
    return crs_input_request(inp)


def crs_input_request(inp):
    """Raw request of one go-ftw stage input (Content-Length added)."""
    if inp.get("encoded_request"):
        return base64.b64decode(inp["encoded_request"])
    headers = dict(inp.get("headers") or {})
    data = inp.get("data")
    body = data.encode() if isinstance(data, str) else b""
    if body and not any(k.lower() == "content-length" for k in headers):
        headers["Content-Length"] = str(len(body))
    head = "%s %s %s\r\n" % (inp.get("method", "GET"), inp.get("uri", "/"),
                             inp.get("version", "HTTP/1.1"))
    head += "".join("%s: %s\r\n" % kv for kv in headers.items())
    return (head + "\r\n").encode() + body


def load_cases(family):
    cases = []
    for e in load_example_entries(family):
        sid, port = e["sid"], e.get("port") or 80
        for raw in e.get("match") or []:
            cases.append(Case(sid, True, raw.encode(), port, "examples"))
        for raw in e.get("nomatch") or []:
            cases.append(Case(sid, False, raw.encode(), port, "examples"))
        for ref in e.get("crs") or []:
            cases.append(Case(sid, True, crs_request(ref), 80, "CRS " + ref))
    return cases


# -- replay ------------------------------------------------------------------------

def signature_conf(tmp_path):
    return conf_variant(tmp_path, classification='"%s"' % CLASSIFICATION)


def replay_cases(run_replay, tmp_path, cases, segment_size=None):
    """Replay every case as its own flow; returns (result, client ports)."""
    packets, ports = [], []
    for i, case in enumerate(cases):
        port = FIRST_CLIENT_PORT + i
        flow = http_session([case.raw], client=(CLIENT_IP, port),
                            server=(SERVER_IP, case.port),
                            segment_size=segment_size)
        packets += flow.packets
        ports.append(port)
    pcap_path = tmp_path / "examples.pcap"
    write_pcap(pcap_path, packets)
    res = run_replay(pcap_path, rules=RULE_FILES, conf=signature_conf(tmp_path))
    return res, ports


def alerts_by_client_port(alerts):
    by_port = defaultdict(list)
    for a in alerts:
        port = a.get("src_port") if a.get("src_ip") == CLIENT_IP else a.get("dest_port")
        by_port[port].append(a)
    return by_port


def is_blocking(sid):
    return sid in RULE_BY_SID and RULE_BY_SID[sid].action in ("drop", "reject")


def check_case(case, alerts, forwarded, first_drop_wins=False):
    """Failure messages for one replayed example (empty list = pass).

    first_drop_wins: the request came in small segments, so another drop
    rule may block the flow at an earlier packet, before the bytes this
    example's rule needs arrive; then that block is enough."""
    sids = sorted({a["alert"]["signature_id"] for a in alerts})
    actions = {a["alert"]["signature_id"]: a["alert"].get("action") for a in alerts}
    unknown = [s for s in sids if s not in RULE_BY_SID]
    fails = []
    if unknown:
        fails.append("%s: alerts with sids not in the bundle %s" % (case.describe(), unknown))
    if not case.must_match:
        if sids:
            fails.append("%s: false positive, raised %s" % (case.describe(), sids))
        if forwarded != case.raw:
            fails.append("%s: benign request did not reach the pod whole "
                         "(%d of %d bytes forwarded)"
                         % (case.describe(), len(forwarded), len(case.raw)))
        return fails
    blocked_by = [s for s in sids if is_blocking(s)]
    if case.sid not in sids and not (first_drop_wins and blocked_by):
        return ["%s: sid %d not raised (raised %s)" % (case.describe(), case.sid, sids)]
    if is_blocking(case.sid) or blocked_by:
        shown = case.sid if is_blocking(case.sid) and case.sid in sids else blocked_by[0]
        if actions[shown] != "blocked":
            fails.append("%s: drop rule %d reported action %r" % (case.describe(), shown, actions[shown]))
        if len(forwarded) >= len(case.raw):
            fails.append("%s: drop rule matched but the whole request (%d bytes) was forwarded"
                         % (case.describe(), len(case.raw)))
    else:
        if actions[case.sid] != "allowed":
            fails.append("%s: alert rule reported action %r" % (case.describe(), actions[case.sid]))
        if forwarded != case.raw:
            fails.append("%s: alert-only match but the request was not forwarded whole"
                         % case.describe())
    return fails


def run_family(family, run_replay, tmp_path, segment_size=None):
    cases = load_cases(family)
    assert cases, "no examples for %s" % family
    res, ports = replay_cases(run_replay, tmp_path, cases, segment_size)
    by_port = alerts_by_client_port(res.alerts)
    fails = []
    for case, port in zip(cases, ports):
        forwarded = client_payload_stream(res.out_packets, (CLIENT_IP, port))
        fails += check_case(case, by_port.get(port, []), forwarded,
                            first_drop_wins=segment_size is not None)
    assert not fails, "%d of %d %s examples failed:\n%s" % (
        len(fails), len(cases), family, "\n".join(fails))


@pytest.mark.parametrize("family", FAMILIES)
def test_family_examples(family, run_replay, tmp_path):
    run_family(family, run_replay, tmp_path)


# Requests cut into 7-byte segments: patterns straddle packets, bodies go
# through streaming mode, and the verdict falls on a later packet.
@pytest.mark.parametrize("family", FAMILIES)
def test_family_examples_in_small_segments(family, run_replay, tmp_path):
    run_family(family, run_replay, tmp_path, segment_size=SMALL_SEGMENT)


# -- the set's own conventions ---------------------------------------------------------

def test_every_rule_has_match_and_nomatch_examples():
    seen = {r.sid: {True: 0, False: 0} for r in RULES}
    fails = []
    for family in FAMILIES:
        for e in load_example_entries(family):
            sid = e.get("sid")
            rule = RULE_BY_SID.get(sid)
            if rule is None or rule.family != family:
                fails.append("%s.yaml: sid %s is not a rule of %s.rules" % (family, sid, family))
                continue
            seen[sid][True] += len(e.get("match") or [])
            seen[sid][False] += len(e.get("nomatch") or [])
    for r in RULES:
        if not seen[r.sid][True]:
            fails.append("%s: no match example" % r.where())
        if not seen[r.sid][False]:
            fails.append("%s: no nomatch example" % r.where())
    assert not fails, "\n".join(fails)


def test_examples_are_well_formed_requests():
    """Hand-edited examples keep a request line, a header end and a
    Content-Length that counts the body exactly."""
    fails = []
    for family in FAMILIES:
        for e in load_example_entries(family):
            for raw in (e.get("match") or []) + (e.get("nomatch") or []):
                head, sep, body = raw.encode().partition(b"\r\n\r\n")
                first = head.split(b"\r\n", 1)[0]
                if not sep or len(first.split(b" ")) != 3:
                    fails.append("%s sid %s: malformed request %r" % (family, e["sid"], first))
                    continue
                cl = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                if (cl and int(cl.group(1)) != len(body)) or (not cl and body):
                    fails.append("%s sid %s: Content-Length %s for a %d-byte body: %r"
                                 % (family, e["sid"], cl and cl.group(1).decode(),
                                    len(body), first))
    assert not fails, "\n".join(fails)


def test_rule_metadata_conventions():
    fails = []
    assert sorted(FAMILIES) == sorted(FAMILY_ORDER), "families: %s" % FAMILIES
    sids = [r.sid for r in RULES]
    dups = sorted({s for s in sids if sids.count(s) > 1})
    if dups:
        fails.append("duplicate sids %s" % dups)
    classes = set(re.findall(r"^config classification:\s*([\w-]+),",
                             CLASSIFICATION.read_text(), re.M))
    for r in RULES:
        lo = SID_BASE + SID_BLOCK * FAMILY_ORDER.index(r.family)
        if not lo <= r.sid < lo + SID_BLOCK:
            fails.append("%s: sid outside the family block %d-%d" % (r.where(), lo, lo + SID_BLOCK - 1))
        if r.rev < 1:
            fails.append("%s: rev %s" % (r.where(), r.rev))
        words = MSG_WORDS.get(r.family, (r.family.upper(),))
        if not r.msg or not any(r.msg.startswith("IPS %s " % w) for w in words):
            fails.append("%s: msg %r does not start with IPS %s" % (r.where(), r.msg, "/".join(words)))
        if r.action not in ("alert", "drop"):
            fails.append("%s: action %s" % (r.where(), r.action))
        if "flow:to_server,established;" not in r.options:
            fails.append("%s: no flow:to_server,established" % r.where())
        if r.classtype not in classes:
            fails.append("%s: classtype %s not in classification.config" % (r.where(), r.classtype))
    unused = classes - {r.classtype for r in RULES}
    if unused:
        fails.append("classification.config defines unused classtypes %s" % sorted(unused))
    assert not fails, "\n".join(fails)


def test_ipsctl_check_accepts_the_whole_set():
    ipsctl = BUILD_DIR / "ipsctl"
    assert ipsctl.exists(), "%s not found (set IPS_BUILD_DIR)" % ipsctl
    cmd = [str(ipsctl), "check", "--classification", str(CLASSIFICATION)]
    cmd += [str(p) for p in RULE_FILES]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "ipsctl check failed (%d):\n%s" % (proc.returncode, out)
    m = re.search(r"(\d+) rules ok, (\d+) errors", out)
    assert m, "unexpected ipsctl check output:\n" + out
    assert (int(m.group(1)), int(m.group(2))) == (len(RULES), 0), out


# -- real benign traffic ------------------------------------------------------------

def trace_frames(name, tmp_path):
    path = ZEEK_DIR / name
    assert path.exists(), "benign trace %s missing" % path
    if name.endswith(".gz"):
        plain = tmp_path / name[:-3]
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        path = plain
    return read_pcap_frames(path)


def test_benign_traces_raise_no_bundled_rule(run_replay, tmp_path):
    frames = []
    for name in BENIGN_TRACES:
        frames += trace_frames(name, tmp_path)
    pcap_path = tmp_path / "benign.pcap"
    write_pcap(pcap_path, frames)
    res = run_replay(pcap_path, rules=RULE_FILES, conf=signature_conf(tmp_path))
    txns = res.summary.get("transactions", 0)
    assert txns >= BENIGN_MIN_TRANSACTIONS, (
        "only %s HTTP transactions inspected; the run proves nothing" % txns)
    hits = ["sid %s on %s:%s %s" % (a["alert"]["signature_id"], a.get("dest_ip"),
                                    a.get("dest_port"), a.get("http", {}).get("url"))
            for a in res.alerts]
    assert not hits, "%d false positives on benign traffic:\n%s" % (len(hits), "\n".join(hits[:50]))
