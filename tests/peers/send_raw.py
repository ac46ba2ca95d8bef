#!/usr/bin/env python3
"""Send one raw message (the file's bytes, as they are) with Python's smtplib.

  send_raw.py --port P [--host 127.0.0.1] --sender A --rcpt B [--rcpt C ...] FILE

smtplib only dot-stuffs and ends the data with CRLF. Prints "QUEUED <reply text>" and
exits 0 on 250; prints "SMTPERR <code> <text>" and exits 3 when the server refuses.
"""
import argparse
import smtplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("file")
    a = ap.parse_args()
    with open(a.file, "rb") as f:
        data = f.read()
    try:
        with smtplib.SMTP(a.host, a.port, local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            code, resp = s.mail(a.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, a.sender)
            for r in a.rcpt:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({r: (code, resp)})
            code, resp = s.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
            print("QUEUED " + resp.decode())
    except smtplib.SMTPRecipientsRefused as e:
        code, resp = next(iter(e.recipients.values()))
        print("SMTPERR %d %s" % (code, resp.decode()))
        sys.exit(3)
    except smtplib.SMTPResponseException as e:
        print("SMTPERR %d %s" % (e.smtp_code, e.smtp_error.decode()))
        sys.exit(3)


if __name__ == "__main__":
    main()
