#!/usr/bin/env python3
"""Send many messages with Python's smtplib from several concurrent clients.

  bulk_send.py --port P [--host 127.0.0.1] --sender A --rcpt PATTERN
               [--clients C] [--messages N] [--size BYTES]

N messages in total, numbered 0..N-1, spread over C threads; each thread keeps one
connection and sends its messages one after another. PATTERN may contain "{n}" (the
message number), so every message can have its own recipient, e.g. "u{n}@dest.test".
Each message carries "X-Seq: n" and "Subject: bulk n".
Prints "QUEUED <n> <queue id>" for every 250 (in completion order) and
"FAILED <n> <error>" for every message the server did not accept; exits 0 when all were
queued, 1 otherwise.
"""
import argparse
import smtplib
import sys
import threading


def message(a, n):
    body = ("bulk message %d, filler line\r\n" % n) * max(1, a.size // 32)
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: bulk %d\r\nX-Seq: %d\r\n\r\n%s"
            % (a.sender, a.rcpt.format(n=n), n, n, body)).encode()


def send_one(s, a, n):
    """One transaction; returns the queue id from the reply to the end of DATA."""
    rcpt = a.rcpt.format(n=n)
    for step in (lambda: s.mail(a.sender), lambda: s.rcpt(rcpt)):
        code, resp = step()
        if code != 250:
            raise smtplib.SMTPResponseException(code, resp)
    code, resp = s.data(message(a, n))
    text = resp.decode(errors="replace")
    if code != 250 or "queued as " not in text:
        raise smtplib.SMTPResponseException(code, resp)
    return text.split("queued as ", 1)[1].split()[0]


def client(a, numbers, out, lock):
    s = None
    for n in numbers:
        try:
            if s is None:
                s = smtplib.SMTP(a.host, a.port, local_hostname="client.test", timeout=60)
                s.ehlo()
            line = "QUEUED %d %s" % (n, send_one(s, a, n))
        except Exception as e:  # noqa: BLE001 - report it, then reconnect for the next
            line = "FAILED %d %r" % (n, e)
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass
            s = None
        with lock:
            out.append(line)
            print(line, flush=True)
    if s is not None:
        try:
            s.quit()
        except Exception:  # noqa: BLE001
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--messages", type=int, default=1)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    out, lock = [], threading.Lock()
    threads = [threading.Thread(target=client, args=(a, range(c, a.messages, a.clients), out, lock))
               for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0 if all(l.startswith("QUEUED") for l in out) and len(out) == a.messages else 1


if __name__ == "__main__":
    sys.exit(main())
