#!/usr/bin/env python3
"""Reads a Maildir with Python's own mailbox.Maildir (a reader postern did not write)
and prints one JSON object per message, oldest first: the folder it sits in (new/cur),
selected headers, the decoded text of the first text/* part, and the raw bytes in base64.

usage: maildir_read.py MAILDIR
"""
import base64
import json
import mailbox
import sys
from email import policy


def text_of(msg):
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            return part.get_content()
    return None


def main():
    md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
    out = []
    for key in md.keys():
        m = md.get_message(key)
        raw = md.get_bytes(key)
        parsed = mailbox.email.message_from_bytes(raw, policy=policy.default)
        out.append({
            "key": key,
            "subdir": m.get_subdir(),
            "date": m.get_date(),
            "subject": parsed["Subject"],
            "from": parsed["From"],
            "return_path": parsed["Return-Path"],
            "delivered_to": parsed.get_all("Delivered-To") or [],
            "x_original_to": parsed["X-Original-To"],
            "text": text_of(parsed),
            "raw_b64": base64.b64encode(raw).decode(),
        })
    out.sort(key=lambda m: (m["date"], m["key"]))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
