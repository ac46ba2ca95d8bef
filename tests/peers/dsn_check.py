#!/usr/bin/env python3
"""Parse a DSN (RFC 3464 multipart/report) from stdin with Python's `email` package and
print what it saw as JSON, so tests can compare against a parser nobody here wrote.

  dsn_check.py < dsn.eml
Output keys: headers, content_type, report_type, defects, parts (content types in order),
per_message (fields of the first delivery-status block), recipients (one dict per block),
returned (content type, subject, message-id and body of the third part).
"""
import email
import email.policy
import json
import sys


def fields(block):
    return {k.lower(): str(v) for k, v in block.items()}


def main():
    raw = sys.stdin.buffer.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "headers": {k.lower(): str(v) for k, v in msg.items()},
        "content_type": msg.get_content_type(),
        "report_type": msg.get_param("report-type"),
        "defects": [type(d).__name__ for d in msg.defects],
        "parts": [],
        "per_message": {},
        "recipients": [],
        "returned": None,
    }
    for part in msg.iter_parts():
        ctype = part.get_content_type()
        out["parts"].append(ctype)
        out["defects"] += [type(d).__name__ for d in part.defects]
        if ctype == "text/plain":
            out["text"] = part.get_content()
        elif ctype == "message/delivery-status":
            # email parses the body into one header block per group (RFC 3464 §2.1)
            blocks = part.get_payload()
            out["per_message"] = fields(blocks[0])
            out["recipients"] = [fields(b) for b in blocks[1:]]
        elif ctype == "message/rfc822":
            inner = part.get_payload()[0]
            out["returned"] = {
                "type": ctype,
                "subject": str(inner["subject"]),
                "message_id": str(inner["message-id"]),
                "body": inner.get_payload(),
            }
        elif ctype == "text/rfc822-headers":
            inner = email.message_from_string(part.get_content(), policy=email.policy.default)
            out["returned"] = {"type": ctype, "subject": str(inner["subject"]),
                               "message_id": str(inner["message-id"]), "body": None}
    json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
