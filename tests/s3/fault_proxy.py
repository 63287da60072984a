#!/usr/bin/python3
"""A fault-injecting HTTP proxy for the S3 tests (Python's standard library
only). It forwards requests to radosgw unchanged (the Host header too, so
signatures still match) and, on a schedule, answers or breaks them instead:

  500    an S3 InternalError reply, without forwarding
  503    an S3 SlowDown reply, without forwarding
  reset  forwards, then sends half of the reply and resets the connection
         (a lost reply: the server did the work, the client never heard)
  stall  forwards, then sends the reply's headers and stops, longer than
         the client's stall timeout, before closing

  fault_proxy.py --upstream 127.0.0.1:PORT --port-file F --log F
                 [--every N --faults 500,503,reset,stall | --always KIND]
                 [--stall-s SECONDS] [--delay-ms MS] [--log-headers NAME,...]

--log-headers logs the named request headers of every request ("header
METHOD PATH NAME: VALUE"), so a test can see what a client sent.
--delay-ms holds every request that long before forwarding it: a slow
link, so a test can act while a transfer is under way. With --every N,
request number k (counting from 1) gets a fault when k is a
multiple of N, the kinds taken in turn. Each injected fault is one line of
the log ("fault K KIND METHOD PATH"), so a test can check that it was hit.
"""
import argparse
import http.client
import http.server
import os
import socket
import struct
import threading
import time

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class State:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.lock = threading.Lock()
        self.kinds = args.faults.split(",") if args.faults else []

    def next_fault(self):
        with self.lock:
            self.count += 1
            k = self.count
        if self.args.always:
            return k, self.args.always
        if self.args.every and k % self.args.every == 0:
            return k, self.kinds[(k // self.args.every - 1) % len(self.kinds)]
        return k, None

    def log(self, line):
        with self.lock, open(self.args.log, "a") as f:
            f.write(line + "\n")


def s3_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message>'
            "<RequestId>injected</RequestId></Error>" % (code, message)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the fault log is what matters
        pass

    def upstream(self):
        conn = getattr(self.server.local, "conn", None)
        if conn is None:
            host, port = self.server.state.args.upstream.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            self.server.local.conn = conn
        return conn

    def forward(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        for attempt in range(2):  # a kept-alive upstream connection may have closed
            conn = self.upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.reason, resp.getheaders(), resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.server.local.conn = None
                if attempt == 1:
                    raise

    def send_reply(self, status, reason, headers, data, cut=None):
        self.send_response_only(status, reason)
        head = self.command == "HEAD"  # its Content-Length is the object's
        for k, v in headers:
            if k.lower() not in HOP and (head or k.lower() != "content-length"):
                self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:  # a HEAD reply has no body, even an error's
            self.wfile.write(data if cut is None else data[:cut])
        self.wfile.flush()

    def reset(self):
        # SO_LINGER 0: close() sends RST, as a crashed peer or a middlebox would
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        for name in filter(None, self.server.state.args.log_headers.split(",")):
            if self.headers.get(name) is not None:
                self.server.state.log("header %s %s %s: %s" % (self.command, self.path, name.lower(),
                                                               self.headers.get(name)))
        if self.server.state.args.delay_ms:
            time.sleep(self.server.state.args.delay_ms / 1000)
        k, fault = self.server.state.next_fault()
        if fault:
            self.server.state.log("fault %d %s %s %s" % (k, fault, self.command, self.path))
        if fault == "500":
            return self.send_reply(500, "Internal Server Error", [("Content-Type", "application/xml")],
                                   s3_error("InternalError", "injected"))
        if fault == "503":
            return self.send_reply(503, "Slow Down", [("Content-Type", "application/xml")],
                                   s3_error("SlowDown", "Please reduce your request rate."))
        status, reason, headers, data = self.forward(body)
        if fault == "reset":
            self.send_reply(status, reason, headers, data, cut=len(data) // 2)
            return self.reset()
        if fault == "stall":
            self.send_reply(status, reason, headers, data, cut=0)
            time.sleep(self.server.state.args.stall_s)
            return self.reset()
        self.send_reply(status, reason, headers, data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state
        self.local = threading.local()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--every", type=int, default=0)
    p.add_argument("--faults", default="")
    p.add_argument("--always", default="")
    p.add_argument("--stall-s", type=float, default=5.0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--log-headers", default="")
    args = p.parse_args()
    server = Server(State(args))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
