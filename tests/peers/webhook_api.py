#!/usr/bin/env python3
"""A webhook API for postern's webhook transport tests (Python http.server).

Listens on 127.0.0.1 (a free port unless --port), prints "PORT <n>" on stdout, and writes
every request it gets to OUT/<seq>.json: method, path, headers (names lower-cased), the
body in base64, and the status it answered.

  --token T           answer 401 unless "Authorization: Bearer T"
  --statuses 503,200  answer these statuses to successive (authorized) requests; the
                      last one repeats (default: 200)
  --tls CERT KEY      serve HTTPS with this certificate
  --port N            listen on this port instead of a free one
"""
import argparse
import base64
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--token")
    ap.add_argument("--statuses", default="200")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",")]
    lock = threading.Lock()
    state = {"seq": 0, "answered": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write(fmt % a + "\n")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            authorized = args.token is None or self.headers.get("Authorization") == "Bearer " + args.token
            with lock:
                if authorized:
                    status = statuses[min(state["answered"], len(statuses) - 1)]
                    state["answered"] += 1
                else:
                    status = 401
                state["seq"] += 1
                seq = state["seq"]
            record = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_b64": base64.b64encode(body).decode(),
                "status": status,
            }
            tmp = os.path.join(args.out, "%06d.tmp" % seq)
            with open(tmp, "w") as f:
                json.dump(record, f)
            os.rename(tmp, os.path.join(args.out, "%06d.json" % seq))
            reply = (b"accepted\n" if 200 <= status < 300 else b"error %d from the test API\n" % status)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
