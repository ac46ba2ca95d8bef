#!/usr/bin/env python3
"""aiosmtpd receiver for postern's outbound client tests.

Listens on 127.0.0.1:0, prints "PORT <n>" on stdout, and writes each accepted message
to OUT/<seq>.json (envelope, ESMTP params, the peer's address, content in base64 exactly
as received after dot-unstuffing).

Per-recipient behaviour by local part prefix:
  temp*  -> 450 4.2.0 at RCPT        perm*  -> 550 5.1.1 at RCPT
  rejectdata* -> 554 5.6.0 after the final dot (whole message)
  tempdata*   -> 451 4.3.0 after the final dot
Modes: --pipelining (advertise PIPELINING; aiosmtpd reads commands serially, so pipelined
input works), --smtputf8, --size N (SIZE limit), --drop-data (close the connection after
the first line of message data), --silent (accept connections, never say anything),
--starttls-garbage (offer STARTTLS, answer 220, then send non-TLS bytes),
--starttls-inject (offer STARTTLS, answer "220" and a forged "250" in one write),
--implicit-tls CERT KEY (TLS from the first byte, like port 465),
--max-line N (longest line accepted; aiosmtpd refuses longer ones with 500, default 1001),
--auth USER:PASS [--auth-mechs LOGIN,...] (AUTH offered even without TLS; the login used
is stored as "auth_login"), --starttls CERT KEY (real STARTTLS),
--xoauth2 USER HTTP_PORT EXPIRES (AUTH XOAUTH2 after STARTTLS for USER with bearer tokens
that a token endpoint on 127.0.0.1:HTTP_PORT issues: POST /token with the refresh-token
grant for client "postern-test"/"client-secret" answers a new access token valid EXPIRES
seconds and a rotated refresh token; only the newest unexpired token is accepted; the first
refresh token is "refresh-0"; each grant is logged in OUT/grants.log).
Fault schedules (for retry tests): --greet-421 N (the first N connections get "421 4.3.2"
and are closed), --data-451 N (the first N messages get "451 4.3.0" after the final dot),
--drop-count N (with --drop-data: only the first N transactions are dropped).
--bind HOST / --port N choose the address (default 127.0.0.1:0, e.g. 127.0.0.2 for an MX).
Every connection appends a line to OUT/connections.log, so tests can count attempts.
"""
import argparse
import asyncio
import base64
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Authenticator:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


def log_connection(out, peer):
    with open(os.path.join(out, "connections.log"), "a") as f:
        f.write("%s:%d\n" % tuple(peer[:2]))


class Handler:
    def __init__(self, out, pipelining, starttls, data_451=0, drop_count=0):
        self.out = out
        self.pipelining = pipelining
        self.starttls = starttls
        self.seq = 0
        self.data_451 = data_451  # messages still to answer with 451
        self.drop_count = drop_count  # DATA still to drop (--drop-data; 0 = always)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        if self.starttls:
            responses.insert(1, "250-STARTTLS")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("temp") and not local.startswith("tempdata"):
            return "450 4.2.0 <%s>: Mailbox temporarily unavailable" % address
        if local.startswith("perm"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [a.split("@", 1)[0].lower() for a in envelope.rcpt_tos]
        if any(l.startswith("rejectdata") for l in locals_):
            return "554 5.6.0 Message content rejected"
        if any(l.startswith("tempdata") for l in locals_):
            return "451 4.3.0 Try again later"
        if self.data_451 > 0:
            self.data_451 -= 1
            return "451 4.3.0 Temporary local problem, try again later"
        self.seq += 1
        record = {
            "peer": list(session.peer),
            "helo": session.host_name,
            "auth_login": session.auth_data if session.authenticated else None,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "content_b64": base64.b64encode(envelope.original_content).decode(),
        }
        tmp = os.path.join(self.out, "%04d.tmp" % self.seq)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, "%04d.json" % self.seq))
        return "250 2.0.0 Ok: queued as %04d" % self.seq


class Tokens:
    """The token endpoint's state: the current refresh token and the newest access token."""

    def __init__(self, out, expires):
        self.out, self.expires = out, expires
        self.refresh, self.access, self.access_until, self.n = "refresh-0", None, 0.0, 0
        self.lock = threading.Lock()

    def grant(self, form):
        with self.lock:
            ok = (form.get("grant_type") == ["refresh_token"] and form.get("client_id") == ["postern-test"]
                  and form.get("client_secret") == ["client-secret"] and form.get("refresh_token") == [self.refresh])
            with open(os.path.join(self.out, "grants.log"), "a") as f:
                f.write("%s %s\n" % ("granted" if ok else "refused", form.get("refresh_token", ["-"])[0]))
            if not ok:
                return None
            self.n += 1
            self.refresh, self.access = "refresh-%d" % self.n, "access-%d" % self.n
            self.access_until = time.time() + self.expires
            return {"access_token": self.access, "token_type": "Bearer", "expires_in": self.expires,
                    "refresh_token": self.refresh}

    def valid(self, token):
        with self.lock:
            return token == self.access and time.time() < self.access_until


def token_endpoint(tokens, port):
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                answer, status = {"error": "invalid_request"}, 400
            else:
                answer = tokens.grant(urllib.parse.parse_qs(body))
                answer, status = (answer, 200) if answer else ({"error": "invalid_grant"}, 400)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


class CountingSMTP(SMTP):
    """Logs every connection; the first `greet_421` connections get 421 and are closed."""

    greet_421 = [0]
    refused = False

    def connection_made(self, transport):
        log_connection(self.event_handler.out, transport.get_extra_info("peername"))
        if self.greet_421[0] > 0:
            self.greet_421[0] -= 1
            self.refused = True
            transport.write(b"421 4.3.2 rcv.test Service not available, try again later\r\n")
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, error):
        if not self.refused:
            super().connection_lost(error)


class DropDataSMTP(CountingSMTP):
    """Accepts DATA, reads one line of content, then drops the connection."""

    async def smtp_DATA(self, arg):
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        h = self.event_handler
        if h.drop_count == 1:
            h.drop_count = -1  # the last drop: behave from now on
        elif h.drop_count > 1:
            h.drop_count -= 1
        elif h.drop_count < 0:
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")
        self.transport.close()


class StartTlsTrickSMTP(CountingSMTP):
    """Offers STARTTLS (via the handler) and misbehaves after the 220."""

    inject = False

    async def smtp_STARTTLS(self, arg):
        if self.inject:
            # Response injection: a forged reply in the same segment as the 220.
            self._writer.write(b"220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n")
            await self._writer.drain()
            return
        await self.push("220 2.0.0 Ready to start TLS")
        # Wait for the ClientHello, so the junk answers the handshake (not the 220).
        await self._reader.read(1)
        self._writer.write(b"this is not a TLS record\r\n" * 4)
        await self._writer.drain()
        self.transport.close()


class InjectSMTP(StartTlsTrickSMTP):
    inject = True


def silent(out):
    async def serve(reader, writer):
        log_connection(out, writer.get_extra_info("peername"))
        await reader.read()  # hold the connection open, answer nothing
        writer.close()
    return serve


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--pipelining", action="store_true")
    ap.add_argument("--smtputf8", action="store_true")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--drop-data", action="store_true")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--starttls-garbage", action="store_true")
    ap.add_argument("--starttls-inject", action="store_true")
    ap.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth")
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--max-line", type=int, default=0)
    ap.add_argument("--xoauth2", nargs=3, metavar=("USER", "HTTP_PORT", "EXPIRES"))
    ap.add_argument("--auth-mechs", default="PLAIN,LOGIN")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--greet-421", type=int, default=0)
    ap.add_argument("--data-451", type=int, default=0)
    ap.add_argument("--drop-count", type=int, default=0)
    a = ap.parse_args()
    if not (a.bind.startswith("127.") or a.bind == "::1"):
        raise SystemExit("refusing to listen on a non-loopback address")
    auth = {}
    if a.auth:
        user, password = a.auth.split(":", 1)
        mechs = set(a.auth_mechs.upper().split(","))
        auth = dict(authenticator=Authenticator(user, password), auth_require_tls=False,
                    auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in mechs])
    starttls = {}
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.starttls)
        starttls = dict(tls_context=ctx, require_starttls=False)
    ssl_ctx = None
    if a.implicit_tls:
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(*a.implicit_tls)
    loop = asyncio.get_running_loop()
    if a.silent:
        server = await asyncio.start_server(silent(a.out), a.bind, a.port)
    else:
        tricks = a.starttls_garbage or a.starttls_inject
        handler = Handler(a.out, a.pipelining, tricks, a.data_451, a.drop_count)
        if a.xoauth2:
            user, http_port, expires = a.xoauth2
            tokens = Tokens(a.out, int(expires))
            token_endpoint(tokens, int(http_port))

            async def auth_XOAUTH2(server, args):
                # RFC-less but documented by Google: user=U^Aauth=Bearer T^A^A in base64.
                try:
                    raw = base64.b64decode(args[1]).decode()
                    fields = dict(f.split("=", 1) for f in raw.split("\x01") if f)
                    token = fields["auth"].removeprefix("Bearer ")
                    ok = fields["user"] == user and tokens.valid(token)
                except Exception:
                    ok = False
                with open(os.path.join(a.out, "grants.log"), "a") as f:
                    f.write("auth %s\n" % ("ok" if ok else "refused"))
                return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

            handler.auth_XOAUTH2 = auth_XOAUTH2
        CountingSMTP.greet_421[0] = a.greet_421
        if a.max_line:
            SMTP.line_length_limit = a.max_line
        cls = CountingSMTP
        if a.drop_data:
            cls = DropDataSMTP
        elif a.starttls_inject:
            cls = InjectSMTP
        elif a.starttls_garbage:
            cls = StartTlsTrickSMTP
        server = await loop.create_server(
            lambda: cls(handler, hostname="rcv.test", enable_SMTPUTF8=a.smtputf8,
                        data_size_limit=a.size or None, decode_data=False, **auth, **starttls),
            a.bind, a.port, ssl=ssl_ctx)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
