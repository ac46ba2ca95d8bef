#!/usr/bin/env python3
"""Independent inbound-authentication verdicts and a source-address SMTP client.

  auth_check.py expect MSG --ns HOST:PORT --ip IP --helo H --mail-from ADDR
      prints JSON with what pyspf, dkimpy, dnspython and authheaders compute for the
      message: spf_mailfrom, spf_helo, iprev, dkim [{d, s, pass}], arc, dmarc, dmarc_policy
  auth_check.py send MSG --port P --source IP --helo H --mail-from ADDR --rcpt ADDR
      sends MSG with smtplib from source address IP and prints the reply to DATA
      as JSON {"code": N, "text": "..."}
  auth_check.py results MSG --authserv-id ID
      parses every Authentication-Results field of MSG with authres (an RFC 8601 parser
      nobody here wrote); prints JSON {"ours": [[{method, result, props}]], "others": N}
  auth_check.py sign MSG --key PEM --selector S --domain D [-o OUT]     (dkimpy)
  auth_check.py arc-sign MSG --key PEM --selector S --domain D --srv-id ID [-o OUT]
      (dkimpy; MSG must carry an Authentication-Results header from ID)

DNS goes only to the loopback server given (dnspython's default resolver is replaced,
which is what pyspf uses). Requires dkimpy, pyspf, dnspython, authheaders.
"""
import argparse
import ipaddress
import json

import authres
import smtplib
import sys

import dkim
import dns.exception
import dns.rdatatype
import dns.resolver
import dns.reversename
import spf
from authheaders import dmarc_per_from
from authres import DKIMAuthenticationResult, SPFAuthenticationResult
from email.utils import getaddresses


def resolver(ns):
    host, _, port = ns.rpartition(":")
    if not host.startswith("127."):
        raise SystemExit(f"refusing non-loopback nameserver {host}")
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [host]
    r.port = int(port)
    r.lifetime = 5
    dns.resolver.default_resolver = r  # pyspf and authheaders resolve through this
    return r


def make_dnsfunc(r):
    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        try:
            ans = r.resolve(name, dns.rdatatype.TXT, lifetime=timeout, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as e:
            raise dkim.DnsTimeoutError(str(e))
        if ans.rrset is None:
            return None
        return b"".join(next(iter(ans.rrset)).strings)
    return dnsfunc


def iprev(r, ip):
    """RFC 8601 section 2.7.3: pass, fail (no forward match), permerror (no PTR), temperror.

    Loopback addresses are resolved the way RFC 6761 asks resolver libraries to (hickory,
    which postern uses, does): 127.in-addr.arpa and "localhost" are answered locally with
    PTR localhost. and A 127.0.0.1, never sent to DNS.
    """
    if ipaddress.ip_address(ip).is_loopback:
        names, forward = ["localhost."], {"localhost.": ["127.0.0.1"]}
    else:
        try:
            names = [str(p.target) for p in r.resolve(dns.reversename.from_address(ip), "PTR")]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return "permerror"
        except (dns.resolver.NoNameservers, dns.exception.Timeout):
            return "temperror"
        forward = {}
        for name in names[:2]:
            try:
                forward[name] = [a.address for a in r.resolve(name, "A")]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                forward[name] = []
            except (dns.resolver.NoNameservers, dns.exception.Timeout):
                return "temperror"
    return "pass" if any(ip in forward.get(n, []) for n in names[:2]) else "fail"


def dkim_results(msg, dnsfunc):
    d = dkim.DKIM(msg, minkey=1024)
    out = []
    nsig = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    for i in range(nsig):
        try:
            ok = bool(d.verify(idx=i, dnsfunc=dnsfunc))
        except dkim.DKIMException:
            ok = False
        out.append({"d": d.domain.decode() if d.domain else "", "s": d.selector.decode() if d.selector else "",
                    "pass": ok})
    return out


def dmarc(msg, spf_mailfrom, mail_from, helo, sigs):
    """authheaders' RFC 7489 evaluation, fed every passing signature in turn."""
    froms = [a for _, a in getaddresses([v.decode(errors="ignore").replace("\r\n", "")
                                          for k, v in dkim.rfc822_parse(msg)[0] if k.lower() == b"from"])]
    domains = {a.rpartition("@")[2].lower() for a in froms if "@" in a}
    if len(domains) != 1:
        return "none", ""
    from_domain = domains.pop()
    spf_id = mail_from or f"postmaster@{helo}"
    passing = [s["d"] for s in sigs if s["pass"]] or [None]
    best = None
    for d in passing:
        # dmarc_per_from rewrites smtp_mailfrom in place: a fresh object per call.
        spf_res = SPFAuthenticationResult(result=spf_mailfrom, smtp_mailfrom=spf_id)
        dk = DKIMAuthenticationResult(result="pass", header_d=d) if d else None
        # No dnsfunc: authheaders then queries through dnspython's default resolver (ours).
        result, _, _, policy = dmarc_per_from(from_domain, spf_result=spf_res, dkim_result=dk)
        if best is None or result == "pass":
            best = (result, policy)
    return best


def cmd_expect(a):
    global DNSFUNC
    r = resolver(a.ns)
    DNSFUNC = make_dnsfunc(r)
    msg = open(a.msg, "rb").read()
    spf_mailfrom = spf.check2(i=a.ip, s=a.mail_from, h=a.helo)[0] if a.mail_from else None
    spf_helo = spf.check2(i=a.ip, s=a.helo, h=a.helo)[0] if "." in a.helo and not a.helo.startswith("[") else None
    sigs = dkim_results(msg, DNSFUNC)
    cv, _, _ = dkim.arc_verify(msg, dnsfunc=DNSFUNC)
    result, policy = dmarc(msg, spf_mailfrom or spf_helo or "none", a.mail_from, a.helo, sigs)
    print(json.dumps({
        "spf_mailfrom": spf_mailfrom, "spf_helo": spf_helo, "iprev": iprev(r, a.ip), "dkim": sigs,
        "arc": cv.decode(), "dmarc": result, "dmarc_policy": policy,
    }))
    return 0


def cmd_send(a):
    msg = open(a.msg, "rb").read()
    s = smtplib.SMTP(local_hostname=a.helo, timeout=60, source_address=(a.source, 0))
    s.connect("127.0.0.1", a.port)
    s.ehlo(a.helo)
    s.mail(a.mail_from)
    code, text = s.rcpt(a.rcpt)
    if code == 250:
        try:
            code, text = s.data(msg)
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
    s.quit()
    print(json.dumps({"code": code, "text": text.decode(errors="replace")}))
    return 0


def cmd_results(a):
    headers, _ = dkim.rfc822_parse(open(a.msg, "rb").read())
    ours, others = [], 0
    for name, value in headers:
        if name.lower() != b"authentication-results":
            continue
        h = authres.AuthenticationResultsHeader.parse(
            "Authentication-Results: " + value.decode().replace("\r\n", "").strip())
        if h.authserv_id.lower() != a.authserv_id.lower():
            others += 1
            continue
        ours.append([{"method": r.method, "result": r.result,
                      "props": {f"{p.type}.{p.name}": p.value for p in r.properties}} for r in h.results])
    print(json.dumps({"ours": ours, "others": others}))
    return 0


def write(a, data):
    out = open(a.out, "wb") if a.out else sys.stdout.buffer
    out.write(data)
    return 0


def cmd_sign(a):
    msg = open(a.msg, "rb").read()
    sig = dkim.sign(msg, a.selector.encode(), a.domain.encode(), open(a.key, "rb").read(),
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return write(a, sig + msg)


def cmd_arc_sign(a):
    msg = open(a.msg, "rb").read()
    lines = dkim.arc_sign(msg, a.selector.encode(), a.domain.encode(), open(a.key, "rb").read(),
                          a.srv_id.encode(), include_headers=[b"from", b"to", b"subject", b"date"])
    return write(a, b"".join(lines) + msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    e = sp.add_parser("expect")
    s = sp.add_parser("send")
    for p in (e, s):
        p.add_argument("msg")
        p.add_argument("--helo", required=True)
        p.add_argument("--mail-from", default="")
    e.add_argument("--ns", required=True)
    e.add_argument("--ip", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--source", required=True)
    s.add_argument("--rcpt", required=True)
    r = sp.add_parser("results")
    r.add_argument("msg")
    r.add_argument("--authserv-id", required=True)
    for name in ("sign", "arc-sign"):
        g = sp.add_parser(name)
        g.add_argument("msg")
        g.add_argument("--key", required=True)
        g.add_argument("--selector", required=True)
        g.add_argument("--domain", required=True)
        g.add_argument("-o", "--out")
        if name == "arc-sign":
            g.add_argument("--srv-id", required=True)
    a = ap.parse_args()
    return {"expect": cmd_expect, "send": cmd_send, "sign": cmd_sign, "arc-sign": cmd_arc_sign,
            "results": cmd_results}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
