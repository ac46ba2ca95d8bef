#!/usr/bin/env python3
"""HTTPS server for postern's MTA-STS tests: serves POLICY_FILE at
/.well-known/mta-sts.txt (text/plain), 404 elsewhere, and with --redirect answers 301
instead (RFC 8461 says clients must not follow it). Listens on 127.0.0.1:0 and prints
"PORT <n>"."""
import argparse
import http.server
import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--redirect", action="store_true")
    a = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if a.redirect:
                self.send_response(301)
                self.send_header("Location", "https://elsewhere.test/")
                self.end_headers()
                return
            if self.path != "/.well-known/mta-sts.txt":
                self.send_error(404)
                return
            body = open(a.policy, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
