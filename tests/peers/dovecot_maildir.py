#!/usr/bin/env python3
"""Drives a Dovecot (or any IMAP/POP3 server) with imaplib and poplib and prints what it
sees as JSON, for tests/mailstore_dovecot.rs.

  dovecot_maildir.py write HOST IMAP_PORT POP3_PORT USER PASSWORD
      APPENDs messages to INBOX and to a folder Archive.2025, sets \\Seen, \\Flagged and
      the keyword $Label1, expunges two INBOX messages (one in the middle, the last), then
      reports.
  dovecot_maildir.py read HOST IMAP_PORT POP3_PORT USER PASSWORD
      Only reports.

Report: {"folders": [names], "noselect": [names], "subscribed": [names], "mailboxes": {name: {"uidvalidity",
"uidnext", "messages": [{"uid", "flags", "size"}]}}, "uidl": [[msgno, uidl], ...]}
(flags without \\Recent, sorted; "uidl" is INBOX over POP3).
"""
import imaplib
import json
import poplib
import re
import sys


def message(n, folder):
    # Bare LFs on purpose: RFC822.SIZE counts them as CRLF.
    return (
        f"From: a{n}@example.com\r\nTo: b@example.com\r\nSubject: {folder} {n}\r\n"
        f"Message-ID: <{folder}.{n}@example.com>\r\n\r\nbody {n}\nline two\n"
    ).encode()


def check(resp, what):
    typ, data = resp
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data}")
    return data


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(imap):
    check(imap.create("Archive.2025"), "CREATE")
    check(imap.subscribe("Archive.2025"), "SUBSCRIBE")
    for i in range(1, 6):
        check(imap.append("INBOX", None, None, message(i, "inbox")), "APPEND")
    for i in range(1, 4):
        check(imap.append("Archive.2025", "(\\Seen)", None, message(i, "archive")), "APPEND")
    check(imap.select("INBOX"), "SELECT")
    check(imap.uid("STORE", "1", "+FLAGS", "(\\Seen)"), "STORE")
    check(imap.uid("STORE", "3", "+FLAGS", "(\\Flagged $Label1)"), "STORE")
    check(imap.uid("STORE", "4", "+FLAGS", "(\\Seen \\Answered)"), "STORE")
    check(imap.uid("STORE", "2,5", "+FLAGS", "(\\Deleted)"), "STORE")
    check(imap.expunge(), "EXPUNGE")
    check(imap.close(), "CLOSE")
    check(imap.select("Archive.2025"), "SELECT")
    check(imap.uid("STORE", "2", "+FLAGS", "($Label1 $Label2)"), "STORE")
    check(imap.close(), "CLOSE")


def names(lines, noselect=False):
    """Names in LIST/LSUB lines: selectable ones, or (noselect=True) the \\Noselect ones
    (parents implied by a child, e.g. `Archive` of `Archive.2025`)."""
    out = []
    for line in lines:
        if line is None:
            continue
        text = line.decode() if isinstance(line, bytes) else line
        m = re.match(r'\((.*?)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$', text)
        if m and ("\\Noselect" in m.group(1).split()) == noselect:
            name = m.group(2)
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out.append(name)
    return sorted(out)


def mailbox(imap, name):
    st = check(imap.status(quote(name), "(UIDVALIDITY UIDNEXT)"), "STATUS")[0].decode()
    validity = int(re.search(r"UIDVALIDITY (\d+)", st).group(1))
    uidnext = int(re.search(r"UIDNEXT (\d+)", st).group(1))
    typ, data = imap.select(quote(name), readonly=True)
    if typ != "OK":
        raise SystemExit(f"EXAMINE {name}: {data}")
    msgs = []
    if int(data[0]) > 0:
        for item in check(imap.fetch("1:*", "(UID FLAGS RFC822.SIZE)"), "FETCH"):
            text = item.decode() if isinstance(item, bytes) else item[0].decode()
            uid = int(re.search(r"UID (\d+)", text).group(1))
            size = int(re.search(r"RFC822\.SIZE (\d+)", text).group(1))
            flags = re.search(r"FLAGS \((.*?)\)", text).group(1).split()
            msgs.append({"uid": uid, "flags": sorted(f for f in flags if f != "\\Recent"), "size": size})
    check(imap.close(), "CLOSE")
    msgs.sort(key=lambda m: m["uid"])
    return {"uidvalidity": validity, "uidnext": uidnext, "messages": msgs}


def report(imap, host, pop3_port, user, password):
    listed = check(imap.list(), "LIST")
    folders = names(listed)
    noselect = names(listed, noselect=True)
    subscribed = names(check(imap.lsub(), "LSUB"))
    boxes = {f: mailbox(imap, f) for f in folders}
    imap.logout()
    pop = poplib.POP3(host, pop3_port, timeout=30)
    pop.user(user)
    pop.pass_(password)
    uidl = []
    for line in pop.uidl()[1]:
        n, u = line.decode().split()
        uidl.append([int(n), u])
    pop.quit()
    return {"folders": folders, "noselect": noselect, "subscribed": subscribed, "mailboxes": boxes, "uidl": uidl}


def main():
    mode, host, imap_port, pop3_port, user, password = sys.argv[1:7]
    imap = imaplib.IMAP4(host, int(imap_port), timeout=30)
    check(imap.login(user, password), "LOGIN")
    if mode == "write":
        write(imap)
    elif mode != "read":
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(report(imap, host, int(pop3_port), user, password)))


if __name__ == "__main__":
    main()
