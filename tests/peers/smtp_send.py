#!/usr/bin/env python3
"""Send one message with Python's smtplib (a client nobody on the project wrote).

  smtp_send.py --port P --mode plain|starttls|tls [--host 127.0.0.1] [--cafile CERT]
               [--user U --password PW] --sender A --rcpt B [--rcpt C ...] [--subject S]

Prints the server's reply to DATA ("DATA <code> <text>") and exits 0 when it is 250.
On an SMTP error prints "SMTPERR <code> <text>" and exits 3; other failures exit 1.
With --cafile the server certificate is verified (hostname = --tls-name, default localhost).
"""
import argparse
import smtplib
import ssl
import sys
from email.message import EmailMessage


def tls_context(a):
    if a.cafile:
        return ssl.create_default_context(cafile=a.cafile)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def build_message(a):
    m = EmailMessage()
    m["From"] = a.sender
    m["To"] = ", ".join(a.rcpt)
    m["Subject"] = a.subject
    m.set_content("Sent by smtplib.\nSecond line.\n")
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def connect(a):
    ctx = tls_context(a)
    if a.mode == "tls":
        s = smtplib.SMTP_SSL(local_hostname="client.test", context=ctx, timeout=30)
    else:
        s = smtplib.SMTP(local_hostname="client.test", timeout=30)
    s._host = a.tls_name  # the name smtplib checks against the server certificate
    s.connect(a.host, a.port)
    if a.mode == "starttls":
        s.starttls(context=ctx)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    ap.add_argument("--cafile")
    ap.add_argument("--tls-name", default="localhost")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("--subject", default="smtplib test")
    a = ap.parse_args()
    try:
        with connect(a) as s:
            s.ehlo("client.test")
            if a.user:
                s.login(a.user, a.password)
            code, resp = s.mail(a.sender)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            for r in a.rcpt:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    raise smtplib.SMTPResponseException(code, resp)
            code, resp = s.data(build_message(a))
            print(f"DATA {code} {resp.decode(errors='replace')}")
            return 0 if code == 250 else 3
    except smtplib.SMTPResponseException as e:
        print(f"SMTPERR {e.smtp_code} {e.smtp_error.decode(errors='replace')}")
        return 3


if __name__ == "__main__":
    sys.exit(main())
