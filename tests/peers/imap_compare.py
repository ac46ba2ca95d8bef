#!/usr/bin/env python3
"""Reads one IMAP account the same way on any server and prints what it saw as JSON, so
tests/imap_dovecot.rs can run it against Dovecot and postern serving copies of the same
Maildir and compare.

    imap_compare.py HOST PORT USER PASSWORD

Logs in with imaplib, EXAMINEs INBOX (read-only: the two runs must not change anything),
then for every UID fetches each item on its own (so item order in a server's reply does
not matter) and keeps the exact wire text of ENVELOPE/BODYSTRUCTURE/BODY and the exact
bytes of every BODY[section] (Latin-1 in the JSON), and runs a set of UID SEARCH keys.
\\Recent is left out of FLAGS: it belongs to a session, not to the Maildir.
"""
import imaplib
import json
import re
import sys

ITEMS = ["FLAGS", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE", "BODY"]
SECTIONS = [
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]", "BODY.PEEK[2.1]",
    "BODY.PEEK[2.2]", "BODY.PEEK[3]", "BODY.PEEK[1.1]",
    "BODY.PEEK[HEADER.FIELDS (From To Subject Date)]", "BODY.PEEK[HEADER.FIELDS (message-id X-Missing)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (Subject Received)]", "BODY.PEEK[2.HEADER.FIELDS (Subject)]",
    "BODY.PEEK[]<0.100>", "BODY.PEEK[]<10.20>", "BODY.PEEK[TEXT]<5.30>", "BODY.PEEK[1]<3.7>",
    "BODY.PEEK[]<100000.10>", "RFC822.HEADER", "RFC822.TEXT",
]
SEARCHES = [
    "ALL", "SEEN", "UNSEEN", "FLAGGED", "UNFLAGGED", "ANSWERED", "DELETED", "DRAFT",
    "KEYWORD $Label1", "UNKEYWORD $Label1", "KEYWORD Important",
    "FROM alice", "FROM example.com", "TO bob", "CC undisclosed", "BCC nobody",
    "SUBJECT hello", "SUBJECT attachment", "SUBJECT nested", 'SUBJECT "aus M"', "SUBJECT grusse", "SUBJECT munchen", "BODY CAFE", "FROM jorg", "BODY grusse",
    "BODY cafe", "BODY attached", "BODY original", "TEXT carol", "TEXT forwarded",
    'HEADER Message-ID "example.com"', 'HEADER X-Nothing ""', "HEADER Content-Type multipart",
    "LARGER 500", "SMALLER 300", "LARGER 100000",
    "SENTBEFORE 9-Dec-2026", "SENTON 9-Dec-2026", "SENTSINCE 10-Dec-2026",
    "BEFORE 1-Jan-2025", "SINCE 1-Jan-2025", "ON 15-Mar-2024",
    "UID 2:5", "1:3", "NOT SEEN", "OR FLAGGED ANSWERED", "NOT FROM alice", "OR SUBJECT hello BODY cafe",
    "UID 1:* NOT DELETED", "SEEN UNFLAGGED LARGER 200",
]
# Searched with CHARSET UTF-8 (8-bit literal).
UTF8_SEARCHES = [("SUBJECT", "Grüße"), ("BODY", "café"), ("FROM", "Jörg"), ("TEXT", "unicode")]


class Conn:
    def __init__(self, host, port, user, password):
        self.imap = imaplib.IMAP4(host, port)
        self.imap.login(user, password)
        self.n = 0

    def raw(self, command):
        """Sends one command, returns every byte up to and including its tagged reply."""
        self.n += 1
        tag = b"C%d" % self.n
        self.imap.send(tag + b" " + command + b"\r\n")
        buf = b""
        done = re.compile(rb"(^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n$")
        while not done.search(buf):
            chunk = self.imap.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed after %r" % buf[-200:])
            buf += chunk
        return buf, tag


def value_end(data, pos):
    """Index just past the IMAP value starting at data[pos]."""
    c = data[pos:pos + 1]
    if c == b"(":
        pos += 1
        while data[pos:pos + 1] != b")":
            if data[pos:pos + 1] == b" ":
                pos += 1
                continue
            pos = value_end(data, pos)
        return pos + 1
    if c == b'"':
        pos += 1
        while data[pos:pos + 1] != b'"':
            pos += 2 if data[pos:pos + 1] == b"\\" else 1
        return pos + 1
    if c == b"{":
        m = re.match(rb"\{(\d+)\}\r\n", data[pos:])
        return pos + m.end() + int(m.group(1))
    m = re.match(rb"[^ ()\r\n]+", data[pos:])
    return pos + m.end()


def literal_or_string(raw):
    """The bytes of an IMAP string value (NIL is None)."""
    if raw.startswith(b"{"):
        m = re.match(rb"\{(\d+)\}\r\n", raw)
        return raw[m.end():]
    if raw.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", raw[1:-1])
    if raw == b"NIL":
        return None
    return raw


def fetch_items(reply):
    """{item name: raw value bytes} from the FETCH response(s) in a reply."""
    items = {}
    for m in re.finditer(rb"\* \d+ FETCH \(", reply):
        pos = m.end()
        while reply[pos:pos + 1] not in (b")", b""):
            if reply[pos:pos + 1] == b" ":
                pos += 1
                continue
            nm = re.match(rb"[A-Z0-9.]+(\[[^\]]*\])?(<\d+>)?", reply[pos:])
            name = nm.group(0).decode()
            pos += nm.end() + 1
            end = value_end(reply, pos)
            items[name] = reply[pos:end]
            pos = end
    return items


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    c = Conn(host, port, user, password)
    typ, _ = c.imap.select("INBOX", readonly=True)
    assert typ == "OK", typ
    out = {"select": {}, "messages": {}, "search": {}}
    for key in ["EXISTS", "UIDVALIDITY", "UIDNEXT"]:
        v = c.imap.untagged_responses.get(key) or c.imap.response(key)[1]
        out["select"][key.lower()] = (v[-1] or b"").decode() if v else None
    flags = c.imap.untagged_responses.get("FLAGS", [b"()"])[-1].decode()
    out["select"]["flags"] = sorted(flags.strip("()").split())

    # Warm-up: Dovecot answers BODY/BODYSTRUCTURE of a plain 7-bit message in a canonical
    # form once it has parsed and cached it (a flag in its index); read everything once so
    # both servers are compared in their steady state.
    c.raw(b"FETCH 1:* (BODYSTRUCTURE)")
    reply, _ = c.raw(b"UID SEARCH ALL")
    uids = re.search(rb"\* SEARCH([ \d]*)\r\n", reply).group(1).split()
    for uid in uids:
        msg = {}
        for item in ITEMS + SECTIONS:
            reply, tag = c.raw(b"UID FETCH " + uid + b" (" + item.encode() + b")")
            if not re.search(tag + rb" OK", reply):
                msg[item] = "ERROR " + reply.decode("latin-1")
                continue
            items = fetch_items(reply)
            items.pop("UID", None)
            if len(items) != 1:
                msg[item] = "UNEXPECTED " + reply.decode("latin-1")
                continue
            (name, raw), = items.items()
            if item == "FLAGS":
                msg[item] = sorted(f for f in raw.decode().strip("()").split() if f != "\\Recent")
            elif item in ("RFC822.SIZE",):
                msg[item] = int(raw)
            elif item in ("INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE", "BODY"):
                msg[item] = raw.decode("latin-1")
            else:
                data = literal_or_string(raw)
                msg[item] = {"name": name, "data": None if data is None else data.decode("latin-1")}
        out["messages"][uid.decode()] = msg

    for key in SEARCHES:
        reply, tag = c.raw(b"UID SEARCH " + key.encode())
        m = re.search(rb"\* SEARCH([ \d]*)\r\n", reply)
        out["search"][key] = sorted(int(u) for u in m.group(1).split()) if m else "FAILED " + reply.decode("latin-1")
    for key, word in UTF8_SEARCHES:
        data = word.encode()
        reply, tag = c.raw(b"UID SEARCH CHARSET UTF-8 " + key.encode() + b" {%d+}\r\n" % len(data) + data)
        if b"+ " in reply.split(b"\r\n")[0] and b"LITERAL" not in reply:
            pass
        m = re.search(rb"\* SEARCH([ \d]*)\r\n", reply)
        out["search"]["CHARSET UTF-8 %s %s" % (key, word)] = sorted(int(u) for u in m.group(1).split()) if m else "FAILED " + reply.decode("latin-1")
    c.imap.logout()
    json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=True)


if __name__ == "__main__":
    main()
