#!/usr/bin/env python3
"""Writes the hand-made seed inputs into fuzz/corpus/TARGET/seed-*.

Seeds give each fuzz target a start inside the grammar it tests; fuzzing adds more
files next to them (keep those that `cargo fuzz cmin` retains). Re-run after editing:
    python3 fuzz/seeds/make_seeds.py
"""
import base64, json, os, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "corpus"

def b(s):
    return s.encode() if isinstance(s, str) else s

def write(target, items):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(items):
        (d / f"seed-{i:03}").write_bytes(b(data))

FLAG0, FLAG1 = b"\x00", b"\x01"

COMMANDS = [
    "EHLO client.example", "HELO [192.0.2.1]", "MAIL FROM:<a@example.com>",
    "MAIL FROM:<> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=<>",
    "MAIL FROM:<jörg@bücher.de> SMTPUTF8", "RCPT TO:<b@example.net>",
    "RCPT TO:<@r.example,@s.example:u@d.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+2Bx@d.example",
    "RCPT TO:<Postmaster>", 'MAIL FROM:<"a> b"@c.d> SIZE=5', "RCPT TO:<a@[IPv6:2001:db8::1]>",
    "DATA", "BDAT 100", "BDAT 0 LAST", "RSET", "NOOP x", "QUIT", "VRFY john", "EXPN list",
    "HELP mail", "STARTTLS", "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm", "AUTH LOGIN", "AUTH PLAIN =",
    "MAIL FROM:<a@b.c> SIZE=1 size=2", "RCPT TO:<a@b.c> NOTIFY=NEVER", "FOO bar", "",
]

def commands():
    out = [FLAG0 + b(c) for c in COMMANDS]
    out += [FLAG1 + "RCPT TO:<jörg@bücher.de>".encode(), FLAG1 + "MAIL FROM:<ü@x.de>".encode()]
    return out

def data():
    msgs = [
        b"Subject: hi\r\n\r\nbody\r\n.\r\n",
        b"..stuffed\r\n.x\r\n\r\n.\r\nQUIT\r\n",
        b"bare\nLF\r\n.\r\n", b"bare\rCR\r\n.\r\n", b"line\r\n.\n.\r\n", b".\r\n",
        b"a" * 1200 + b"\r\n.\r\n", b"x\r\n.\r", b"x\r\n.\rnot end\r\n.\r\n",
        b"\r\n.\r\n", b"abc", b"\r\n\r\n..\r\n...\r\n.\r\n",
    ]
    out = []
    for flags in (0x00, 0x01, 0x06, 0x0B, 0xFC):
        out += [bytes([flags]) + m for m in msgs]
    return out

ADDRS = [
    "a@example.com", "John.Doe@Example.COM", '"a b"@x.org', r'"a\"b\\c"@x.org', '""@x.org',
    "a@[127.0.0.1]", "a@[IPv6:::1]", "a@[IPv6:2001:DB8::1]", "user%other@local.example",
    "other!u@local.example", '"u@other"@local.example', "<a@b.c>", "<>", "<@a,@b:c@d.e>",
    "<Postmaster>", "a..b@x", "a@x_y.org", "a@-x.org", "<a@b", "a" * 65 + "@x.org",
]

def addresses():
    out = [FLAG0 + b(a) for a in ADDRS]
    out += [FLAG1 + b(a) for a in ["jörg@bücher.de", "<用户@例子.广告>", "ü@xn--bcher-kva.de", "a@bücher.de"]]
    return out

def sasl():
    enc = lambda s: base64.b64encode(b(s))
    return [enc("\0tim\0tanstaaftanstaaf"), enc("Ursel\0Kurt\0xipj3plmq").rstrip(b"="), enc("user"),
            enc("p\xe4ss".encode("latin-1")), b"*", b"not base64!", b"", enc("a\0b"), enc("\0\0"),
            enc("\0us\u00e9r\0p\u00e4ss") + b" ", b"dXNlcg"]

def replies():
    return [b"220 mx.example ESMTP\r\n", b"250-mx.example Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
            b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n", b"550 5.1.1 <a@b>: unknown\r\n",
            b"451-4.7.1 first\r\n451-4.7.1 second\r\n451 4.7.1 third\r\n", b"250\n", b"553 5.1.3\r\n",
            b"250-a\r\n251 b\r\n", b"2x0 bad\r\n", b"999 no\r\n", b"250 2.0.0", b"421 4.4.2 timeout\r\n",
            b"250 " + b"x" * 600 + b"\r\n", b"250-2.0.0 a\r\n250 2.0.1 b\r\n"]

def configs():
    here = pathlib.Path(__file__).resolve().parents[2] / "config" / "postern.toml"
    full = here.read_bytes() if here.exists() else b""
    return [
        full, b"", b"[server]\nhostname = \"mx.example\"\n",
        b"[limits]\nmessage_size = 1000\nrecipients = 5\ncommand_timeout = \"30s\"\n",
        b"[[listener]]\nbind = \"127.0.0.1:2525\"\nkind = \"smtp\"\n[relay]\nlocal_domains = [\"example.com\", \"b\xc3\xbccher.de\"]\ntrusted_networks = [\"10.0.0.0/8\", \"::1/128\"]\n",
        b"[delivery]\nsmarthost = [\"[127.0.0.1]:2526\"]\ntls = \"none\"\nresolver = \"127.0.0.1:5353\"\nretry_initial = \"1m\"\n",
        b"[http]\ntokens = [\"0123456789abcdef0123456789abcdef\"]\n[limits]\nrecipientz = 5\n",
        b"[[dkim]]\ndomain = \"example.com\"\nselector = \"s1\"\nkey = \"k.pem\"\n",
        b"[limits]\nerrors = 3\n\n#ENV\nPOSTERN_LIMITS__RECIPIENTS=7\nPOSTERN_RELAY__LOCAL_DOMAINS=a.example,b.example\n",
        b"\n#ENV\nRELAYHOST=[smtp.example.net]:587\nRELAYHOST_USERNAME=u\nRELAYHOST_PASSWORD=p\nALLOWED_SENDER_DOMAINS=example.com\n",
        b"\n#ENV\nSMTP_SERVER=smtp.example.net\nSMTP_PORT=2525\nPOSTERN_DELIVERY__TLS=encrypt\n",
        b"[server]\nhostname = 3\n", b"[limits\n",
    ]

def http():
    reqs = [
        {"from": "a@example.com", "to": "b@example.net", "subject": "hi", "text": "hello"},
        {"from": {"email": "a@example.com", "name": "Zoë Ångström"}, "to": ["b@example.net", "C <c@example.org>"],
         "bcc": "hidden@example.net", "subject": "Grüße ✓", "text": "plain ü", "html": "<p>html ü</p>",
         "headers": {"X-Campaign": "42"},
         "attachments": [{"filename": "résumé.pdf", "contentType": "application/pdf", "content": "JVBERi0xLjQK/w=="}]},
        {"from": "A <a@example.com>", "to": '"Doe, J" <j@example.net>, k@example.net', "cc": {"email": "c@x.org"},
         "replyTo": "r@x.org", "html": "<b>x</b>", "headers": [{"name": "Message-ID", "value": "<abc@app.test>"}]},
        {"from": "jörg@bücher.de", "to": "用户@例子.广告", "text": "utf8 addresses"},
        {"from": "a@example.com", "to": "b@example.net", "subject": "inject\r\nBcc: x@y", "text": "x"},
        {"from": "a@example.com", "to": "b@example.net", "attachments": [
            {"filename": "a.txt", "content": "plain text", "encoding": "utf-8", "cid": "img1"}]},
        {"from": "a@example.com", "to": "b@example.net", "text": "l" * 2000, "subject": "s" * 300},
        {"from": "a@example.com"}, {},
    ]
    return [json.dumps(r, ensure_ascii=False).encode() for r in reqs] + [b"{", b"[]", b'{"from": 1}']

def dsns():
    dsn = (b"From: MAILER-DAEMON@mx.example\r\nTo: a@example.com\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
           b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
           b"Original-Envelope-Id: QQ314159\r\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
           b"Final-Recipient: rfc822; b@example.net\r\nOriginal-Recipient: rfc822;b@example.net\r\nAction: failed\r\n"
           b"Status: 5.1.1\r\nRemote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n"
           b"Final-Recipient: utf-8; j\\x{00F6}rg@b\\x{00FC}cher.de\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
           b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@example.com>\r\nSubject: x\r\n\r\n--B--\r\n")
    glob = dsn.replace(b"message/delivery-status", b"message/global-delivery-status")
    rfc822 = dsn.replace(b"text/rfc822-headers", b"message/rfc822")
    return [dsn, glob, rfc822, b"Subject: plain\r\n\r\nnot a bounce\r\n", dsn[: len(dsn) // 2],
            dsn.replace(b"Status: 5.1.1", b"Status: 9.x.1")]

POP3_COMMANDS = [
    "CAPA", "USER alice@example.org", "PASS secret with spaces", "AUTH", "AUTH PLAIN",
    "AUTH PLAIN AGFsaWNlAHB3", "APOP alice c4c9334bac560ecc979e58001b3e22fb", "STLS", "STAT",
    "LIST", "LIST 1", "UIDL", "UIDL 2", "RETR 1", "TOP 1 0", "TOP 3 10", "DELE 1", "NOOP",
    "RSET", "QUIT", "retr 007", "RETR 0", "RETR 4294967296", "TOP 1", "LIST 1 2", "XTND XMIT",
    "", " ", "PASS", "USER \x00", "STAT\t",
]

def pop3_commands():
    out = [FLAG0 + b(c) for c in POP3_COMMANDS]
    msgs = [
        b"From: a@example.com\r\nSubject: t\r\n\r\nhello\r\n.dot\r\n..two\r\n.\r\n",
        b"From: a@example.com\nSubject: lf only\n\nline 1\n.\nline 3\n",
        b"Subject: no body\r\n", b"no newline at end", b"\r\n\r\nstarts empty\r\n", b"cr\rin\r\nline\r",
        b"", b".", b"\n.\n",
    ]
    for top in (255, 0, 1, 2):
        for split in (0, 3, 17):
            out += [FLAG1 + bytes([top, split]) + m for m in msgs]
    return out

def sessions():
    T, U = b"\x00", b"\x01"  # trusted / untrusted client on the smtp listener
    SUB = b"\x02"
    base = b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    msg = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: t\r\n\r\nhello\r\n..dot\r\n.\r\n"
    return [
        T + base + msg + b"QUIT\r\n",
        U + base + msg + b"QUIT\r\n",
        U + b"EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n" + msg + b"QUIT\r\n",
        bytes([0x04]) + base + msg,  # one byte per write
        bytes([0x08]) + b"EHLO c\r\nMAIL FROM:<a@example.com> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\nBDAT 20\r\nFrom: a@example.com\r\nBDAT 9 LAST\r\n\r\nhello\r\nQUIT\r\n",
        T + base + b"smuggled\r\n.\nMAIL FROM:<evil@x>\r\n.\r\nQUIT\r\n",
        T + base + b"bare\nLF\r\n.\r\nRSET\r\nQUIT\r\n",
        T + b"HELO c\r\nMAIL FROM:<a@example.com> SIZE=10\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n" + msg,
        T + b"EHLO c\r\nSTARTTLS\r\nEHLO c\r\n",
        SUB + b"EHLO c\r\nAUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\nMAIL FROM:<a@example.com>\r\nQUIT\r\n",
        T + b"EHLO c\r\nVRFY x\r\nEXPN y\r\nHELP\r\nNOOP\r\nRSET\r\nFOO\r\n" + b"x" * 600 + b"\r\nbare\nQUIT\r\n",
        T + b"EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + b"y" * 2100 + b"\r\n.\r\nQUIT\r\n",
        T + base + msg + b"MAIL FROM:<>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n" + msg + b"QUIT\r\n",
    ]

def imap_messages():
    """The IMAP message fixtures (CRLF as stored, flag 0; LF-only, flag 1), plus edge cases."""
    fixtures = ROOT.parent.parent / "tests" / "fixtures" / "imap_messages"
    msgs = [p.read_bytes() for p in sorted(fixtures.glob("*.eml"))]
    out = [FLAG0 + m for m in msgs] + [FLAG1 + m for m in msgs[:5]]
    out += [
        FLAG0 + b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n--\r\n",
        FLAG0 + b"Content-Type: message/rfc822\r\n\r\n" * 8,
        bytes([2]) + b"Content-Type: text/plain; a*0*=utf-8''%41; a*1=b; a*3=c\r\nMime-Version: 1.0\r\n\r\nx",
        FLAG0 + b"&AOQ-&APw-",
        FLAG0 + b"To: g: a@b, (c) <@x,@y:d@e>;, \"q\\\"\" <>\r\n\r\n",
    ]
    return out

if __name__ == "__main__":
    write("command", commands()); write("data", data()); write("address", addresses())
    write("sasl", sasl()); write("reply", replies()); write("config", configs())
    write("http_send", http()); write("dsn", dsns()); write("session", sessions())
    write("pop3_command", pop3_commands())
    write("imap_message", imap_messages())
    for t in sorted(os.listdir(ROOT)):
        print(t, len(os.listdir(ROOT / t)))
