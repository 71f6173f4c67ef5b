"""pod_server - the Python pod of tests/e2e/testbed.py: Python's own
http.server (ThreadingHTTPServer, BaseHTTPRequestHandler) as small
services use it, HTTP/1.1 keep-alive.

  GET  /PATH            a file under ROOT/www
  PUT  /upload/NAME     the body (Content-Length or chunked) stored as
  POST /upload/NAME     ROOT/upload/NAME; answers 201 with
                        {"bytes": N, "sha256": HEX} of what arrived

One JSON line per request in LOG: {"client", "port", "request", "status"}.

Usage: pod_server.py --root DIR --log FILE ADDRESS...   (port 80 each)
"""
import argparse
import hashlib
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_request(self, code="-", size="-"):
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps({"client": self.client_address[0],
                                    "port": self.client_address[1],
                                    "request": self.requestline,
                                    "status": int(code)}) + "\n")

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/octet-stream"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = os.path.normpath(self.path.split("?")[0]).lstrip("/")
        full = os.path.join(self.server.root, "www", path)
        if ".." in path or not os.path.isfile(full):
            self.reply(404, b"not found\n", "text/plain")
            return
        size = os.path.getsize(full)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(full, "rb") as f:
            while True:
                block = f.read(1 << 16)
                if not block:
                    break
                self.wfile.write(block)

    def read_exactly(self, left):
        while left > 0:
            block = self.rfile.read(min(left, 1 << 16))
            if not block:
                raise ConnectionError("body cut short")
            left -= len(block)
            yield block

    def body_chunks(self):
        te = self.headers.get("Transfer-Encoding", "")
        if not (te and te.split(",")[-1].strip().lower() == "chunked"):
            yield from self.read_exactly(
                int(self.headers.get("Content-Length", "0")))
            return
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass                    # trailers
                return
            yield from self.read_exactly(size)
            self.rfile.readline(16)         # CRLF after the chunk

    def do_PUT(self):
        name = os.path.basename(self.path)
        if not self.path.startswith("/upload/") or not name:
            self.reply(404, b"not found\n", "text/plain")
            return
        h, n = hashlib.sha256(), 0
        with open(os.path.join(self.server.root, "upload", name), "wb") as f:
            for block in self.body_chunks():
                h.update(block)
                f.write(block)
                n += len(block)
        self.reply(201, json.dumps({"bytes": n, "sha256": h.hexdigest()})
                   .encode(), "application/json")

    do_POST = do_PUT


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr, root, log):
        self.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.root, self.log = root, log
        super().__init__((addr, 80), Handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("addresses", nargs="+")
    a = ap.parse_args()
    servers = [Server(addr, a.root, a.log) for addr in a.addresses]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
