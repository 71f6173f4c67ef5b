"""test_control - ips-control against a stand-in dataplane.

The stand-in is a unix socket speaking the control protocol that records
every load and checks the bundle it names exists and starts with the
bundle magic (the real dataplane's swap is tested in tests/e2e/
test_reload.py).  ips-control must compile and push at start, again when a
signature file is replaced, on SIGHUP and on `ipsctl reload`; skip a bad
rule with file:line:col, keyword and reason unless --strict; and report a
dataplane that refuses or is gone.  Every wait is bounded; ips-control is
killed whatever happens.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from conftest import BUILD_DIR

IPS_CONTROL = BUILD_DIR / "ips-control"
IPSCTL = BUILD_DIR / "ipsctl"
GOOD = ('alert http any any -> any any (msg:"c1"; http.uri; content:"/one"; '
        'sid:9400001; rev:1;)\n')
GOOD2 = ('drop http any any -> any any (msg:"c2"; http.uri; content:"/two"; '
         'sid:9400002; rev:1;)\n')
BAD = ('alert http any any -> any any (msg:"bad"; http.uri; content:"/x"; '
       'frobnicate; sid:9400003; rev:1;)\n')


class FakeDataplane:
    """Answers load requests; refuses them while self.refuse is set."""

    def __init__(self, path):
        self.loads = []
        self.refuse = False
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                req = json.loads(conn.makefile().readline())
                with open(req["bundle"], "rb") as f:
                    magic = f.read(8)
                if self.refuse:
                    reply = {"ok": False, "error": "load: no thanks"}
                else:
                    self.loads.append((req["bundle"], magic))
                    reply = {"ok": True, "cmd": "load",
                             "generation": len(self.loads) + 1,
                             "rules": 1, "swap_ms": 0.01}
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def wait_loads(self, n, timeout=20):
        deadline = time.time() + timeout
        while len(self.loads) < n:
            assert time.time() < deadline, "only %d loads" % len(self.loads)
            time.sleep(0.05)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def write_config(tmp, rules):
    conf = tmp / "control.conf"
    conf.write_text("""
signatures = { files = [ "%s" ]; bundle = "%s"; };
control = { socket = "%s"; mode = 0600; };
""" % (rules, tmp / "out.bundle", tmp / "dp.sock"))
    return conf


def replace(path, text):
    """As editors and updaters do: write aside, rename over."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.rename(tmp, path)


def test_ips_control_compiles_watches_and_pushes(tmp_path):
    rules = tmp_path / "sigs" / "local.rules"
    rules.parent.mkdir()
    rules.write_text(GOOD)
    conf = write_config(tmp_path, rules)
    dp = FakeDataplane(tmp_path / "dp.sock")
    ctl_sock = tmp_path / "control.sock"
    proc = subprocess.Popen([str(IPS_CONTROL), "--config", str(conf),
                             "--socket", str(ctl_sock)],
                            stderr=subprocess.PIPE, text=True)
    try:
        dp.wait_loads(1)                                 # at start
        assert dp.loads[0] == (str(tmp_path / "out.bundle"), b"IPSBNDL1")
        deadline = time.time() + 10
        while not ctl_sock.exists():
            assert time.time() < deadline
            time.sleep(0.05)

        replace(rules, GOOD + GOOD2)                     # a file changes
        dp.wait_loads(2)
        proc.send_signal(signal.SIGHUP)                  # SIGHUP
        dp.wait_loads(3)
        r = subprocess.run([str(IPSCTL), "--socket", str(ctl_sock), "--json",
                            "reload"], capture_output=True, text=True,
                           timeout=60)                   # ipsctl reload
        reply = json.loads(r.stdout)
        assert r.returncode == 0 and reply["ok"] is True, r
        assert reply["bad_rules"] == 0 and reply["generation"] == 5
        assert len(dp.loads) == 4

        replace(rules, GOOD + BAD + GOOD2)               # one bad rule
        dp.wait_loads(5)
        r = subprocess.run([str(IPSCTL), "--socket", str(ctl_sock), "--json",
                            "reload"], capture_output=True, text=True,
                           timeout=60)
        assert json.loads(r.stdout)["bad_rules"] == 1

        dp.refuse = True                                 # dataplane says no
        r = subprocess.run([str(IPSCTL), "--socket", str(ctl_sock), "--json",
                            "reload"], capture_output=True, text=True,
                           timeout=60)
        reply = json.loads(r.stdout)
        assert r.returncode == 1
        assert reply == {"ok": False, "error": "dataplane refused the "
                         "bundle: load: no thanks"}
        dp.refuse = False

        r = subprocess.run([str(IPSCTL), "--socket", str(ctl_sock),
                            "stats"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 1
        assert r.stderr == 'ipsctl: unknown command "stats"\n'
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        dp.close()
    assert proc.returncode == 0, err
    assert "%s:2:67: unsupported keyword 'frobnicate'" % rules in err, err
    assert "local.rules changed" in err
    assert "SIGHUP: recompiling" in err
    assert not ctl_sock.exists()


def test_ips_control_strict_and_no_dataplane(tmp_path):
    rules = tmp_path / "local.rules"
    rules.write_text(GOOD + BAD)
    conf = write_config(tmp_path, rules)
    dp = FakeDataplane(tmp_path / "dp.sock")
    try:
        r = subprocess.run([str(IPS_CONTROL), "--config", str(conf), "--once",
                            "--strict"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 1
        assert "1 bad rule(s) and --strict: no bundle written" in r.stderr
        assert not (tmp_path / "out.bundle").exists()
        assert dp.loads == []
        r = subprocess.run([str(IPS_CONTROL), "--config", str(conf),
                            "--once"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert len(dp.loads) == 1
    finally:
        dp.close()
    os.unlink(tmp_path / "dp.sock")
    r = subprocess.run([str(IPS_CONTROL), "--config", str(conf), "--once"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert ("bundle written, dataplane not told: %s: No such file or "
            "directory (it loads %s when it starts)"
            % (tmp_path / "dp.sock", tmp_path / "out.bundle")) in r.stderr
