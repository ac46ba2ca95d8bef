#!/usr/bin/env python3
"""Drives QRESYNC (RFC 7162 §3.2) the same way on any server and prints what it saw as
JSON, so tests/imap_dovecot.rs can run it against Dovecot and postern serving copies of
the same Maildir and compare.

    imap_qresync.py HOST PORT USER PASSWORD

Session A enables QRESYNC and selects INBOX (keeping UIDVALIDITY, HIGHESTMODSEQ and the
UIDs); session B, without QRESYNC, flags one message, unflags another and expunges a
third; A's NOOP then reports them (VANISHED, FETCH); session C comes back with A's state
(SELECT ... (QRESYNC (uidvalidity modseq known-uids))) and asks UID FETCH ... (CHANGEDSINCE
modseq VANISHED); A expunges one more. Mod-sequence values differ between servers (each
counts its own), so only UIDs and flags are kept; \\Recent is left out.
"""
import json
import re
import socket
import sys


class Conn:
    def __init__(self, host, port, user, password):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""
        self.n = 0
        self.line()
        self.cmd('LOGIN "%s" "%s"' % (user, password))

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        """Sends one command; returns the untagged lines before its tagged OK."""
        self.n += 1
        tag = "Q%d" % self.n
        self.sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                assert line.startswith(tag + " OK"), (text, line)
                return lines
            lines.append(line)


def code(lines, name):
    for l in lines:
        m = re.search(r"\[%s (\d+)\]" % name, l)
        if m:
            return int(m.group(1))
    raise AssertionError("no %s in %r" % (name, lines))


def uids(text):
    """A UID set as a sorted list."""
    out = []
    for part in text.split(","):
        a, _, b = part.partition(":")
        out.extend(range(int(a), int(b or a) + 1))
    return sorted(out)


def updates(lines):
    """VANISHED and FETCH responses as data: UIDs gone, {uid: flags} changed."""
    out = {"vanished": [], "vanished_earlier": [], "fetch": {}, "expunge_lines": 0}
    for l in lines:
        m = re.match(r"\* VANISHED (\(EARLIER\) )?([\d:,]+)$", l)
        if m:
            out["vanished_earlier" if m.group(1) else "vanished"] += uids(m.group(2))
            continue
        if re.match(r"\* \d+ EXPUNGE$", l):
            out["expunge_lines"] += 1
            continue
        m = re.match(r"\* \d+ FETCH \((.*)\)$", l)
        if m:
            uid = re.search(r"UID (\d+)", m.group(1)).group(1)
            flags = re.search(r"FLAGS \(([^)]*)\)", m.group(1)).group(1).split()
            out["fetch"][uid] = sorted(f for f in flags if f != "\\Recent")
    out["vanished"].sort()
    out["vanished_earlier"].sort()
    return out


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    out = {}
    a = Conn(host, port, user, password)
    out["enable"] = a.cmd("ENABLE QRESYNC")
    sel = a.cmd("SELECT INBOX")
    validity, highest = code(sel, "UIDVALIDITY"), code(sel, "HIGHESTMODSEQ")
    known = [int(u) for l in a.cmd("UID SEARCH ALL") if l.startswith("* SEARCH") for u in l.split()[2:]]
    known_set = ",".join(str(u) for u in known)
    out["known"] = known
    flag, unflag, gone = known[1], known[4], known[2]

    b = Conn(host, port, user, password)
    b.cmd("SELECT INBOX")
    b.cmd("UID STORE %d +FLAGS.SILENT (\\Flagged)" % flag)
    b.cmd("UID STORE %d -FLAGS.SILENT (\\Seen)" % unflag)
    b.cmd("UID STORE %d +FLAGS.SILENT (\\Deleted)" % gone)
    out["b_expunge"] = updates(b.cmd("EXPUNGE"))

    out["a_noop"] = updates(a.cmd("NOOP"))

    c = Conn(host, port, user, password)
    c.cmd("ENABLE QRESYNC")
    out["c_select"] = updates(c.cmd("SELECT INBOX (QRESYNC (%d %d %s))" % (validity, highest, known_set)))
    out["c_fetch"] = updates(c.cmd("UID FETCH %s (FLAGS) (CHANGEDSINCE %d VANISHED)" % (known_set, highest)))
    reselect = c.cmd("SELECT INBOX (QRESYNC (%d %d %s))" % (validity + 1, highest, known_set))
    out["c_stale_validity"] = updates(reselect)
    out["c_closed"] = len([l for l in reselect if l.startswith("* OK [CLOSED]")])

    a.cmd("UID STORE %d +FLAGS.SILENT (\\Deleted)" % known[0])
    out["a_expunge"] = updates(a.cmd("EXPUNGE"))
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
