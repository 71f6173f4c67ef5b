"""test_stream_window - a segment lost after the gateway is recovered by the
client's own retransmission, with real TCP stacks on both sides.

    [ips-win-cli] cli0 <-veth-> winpub [gateway] winpriv <-veth-> srv0 [ips-win-srv]
      203.0.113.10/24                                     203.0.113.20/24
                                               nftables: drops one segment

The client uploads 1.5 MB; on the server's side of the gateway one
full-sized segment is dropped (nftables numgen, deterministic: the 700th
of about 1050).  The client has far more in flight than the old keep budget (4
segments held per flow made it 16 kept), but never more than the gateway
keeps: the server's window is clamped to stream_kept_bytes_per_flow
(64 KiB).  So the lost bytes are still kept when the client retransmits
them, the retransmission is checked and forwarded, and the server gets
the upload byte for byte.  With the old count-bounded keep, the kept copy
was evicted, the retransmission was dropped as unverifiable, and the
upload never finished.

Needs root; run under `flock /tmp/ips-e2e.lock`.  Every wait is bounded.
"""
import hashlib
import json
import os
import re
import socket
import subprocess

import pytest

from netns import BINARY, Topology, sh, start_gateway, stop, wait_until

CLI_NS, SRV_NS = "ips-win-cli", "ips-win-srv"
CLIENT_IP, SERVER_IP = "203.0.113.10", "203.0.113.20"
TOPO = Topology(CLI_NS, SRV_NS, "winpub", "winpriv", CLIENT_IP, SERVER_IP)

UPLOAD_BYTES = 1500 * 1000
DROP_EVERY = 700        # full-sized segments: about 1050 in the upload
KEPT_PER_FLOW = 65536

LIMITS = """
limits = { stream_held_per_flow = 4; stream_kept_bytes_per_flow = %d;
           stream_kept_bytes = 1048576; };
""" % KEPT_PER_FLOW

# The pod: answers a POST with the SHA-256 of the body it read.
SERVER = r'''
import hashlib, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    def do_GET(self):
        self.reply(b"ready")
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        h, left = hashlib.sha256(), n
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
        self.reply(h.hexdigest().encode() if left == 0 else b"short")
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

HTTPServer((sys.argv[1], 80), H).serve_forever()
'''


def ctl_stats(sock):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(b'{"cmd":"stats"}\n')
        reply = json.loads(s.makefile().readline())
    assert reply["ok"], reply
    return reply["total"]


def curl(args, max_time):
    return sh("curl", "-s", "--max-time", str(max_time), *args, ns=CLI_NS,
              check=False, timeout=max_time + 10)


def drop_one_segment_on_the_server_side():
    """The DROP_EVERY-th full-sized client segment entering the pod's
    namespace is dropped; the upload has between 1 and 2 times that."""
    rules = """
table ip ipswin {
  chain pre {
    type filter hook prerouting priority -150;
    tcp dport 80 ip length 1500 numgen inc mod %d == %d counter drop
  }
}
""" % (DROP_EVERY, DROP_EVERY - 1)
    subprocess.run(["ip", "netns", "exec", SRV_NS, "nft", "-f", "-"],
                   input=rules, text=True, check=True, timeout=30)


def dropped_after_the_gateway():
    out = sh("nft", "list", "table", "ip", "ipswin", ns=SRV_NS).stdout
    m = re.search(r"counter packets (\d+)", out)
    assert m, out
    return int(m.group(1))


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    assert os.geteuid() == 0, "the end-to-end test needs root (netns, nft)"
    assert BINARY.exists(), "build the gateway first: %s" % BINARY
    tmp = tmp_path_factory.mktemp("e2e-window")
    procs = []
    try:
        TOPO.create()
        (tmp / "none.rules").write_text("")
        conf = tmp / "gw.conf"
        conf.write_text(TOPO.gateway_conf(["none.rules"], extra=LIMITS))
        (tmp / "server.py").write_text(SERVER)
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV_NS, "/usr/bin/python3",
             str(tmp / "server.py"), SERVER_IP],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        eve = tmp / "eve.json"
        gw = start_gateway(conf, eve)
        procs.append(gw)
        url = "http://%s/" % SERVER_IP
        wait_until(lambda: curl([url], 2).stdout == "ready",
                   "the pod to answer through the gateway", gw)
        yield {"gw": gw, "tmp": tmp, "sock": tmp / "ctl.sock"}
    finally:
        stop(procs)
        TOPO.destroy()


def test_lost_segment_is_retransmitted_through_the_gateway(testbed):
    data = bytes((i * 7 + i // 1000) & 0xff for i in range(UPLOAD_BYTES))
    path = testbed["tmp"] / "upload.bin"
    path.write_bytes(data)
    before = ctl_stats(testbed["sock"])
    drop_one_segment_on_the_server_side()

    r = curl(["-H", "Expect:", "--data-binary", "@%s" % path,
              "http://%s/upload" % SERVER_IP], 60)

    after = ctl_stats(testbed["sock"])
    delta = {k: after[k] - before.get(k, 0) for k in after}
    print("upload: %s" % {k: delta[k] for k in (
        "stream_segments", "stream_retransmit_same", "stream_window_clamped",
        "drop_stream_kept_full", "drop_stream_unverifiable")})
    assert dropped_after_the_gateway() == 1, "no loss after the gateway"
    assert r.returncode == 0, (r.returncode, r.stderr, delta)
    assert r.stdout == hashlib.sha256(data).hexdigest(), (r.stdout, delta)
    # The retransmission was checked against the kept copy, not refused.
    assert delta["stream_retransmit_same"] >= 1, delta
    assert after["drop_stream_unverifiable"] == 0, delta
    # The window kept the client within what the gateway keeps.
    assert delta["stream_window_clamped"] > 0, delta
    assert after["drop_stream_kept_full"] == 0, delta
    assert delta["stream_bytes_inspected"] >= UPLOAD_BYTES, delta
