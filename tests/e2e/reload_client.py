"""reload_client - the client side of test_reload, run inside the client
network namespace (ip netns exec).

Keeps benign HTTP/1.1 traffic flowing in a thread (keep-alive connections of
a few requests each, so requests are in progress at every moment) and
answers commands, one per line on stdin, one result line on stdout:

    attack N     a fresh connection sends GET /attack?phase=N; prints
                 "resp CODE", "reset" or "timeout"
    begin N      opens a connection and sends a request line and a header
                 but not the blank line ending the head; prints "ok"
    finish N     sends the blank line on that connection; prints as attack
    stop         ends the benign traffic; prints "benign OK FAILED"

Every socket operation has a timeout; the benign loop stops on "stop" or
after --max-seconds.
"""
import argparse
import http.client
import socket
import sys
import threading
import time


def read_status(sock):
    """First line of the response: 'resp CODE', 'reset' or 'timeout'."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return "reset" if not data else "short"
            data += chunk
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    parts = data.split(b"\r\n", 1)[0].split()
    return "resp %s" % parts[1].decode() if len(parts) > 1 else "short"


def benign(server, stop, counts, max_seconds):
    end = time.time() + max_seconds
    while not stop.is_set() and time.time() < end:
        conn = http.client.HTTPConnection(server, 80, timeout=5)
        try:
            for _ in range(5):
                conn.request("GET", "/index.html")
                r = conn.getresponse()
                body = r.read()
                if r.status == 200 and body == b"hello from the pod\n":
                    counts[0] += 1
                else:
                    counts[1] += 1
                time.sleep(0.002)
        except (OSError, http.client.HTTPException):
            counts[1] += 1
        finally:
            conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--max-seconds", type=float, default=110)
    a = ap.parse_args()
    stop = threading.Event()
    counts = [0, 0]
    t = threading.Thread(target=benign,
                         args=(a.server, stop, counts, a.max_seconds))
    t.start()
    slow = {}
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "attack":
            s = socket.create_connection((a.server, 80), timeout=3)
            s.sendall(b"GET /attack?phase=%s HTTP/1.1\r\nHost: pod\r\n"
                      b"Connection: close\r\n\r\n" % arg.encode())
            out = read_status(s)
            s.close()
        elif cmd == "begin":
            s = socket.create_connection((a.server, 80), timeout=3)
            s.sendall(b"GET /attack?slow=%s HTTP/1.1\r\nHost: pod\r\n"
                      % arg.encode())
            slow[arg] = s
            out = "ok"
        elif cmd == "finish":
            s = slow.pop(arg)
            s.sendall(b"Connection: close\r\n\r\n")
            out = read_status(s)
            s.close()
        elif cmd == "stop":
            stop.set()
            t.join(10)
            out = "benign %d %d" % (counts[0], counts[1])
        else:
            out = "unknown"
        print(out, flush=True)
        if cmd == "stop":
            break
    stop.set()


if __name__ == "__main__":
    main()
