#!/usr/bin/env python3
"""dkim-check - does an MTA under benchmark really DKIM-sign? (used by scripts/bench-relay)

Runs a one-shot aiosmtpd receiver on 127.0.0.1:LISTEN, sends one message (From: a@example.com,
To: check@dkim.check) into the MTA at 127.0.0.1:VIA, which must route it to LISTEN (bench-relay
gives its Postfix+OpenDKIM instance a transport_maps entry for dkim.check), waits for it, and
verifies its DKIM-Signature with dkimpy against the public half of KEY (no DNS: the TXT record is
built from the key). Prints one line; exit 0 = signed and the signature verifies, 1 = not.

  dkim-check.py --via PORT --listen PORT --key dkim.pem [--selector bench] [--domain example.com]
"""
import argparse
import base64
import re
import smtplib
import subprocess
import sys
import threading
import time
from email.utils import formatdate, make_msgid

import dkim
from aiosmtpd.controller import Controller


class Keep:
    def __init__(self):
        self.got = threading.Event()
        self.raw = b""

    async def handle_DATA(self, server, session, envelope):
        self.raw = envelope.original_content or b""
        self.got.set()
        return "250 OK kept"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--via", type=int, required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--selector", default="bench")
    ap.add_argument("--domain", default="example.com")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    der = subprocess.run(["openssl", "pkey", "-in", a.key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    want = f"{a.selector}._domainkey.{a.domain}.".encode()

    def dnsfunc(name, timeout=5):
        n = name if isinstance(name, bytes) else name.encode()
        return txt if n.rstrip(b".") + b"." == want else None

    keep = Keep()
    ctl = Controller(keep, hostname="127.0.0.1", port=a.listen)
    ctl.start()
    try:
        msg = (f"From: <a@example.com>\r\nTo: <check@dkim.check>\r\nSubject: dkim check\r\n"
               f"Date: {formatdate()}\r\nMessage-ID: {make_msgid(domain='example.com')}\r\n\r\n"
               + "DKIM check body line\r\n" * 20)
        with smtplib.SMTP("127.0.0.1", a.via, local_hostname="client.test", timeout=30) as s:
            s.sendmail("a@example.com", ["check@dkim.check"], msg.encode())
        if not keep.got.wait(a.timeout):
            print(f"no message arrived at 127.0.0.1:{a.listen} within {a.timeout:.0f} s")
            return 1
    finally:
        ctl.stop()

    raw = keep.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = raw.split(b"\r\n\r\n", 1)[0]
    sig = re.search(rb"^DKIM-Signature:.*?(?=\r\n[^ \t])", head, re.M | re.S | re.I)
    if not sig:
        print("NO DKIM-Signature in the relayed message")
        return 1
    tags = dict(re.findall(r"\b([a-z]+)=([^;]*)", re.sub(r"\s+", "", sig.group(0).decode().split(":", 1)[1])))
    ok = dkim.verify(raw, dnsfunc=dnsfunc)
    print(f"DKIM-Signature present: a={tags.get('a')} c={tags.get('c')} d={tags.get('d')} "
          f"s={tags.get('s')} h={tags.get('h')}; dkimpy verify: {'pass' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
