"""http_log_server - the Python pod for tests/e2e/test_http_servers.py.

Python's own HTTP/1.x parser (http.server.BaseHTTPRequestHandler, as used by
`python3 -m http.server` and many small services), answering 200 to any
method and any path, keep-alive (HTTP/1.1) so that pipelining works.  It
reads a request body the way simple Python services do: chunked if the
last Transfer-Encoding coding is "chunked" (chunk size through int(x, 16),
as http.client does), else Content-Length (the first one).

One JSON line per request that reaches a status, in LOG:
  {"port": client port, "request": raw request line, "method": ...,
   "path": raw target, "status": N}

Usage: http_log_server.py ADDRESS PORT LOG
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
LOG = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5                      # idle connections end; threads do not pile up

    def __getattr__(self, name):
        # any method, known or not, is "handled"
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te and te.split(",")[-1].strip().lower() == "chunked":
            total = 0
            for _ in range(10000):
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
                if size == 0:
                    for _ in range(100):       # trailers
                        if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                            break
                    return total
                total += len(self.rfile.read(size))
                self.rfile.readline(1024)
            raise ValueError("too many chunks")
        cl = self.headers.get("Content-Length")
        if cl is not None:
            n = int(cl)
            if n < 0:
                raise ValueError("negative length")
            return len(self.rfile.read(min(n, 1 << 20)))
        return 0

    def answer(self):
        if self.request_version != "HTTP/0.9":
            try:
                self.read_body()
            except ValueError:
                self.send_error(400, "bad body framing")
                return
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        rec = {"port": self.client_address[1],
               "request": getattr(self, "requestline", ""),
               "method": getattr(self, "command", None),
               "path": getattr(self, "path", None),
               "status": int(code) if str(code).isdigit() else 0}
        with LOCK:
            LOG.write(json.dumps(rec) + "\n")
            LOG.flush()

    def log_message(self, fmt, *args):
        pass


def main():
    global LOG
    addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    LOG = open(log, "a", encoding="utf-8")
    ThreadingHTTPServer.daemon_threads = True
    # socketserver's default backlog of 5 overflows when the test opens
    # dozens of connections at once: the kernel then drops handshakes and
    # the client sees resets that say nothing about HTTP parsing.
    ThreadingHTTPServer.request_queue_size = 256
    ThreadingHTTPServer((addr, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
