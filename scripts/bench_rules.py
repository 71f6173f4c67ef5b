"""bench_rules - the benchmark's signature material.

Owns: the bundled rules' actions, and the synthetic rule sets of the
signature-scale runs (rules built from real attack payload strings:
content strings of the ET Open rules our parser accepts and fragments of
the OWASP CRS regression payloads).  Deterministic for a given tree and
corpus.  (Attack requests for the generator: sig_attacks.py.)
"""

import glob
import os
import re
import subprocess
from urllib.parse import unquote_plus

import yaml

RULE_HEAD_RE = re.compile(r"^\s*(alert|drop|reject|pass)\s+\S+\s.*\bsid\s*:\s*(\d+)")
CONTENT_RE = re.compile(r'content:\s*"((?:[^"\\]|\\.)*)"')
HEX_RE = re.compile(r"\|([0-9A-Fa-f ]+)\|")
ERR_LINE_RE = re.compile(r"^[^:\n]+:(\d+):", re.M)

# Buffers the synthetic rules are spread over, round-robin.
SYNTH_BUFFERS = ("http.uri", "http.header", "http.user_agent",
                 "http.request_body", "http.cookie")
SYNTH_SID_BASE = 9000001
MIN_CONTENT, MAX_CONTENT = 6, 64


def bundled_rule_files(source_dir):
    return sorted(glob.glob(os.path.join(source_dir, "signatures", "*.rules")))


def rule_actions(files):
    """sid -> action of every rule in files."""
    actions = {}
    for path in files:
        for line in open(path, encoding="utf-8", errors="replace"):
            m = RULE_HEAD_RE.match(line)
            if m:
                actions[int(m.group(2))] = m.group(1)
    return actions


# ---- synthetic rule sets ---------------------------------------------------

def _content_bytes(text):
    """A rule's content value as text: |hex| decoded, escapes resolved."""
    text = HEX_RE.sub(lambda m: bytes.fromhex(m.group(1).replace(" ", ""))
                      .decode("latin-1"), text)
    return re.sub(r"\\(.)", r"\1", text)


def _printable(s):
    return MIN_CONTENT <= len(s) <= MAX_CONTENT and \
        all(32 <= ord(c) < 127 for c in s)


def _rejected_lines(ipsctl, classification, path):
    proc = subprocess.run([ipsctl, "check", "--classification",
                           classification, path],
                          capture_output=True, text=True)
    return proc, set(int(n) for n in
                     ERR_LINE_RE.findall(proc.stdout + proc.stderr))


def et_contents(ipsctl, corpus_dir, enough=None):
    """Distinct (lowercased) content strings of the ET Open rules that our
    parser accepts, in file order; stops after the file that brings the
    count to `enough` (checking every file takes a while)."""
    seen, out = set(), []
    classification = os.path.join(corpus_dir, "classification.config")
    for path in sorted(glob.glob(os.path.join(corpus_dir, "*.rules"))):
        if enough is not None and len(out) >= enough:
            break
        _, bad = _rejected_lines(ipsctl, classification, path)
        for n, line in enumerate(open(path, encoding="utf-8",
                                      errors="replace"), 1):
            if n in bad or not RULE_HEAD_RE.match(line):
                continue
            for m in CONTENT_RE.finditer(line):
                s = _content_bytes(m.group(1)).lower()
                if _printable(s) and s not in seen:
                    seen.add(s)
                    out.append(s)
    return out


def crs_fragments(corpus_dir):
    """Attack payload fragments of the CRS regression tests: parameter
    values of their URIs and bodies, URL-decoded."""
    seen, out = set(), []
    for path in sorted(glob.glob(os.path.join(corpus_dir, "tests", "*",
                                              "*.yaml"))):
        try:
            doc = yaml.safe_load(open(path, encoding="utf-8",
                                      errors="replace"))
        except yaml.YAMLError:
            continue
        for test in (doc or {}).get("tests", []) or []:
            for stage in test.get("stages", []) or []:
                inp = (stage or {}).get("input", {}) or {}
                for field in (inp.get("uri"), inp.get("data")):
                    if not isinstance(field, str):
                        continue
                    query = field.split("?", 1)[-1]
                    for part in query.split("&"):
                        value = unquote_plus(part.split("=", 1)[-1]).lower()
                        value = value.strip()
                        if _printable(value) and value not in seen:
                            seen.add(value)
                            out.append(value)
    return out


def _escape(s):
    """A content value in rule syntax: bytes that end or escape the
    string, or that mean hex, as |hh|."""
    out = []
    for c in s:
        if c in '";\\|':
            out.append("|%02x|" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def synthetic_line(i, buf, content):
    return ('alert http any any -> any any (msg:"BENCH synthetic %d"; '
            'flow:to_server,established; %s; content:"%s"; nocase; '
            'classtype:web-application-attack; sid:%d; rev:1;)'
            % (i, buf, _escape(content), SYNTH_SID_BASE + i))


def _synthetic_candidate(i, pool, buffers):
    """Rule i: payload i mod P in buffer (i + i // P) mod B, so each
    payload is used once before any is reused, and its copies land in
    different buffers."""
    p, rnd = i % len(pool), i // len(pool)
    buf = buffers[(p + rnd) % len(buffers)]
    return synthetic_line(i, buf, pool[p])


def payload_pool(ipsctl, shared_corpora, benign_text, enough=None):
    """Distinct payload strings (ET contents first, then CRS fragments)
    that never occur in benign generated traffic: a synthetic rule set
    should, like a tuned production set, stay quiet on clean traffic
    while Hyperscan still has to look for every string."""
    pool = et_contents(ipsctl, os.path.join(shared_corpora, "et-open"),
                       enough)
    seen = set(pool)
    for s in crs_fragments(os.path.join(shared_corpora, "crs-regression")):
        if s not in seen:
            seen.add(s)
            pool.append(s)
    benign = benign_text.lower()
    return [s for s in pool if s not in benign]


def write_synthetic(path, n, pool, ipsctl, classification,
                    buffers=SYNTH_BUFFERS):
    """Writes n synthetic rules to path; every one accepted by ipsctl
    check.  Each payload string is used once per buffer before any is
    reused in another buffer, so n may exceed the pool size.  Returns
    (rules written, distinct payload strings used)."""
    if not pool:
        raise RuntimeError("no payload strings for synthetic rules")
    limit = len(pool) * len(buffers)
    i, lines = 0, []
    while len(lines) < n and i < limit:
        batch = []
        while len(batch) < n - len(lines) and i < limit:
            batch.append(_synthetic_candidate(i, pool, buffers))
            i += 1
        tmp = path + ".try"
        with open(tmp, "w") as f:
            f.write("\n".join(batch) + "\n")
        _, bad = _rejected_lines(ipsctl, classification, tmp)
        os.unlink(tmp)
        lines += [l for k, l in enumerate(batch, 1) if k not in bad]
    if len(lines) < n:
        raise RuntimeError("only %d synthetic rules accepted, %d wanted"
                           % (len(lines), n))
    with open(path, "w") as f:
        f.write("# bench synthetic rules: %d rules from %d payload strings"
                " (ET Open contents, CRS fragments)\n" % (n, len(pool)))
        f.write("\n".join(lines) + "\n")
    proc, bad = _rejected_lines(ipsctl, classification, path)
    if bad or proc.returncode != 0:
        raise RuntimeError("ipsctl check rejects %s: %s"
                           % (path, (proc.stdout + proc.stderr)[-500:]))
    return n, min(len(pool), n)
