"""test_startup - a start-up failure says what is missing and the command
that fixes it (dataplane/startup.c), for the whole process as a new user
starts it: `build/ips-dataplane --config scripts/ips.conf.example`.

What this host lacks decides which lines appear; each expected line is
derived from the host here (interfaces, hugepages, /run/ips), so the test
holds on a machine with hugepages too.  A user without privileges is told
which capabilities are missing.  Never "EAL init: Permission denied".
Also: scripts/ips-host.sh runs DPDK's own tools (--dry-run shows them).
"""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import BINARY, SOURCE_DIR

EXAMPLE = SOURCE_DIR / "scripts" / "ips.conf.example"
HELPER = SOURCE_DIR / "scripts" / "ips-host.sh"


def start(config, user=None, extra=()):
    cmd = [str(BINARY), "--config", str(config)] + list(extra)
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def hugepages_free():
    total = 0
    for d in Path("/sys/kernel/mm/hugepages").glob("hugepages-*"):
        total += int((d / "free_hugepages").read_text())
    mounted = any(l.split()[2] == "hugetlbfs"
                  for l in open("/proc/mounts") if len(l.split()) > 2)
    return mounted and total > 0


def test_example_config_on_this_host_says_what_is_missing():
    r = start(EXAMPLE)
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr
    assert "Permission denied" not in err, err
    assert "cannot start with %s; this host is missing:" % EXAMPLE in err, err
    problems = [l for l in err.splitlines() if l.startswith("  - ")]
    expected = 0
    for i, iface in enumerate(("veth0", "veth1")):
        if not Path("/sys/class/net", iface).exists():
            expected += 1
            assert ("ports[%d] (%s): network interface '%s' does not exist: "
                    "list them with `ip -br link`"
                    % (i, ("pub0", "priv0")[i], iface)) in err, err
    if not hugepages_free():
        expected += 1
        assert re.search(r"(no hugetlbfs mounted|no free hugepages).*: "
                         r"scripts/ips-host\.sh hugepages 2G \(runs "
                         r"dpdk-hugepages\.py --setup 2G\); for a trial "
                         r"without hugepages, add \"--no-huge\"", err), err
    if not Path("/run/ips").is_dir():
        expected += 1
        assert ("control.socket: directory /run/ips does not exist: "
                "mkdir -p /run/ips") in err, err
    assert len(problems) == expected, err


def test_unprivileged_user_is_told_the_capabilities():
    assert shutil.which("setpriv"), "setpriv (util-linux) not installed"
    # pytest's tmp_path is private to root: the user must read the config
    tmp_path = Path(tempfile.mkdtemp(prefix="ips-startup-"))
    conf = tmp_path / "c.conf"
    # everything else present: a trial without hugepages, sockets in tmp
    lo = "lo"
    conf.write_text(EXAMPLE.read_text()
                    .replace('eal = [ ];', 'eal = [ "--no-huge", "-m", "512", '
                             '"--no-shconf", "--no-pci" ];')
                    .replace("iface=veth0", "iface=" + lo)
                    .replace("iface=veth1", "iface=" + lo)
                    .replace("/run/ips/ctl.sock", str(tmp_path / "ctl.sock")))
    os.chmod(tmp_path, 0o777)
    os.chmod(conf, 0o644)
    try:
        r = start(conf, user=65534)
    finally:
        shutil.rmtree(tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert ("missing privileges CAP_NET_ADMIN CAP_NET_RAW (uid 65534): run "
            "it as root (sudo), or as the systemd unit") in r.stderr, r.stderr
    assert len([l for l in r.stderr.splitlines()
                if l.startswith("  - ")]) == 1, r.stderr


def test_host_helper_uses_dpdk_tools():
    r = subprocess.run(["bash", str(HELPER), "--dry-run", "hugepages", "2G"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "+ dpdk-hugepages.py --setup 2G" in r.stderr
    r = subprocess.run(["bash", str(HELPER), "--dry-run", "--node", "1",
                        "hugepages", "1G"], capture_output=True, text=True,
                       timeout=30)
    assert "+ dpdk-hugepages.py --node 1 --setup 1G" in r.stderr, r.stderr
    r = subprocess.run(["bash", str(HELPER), "--dry-run", "bind",
                        "0000:3b:00.0", "0000:3b:00.1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert ("+ dpdk-devbind.py --bind=vfio-pci 0000:3b:00.0 0000:3b:00.1"
            in r.stderr), r.stderr
    r = subprocess.run(["bash", str(HELPER), "--dry-run", "unbind", "ixgbe",
                        "0000:3b:00.0"], capture_output=True, text=True,
                       timeout=30)
    assert "+ dpdk-devbind.py --bind=ixgbe 0000:3b:00.0" in r.stderr
    r = subprocess.run(["bash", str(HELPER), "frobnicate"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
