#!/usr/bin/env python3
"""An IMAP session with Python's imaplib against postern (tests/imap_clients.rs).

Logs in over implicit TLS (--mode ssl) or STARTTLS (--mode starttls), then: CAPABILITY,
LIST, SELECT INBOX, FETCH flags/sizes/bodies, STORE, SEARCH, COPY (COPYUID), MOVE,
APPEND (APPENDUID), EXPUNGE, and IDLE while a message is sent over SMTP (--smtp-port):
the time until `* n EXISTS` is reported. Prints one JSON object with what it saw; exits
non-zero with a message when the server answers something unexpected.
"""
import argparse, imaplib, json, re, smtplib, socket, ssl, sys, time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["ssl", "starttls"], required=True)
p.add_argument("--cafile", required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--smtp-port", type=int)
p.add_argument("--rcpt")
p.add_argument("--sections", action="store_true", help="also ENVELOPE, BODYSTRUCTURE, header sections, text SEARCH")
a = p.parse_args()

ctx = ssl.create_default_context(cafile=a.cafile)
out = {}


def ok(res, what):
    typ, data = res
    if typ != "OK":
        sys.exit(f"{what}: {typ} {data}")
    return data


if a.mode == "ssl":
    M = imaplib.IMAP4_SSL("localhost", a.port, ssl_context=ctx)
else:
    M = imaplib.IMAP4("localhost", a.port)
    out["caps_before_tls"] = sorted(M.capabilities)
    ok(M.starttls(ssl_context=ctx), "STARTTLS")
ok(M.login(a.user, a.password), "LOGIN")
out["caps"] = sorted(M.capabilities)
out["list"] = [l.decode() for l in ok(M.list(), "LIST")]
exists = int(ok(M.select("INBOX"), "SELECT")[0])
out["exists"] = exists
data = ok(M.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)"), "FETCH")
out["fetch"] = [d.decode() for d in data]
uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
sizes = [int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)) for d in data]
bodies = []
for i in range(1, exists + 1):
    d = ok(M.fetch(str(i), "(BODY.PEEK[])"), "FETCH BODY.PEEK[]")
    bodies.append(d[0][1])
out["bodies"] = [b.decode("utf-8", "replace") for b in bodies]
out["sizes_match"] = [len(b) for b in bodies] == sizes
out["unseen_before"] = ok(M.search(None, "UNSEEN"), "SEARCH")[0].decode()
# A non-PEEK fetch sets \Seen.
d = ok(M.fetch("1", "(BODY[])"), "FETCH BODY[]")
out["flags_after_body"] = [x.decode() if isinstance(x, bytes) else x[0].decode() for x in d]
ok(M.store("1", "+FLAGS", "(\\Flagged $Label1)"), "STORE")
out["flagged"] = ok(M.search(None, "FLAGGED"), "SEARCH FLAGGED")[0].decode()
out["keyword"] = ok(M.search(None, "KEYWORD", "$Label1"), "SEARCH KEYWORD")[0].decode()
out["uid_search"] = ok(M.uid("SEARCH", "ALL"), "UID SEARCH")[0].decode()
out["larger"] = ok(M.search(None, "LARGER", "1"), "SEARCH LARGER")[0].decode()
typ, d = M.copy("1", "Trash")
out["copy"] = f"{typ} {M.untagged_responses.get('COPYUID', d)}"
typ, d = M.uid("MOVE", str(uids[-1]), "Archive")
out["move_no_folder"] = f"{typ} {d}"
ok(M.create("Archive"), "CREATE")
typ, d = M.uid("MOVE", str(uids[-1]), "Archive")
out["move"] = typ
out["exists_after_move"] = len(ok(M.search(None, "ALL"), "SEARCH")[0].split())
msg = b"From: me@example.org\r\nSubject: appended\r\n\r\nAppended body\r\n"
typ, d = M.append("INBOX", "(\\Seen \\Draft)", imaplib.Time2Internaldate(time.time()), msg)
out["append"] = f"{typ} {d[0].decode()}"
out["status"] = ok(M.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"), "STATUS")[0].decode()
out["status_archive"] = ok(M.status("Archive", "(MESSAGES)"), "STATUS")[0].decode()
ok(M.noop(), "NOOP")
out["exists_after_append"] = len(ok(M.search(None, "ALL"), "SEARCH")[0].split())
ok(M.store("1", "+FLAGS", "(\\Deleted)"), "STORE Deleted")
typ, d = M.expunge()
out["expunge"] = [x.decode() if x else "" for x in d]
out["exists_after_expunge"] = len(ok(M.search(None, "ALL"), "SEARCH")[0].split())
if a.sections:
    d = ok(M.fetch("1", "(ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.5>)"), "FETCH sections")
    out["sections"] = [x.decode("utf-8", "replace") if isinstance(x, bytes) else [y.decode("utf-8", "replace") for y in x] for x in d]
    out["search_subject"] = ok(M.search(None, "SUBJECT", "appended"), "SEARCH SUBJECT")[0].decode()
    out["search_body"] = ok(M.search(None, "BODY", "Appended"), "SEARCH BODY")[0].decode()
if a.smtp_port:
    tag = M._new_tag()
    M.send(tag + b" IDLE\r\n")
    cont = M.readline()
    if not cont.startswith(b"+"):
        sys.exit(f"IDLE: {cont!r}")
    t0 = time.time()
    with smtplib.SMTP("127.0.0.1", a.smtp_port) as s:
        s.sendmail("sender@remote.test", [a.rcpt], b"From: sender@remote.test\r\nSubject: during idle\r\n\r\nHello idle\r\n")
    sent = time.time()
    M.sock.settimeout(10)
    line = M.readline()
    out["idle_push"] = line.decode().strip()
    out["idle_seconds_after_send"] = round(time.time() - sent, 3)
    M.send(b"DONE\r\n")
    while True:
        l = M.readline()
        if l.startswith(tag):
            out["idle_done"] = l.decode().strip()
            break
ok(M.logout(), "LOGOUT") if False else M.logout()
print(json.dumps(out))
