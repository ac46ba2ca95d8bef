#!/usr/bin/env python3
"""POP3 client for tests: Python's poplib over POP3S, STLS or plain POP3.

    pop3_client.py --port P --mode ssl|stls|plain [--cafile CERT] --user U --password W ACTION...

Actions run in order on one session (logged in with USER/PASS unless the first action is
an `auth-*` one or `nologin`): capa stat list uidl retr:N top:N:L dele:N rset noop quit
auth-ir (AUTH PLAIN with initial response) auth-cont (AUTH PLAIN, response after `+ `)
badlogins:N (N logins with a wrong password, reconnecting whenever the server closes).
Each action prints one JSON line: {"action", "ok", "resp", "data"} or {"action", "error"}.
Without `quit` the connection is closed without QUIT.
"""
import argparse, base64, json, poplib, ssl, sys


def connect(a):
    ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
    if a.mode == "ssl":
        return poplib.POP3_SSL("127.0.0.1", a.port, context=ctx, timeout=30)
    p = poplib.POP3("127.0.0.1", a.port, timeout=30)
    if a.mode == "stls":
        p.stls(context=ctx)
    return p


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def auth_plain(p, user, password, initial):
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    if initial:
        return p._shortcmd("AUTH PLAIN " + token)
    p._putcmd("AUTH PLAIN")
    cont = p._getline()[0]
    if not cont.startswith(b"+ ") and cont != b"+":
        raise poplib.error_proto(cont)
    return p._shortcmd(token)


def bad_logins(a, n):
    results, p = [], None
    for _ in range(n):
        try:
            if p is None:
                p = connect(a)
            p.user(a.user)
            p.pass_("wrong-" + a.password)
            results.append("+OK")
        except poplib.error_proto as e:
            results.append(text(e.args[0]))
        except (OSError, EOFError) as e:
            results.append("closed")
            p = None
    return results


def run(p, a, action):
    name, _, arg = action.partition(":")
    if name == "raw":
        return {"resp": text(p._shortcmd(arg))}
    nums = [int(x) for x in arg.split(":")] if arg else []
    if name == "capa":
        return {"data": {k: v for k, v in p.capa().items()}}
    if name == "stat":
        return {"data": list(p.stat())}
    if name in ("list", "uidl"):
        resp, lines, _ = getattr(p, name)(*nums) if not nums else (getattr(p, name)(*nums), [], 0)
        return {"resp": text(resp), "data": [text(l) for l in lines]}
    if name in ("retr", "top"):
        resp, lines, octets = p.retr(*nums) if name == "retr" else p.top(*nums)
        data = b"".join(l + b"\r\n" for l in lines)
        return {"resp": text(resp), "data": base64.b64encode(data).decode(), "octets": octets}
    if name in ("dele", "rset", "noop", "quit"):
        return {"resp": text(getattr(p, name)(*nums))}
    if name == "auth-ir":
        return {"resp": text(auth_plain(p, a.user, a.password, True))}
    if name == "auth-cont":
        return {"resp": text(auth_plain(p, a.user, a.password, False))}
    if name == "badlogins":
        return {"data": bad_logins(a, nums[0])}
    raise SystemExit(f"unknown action {action}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["ssl", "stls", "plain"], required=True)
    ap.add_argument("--cafile")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("actions", nargs="*")
    a = ap.parse_args()
    if a.actions and a.actions[0].startswith("badlogins"):
        print(json.dumps({"action": a.actions[0], "ok": True, **run(None, a, a.actions[0])}))
        return
    p = connect(a)
    if not a.actions or a.actions[0] not in ("auth-ir", "auth-cont", "nologin"):
        p.user(a.user)
        p.pass_(a.password)
    for action in a.actions:
        if action == "nologin":
            continue
        try:
            out = {"action": action, "ok": True, **run(p, a, action)}
        except poplib.error_proto as e:
            out = {"action": action, "error": text(e.args[0])}
        print(json.dumps(out), flush=True)
    try:
        p.close()
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
