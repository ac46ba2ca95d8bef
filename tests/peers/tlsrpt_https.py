#!/usr/bin/env python3
"""HTTPS report endpoint for postern's TLS-RPT test (RFC 8460 §5.4): every POST to
/tlsrpt is stored in OUT as N.body (the raw request body) and N.json (path and
Content-Type), answered 201; anything else 404. Listens on 127.0.0.1:0 and prints
"PORT <n>"."""
import argparse
import http.server
import json
import os
import ssl
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    lock = threading.Lock()
    counter = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(length, 10 * 1024 * 1024))
            if self.path != "/tlsrpt":
                self.send_error(404)
                return
            with lock:
                counter[0] += 1
                n = counter[0]
            base = os.path.join(a.out, "%03d" % n)
            with open(base + ".body", "wb") as f:
                f.write(body)
            meta = {"path": self.path, "content_type": self.headers.get("Content-Type"),
                    "host": self.headers.get("Host")}
            # The .json is written last: its presence means the report is complete.
            with open(base + ".tmp", "w") as f:
                json.dump(meta, f)
            os.rename(base + ".tmp", base + ".json")
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
