"""test_suricata_verify - Suricata's own regression tests through the
gateway (scripts/suricata_verify.py over ../shared/corpora/suricata-verify).

Every test whose rules load is replayed and its alert checks compared.
The tests that fail for a known reason outside rule evaluation are listed
with that reason in scripts/suricata_verify.py (KNOWN_FAILURES); this test
fails on any other failure, and when a listed one starts passing, so the
list and the README's figure stay exact.  The report lands in
BUILD/suricata-verify.md.
"""

import json
import subprocess
import sys

from conftest import BUILD_DIR, SOURCE_DIR

SCRIPT = SOURCE_DIR / "scripts" / "suricata_verify.py"
sys.path.insert(0, str(SCRIPT.parent))

import suricata_verify  # noqa: E402


def test_suricata_verify_tests_whose_rules_load(tmp_path):
    out = tmp_path / "sv.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--build", str(BUILD_DIR),
         "--json", str(out), "--report", str(BUILD_DIR / "suricata-verify.md")],
        capture_output=True, text=True, timeout=1500)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    failed = {r["test"]: r["reason"] for r in results
              if r["status"] == "fail"}
    passed = [r["test"] for r in results if r["status"] == "pass"]
    unexplained = {t: why for t, why in failed.items()
                   if t not in suricata_verify.KNOWN_FAILURES}
    now_passing = [t for t in suricata_verify.KNOWN_FAILURES if t in passed]
    assert not unexplained, unexplained
    assert not now_passing, "listed as failing, now pass: %s" % now_passing
    # the corpus has tests whose rules load: a run that loads none is broken
    assert len(passed) >= 20, proc.stdout[-3000:]
