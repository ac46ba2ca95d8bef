//! Issue 7: mail received on the smtp listener carries one Authentication-Results header
//! whose every field agrees with independent verifiers for the same input — pyspf (SPF
//! for MAIL FROM and HELO), dkimpy (DKIM, ARC), dnspython (FCrDNS) and authheaders
//! (DMARC) — and DMARC p=reject is enforced with 550 at the end of DATA.
mod support;

use serde_json::Value;
use std::path::Path;
use support::TestServer;
use support::dns::Dnsmasq;
use support::inbound::{Envelope, Key, arc_sign, delivered, expect, keygen, message, method, results, send, sign};

/// Applied to the message file before it is sent (signing, forwarding, tampering).
type Prep = fn(&Path, &Key);

struct Case {
    name: &'static str,
    source: &'static str,
    helo: &'static str,
    mail_from: &'static str,
    from: &'static str,
    prep: Prep,
    /// Reply to DATA.
    reply: u16,
}

fn none(_: &Path, _: &Key) {}
fn sign_reject(m: &Path, k: &Key) {
    sign(m, k, "reject.org")
}
fn sign_signer(m: &Path, k: &Key) {
    sign(m, k, "signer.org")
}
fn sign_then_tamper(m: &Path, k: &Key) {
    sign(m, k, "monitor.org");
    edit(m, "original body", "altered body");
}
/// A mailing list: the author signed, the list rewrote Subject, recorded what it saw and
/// added an ARC set.
fn list_forward(m: &Path, k: &Key) {
    sign(m, k, "monitor.org");
    edit(m, "Subject: case", "Subject: [list] case");
    let text = std::fs::read_to_string(m).unwrap();
    let ar = "Authentication-Results: fwd.org; dkim=pass header.d=monitor.org; spf=pass smtp.mailfrom=monitor.org\r\n";
    std::fs::write(m, format!("{ar}{text}")).unwrap();
    arc_sign(m, k, "fwd.org");
}
fn list_forward_then_tamper(m: &Path, k: &Key) {
    list_forward(m, k);
    edit(m, "original body", "altered after sealing");
}

fn edit(m: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(m).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    std::fs::write(m, text.replacen(from, to, 1)).unwrap();
}

/// In the SPF records of reject.org, quarantine.org, monitor.org and mail.sender.org.
const GOOD: &str = "127.0.0.10";
/// In no SPF record.
const OTHER: &str = "127.0.0.11";
/// In pass.org's SPF record; the one address whose FCrDNS passes (PTR localhost.).
const LOCALHOST: &str = "127.0.0.1";
const HELO: &str = "mail.sender.org";

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "aligned", source: GOOD, helo: HELO, mail_from: "a@reject.org", from: "a@reject.org", prep: sign_reject, reply: 250 },
    Case { name: "relaxed", source: GOOD, helo: HELO, mail_from: "b@bounces.reject.org", from: "a@reject.org", prep: none, reply: 250 },
    Case { name: "forwarded", source: OTHER, helo: HELO, mail_from: "a@reject.org", from: "a@reject.org", prep: sign_reject, reply: 250 },
    Case { name: "third_party", source: OTHER, helo: HELO, mail_from: "a@reject.org", from: "a@reject.org", prep: sign_signer, reply: 550 },
    Case { name: "spoofed", source: OTHER, helo: HELO, mail_from: "a@reject.org", from: "a@reject.org", prep: none, reply: 550 },
    Case { name: "quarantined", source: OTHER, helo: HELO, mail_from: "a@quarantine.org", from: "a@quarantine.org", prep: none, reply: 250 },
    Case { name: "monitored", source: OTHER, helo: HELO, mail_from: "a@monitor.org", from: "a@monitor.org", prep: none, reply: 250 },
    Case { name: "softfail", source: GOOD, helo: HELO, mail_from: "a@softfail.org", from: "a@softfail.org", prep: none, reply: 250 },
    Case { name: "neutral", source: GOOD, helo: HELO, mail_from: "a@neutral.org", from: "a@neutral.org", prep: none, reply: 250 },
    Case { name: "nospf", source: GOOD, helo: HELO, mail_from: "a@nospf.org", from: "a@nospf.org", prep: none, reply: 250 },
    Case { name: "permerror", source: GOOD, helo: HELO, mail_from: "a@permerror.org", from: "a@permerror.org", prep: none, reply: 250 },
    Case { name: "lookup_limit", source: GOOD, helo: HELO, mail_from: "a@limit.org", from: "a@limit.org", prep: none, reply: 250 },
    Case { name: "hardfail", source: GOOD, helo: HELO, mail_from: "a@hardfail.org", from: "a@hardfail.org", prep: none, reply: 250 },
    Case { name: "tampered", source: GOOD, helo: HELO, mail_from: "a@monitor.org", from: "a@monitor.org", prep: sign_then_tamper, reply: 250 },
    Case { name: "null_sender", source: GOOD, helo: HELO, mail_from: "", from: "a@monitor.org", prep: none, reply: 250 },
    Case { name: "localhost", source: LOCALHOST, helo: HELO, mail_from: "a@pass.org", from: "a@pass.org", prep: none, reply: 250 },
    Case { name: "literal_helo", source: "127.0.0.12", helo: "[127.0.0.12]", mail_from: "a@pass.org", from: "a@pass.org", prep: none, reply: 250 },
    Case { name: "arc_pass", source: OTHER, helo: "fwd.org", mail_from: "list@fwd.org", from: "a@monitor.org", prep: list_forward, reply: 250 },
    Case { name: "arc_broken", source: OTHER, helo: "fwd.org", mail_from: "list@fwd.org", from: "a@monitor.org", prep: list_forward_then_tamper, reply: 250 },
];

#[test]
fn authentication_results_agree_with_independent_verifiers() {
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path());
    let dns = Dnsmasq::start(&support::inbound::zone::zone(&key.public_b64));
    let server = TestServer::builder()
        .listeners(&["smtp"])
        .list("relay.trusted_networks", &[])
        .set("inbound.checks", true)
        .set("inbound.resolver", dns.spec())
        .set("delivery.resolver", dns.spec())
        .start();
    let mut problems = Vec::new();
    for case in CASES {
        let msg = message(work.path(), case.name, case.from, "", "original body\r\n");
        (case.prep)(&msg, &key);
        let env = Envelope { source: case.source, helo: case.helo, mail_from: case.mail_from, rcpt: case.name.into() };
        let want = expect(&dns, &env, &msg);
        let (code, text) = send(&server, &env, &msg);
        if code != case.reply {
            problems.push(format!("{}: reply {code} {text}, expected {}; verifiers: {want}", case.name, case.reply));
            continue;
        }
        if code == 550 {
            check_refused(&server, case, &text, &want, &mut problems);
            continue;
        }
        let got = results(&delivered(&server, case.name));
        let ours = got["ours"].as_array().unwrap();
        if ours.len() != 1 {
            problems.push(format!("{}: {} Authentication-Results for mx.test: {got}", case.name, ours.len()));
            continue;
        }
        let mismatches = compare(ours[0].as_array().unwrap(), &want);
        problems.extend(mismatches.into_iter().map(|m| format!("{}: {m}\n  ours: {}\n  verifiers: {want}", case.name, ours[0])));
    }
    assert!(problems.is_empty(), "{} of {} cases disagree:\n{}", problems.len(), CASES.len(), problems.join("\n"));
}

/// A 550 must be the DMARC reject the verifiers predict, and nothing may be delivered.
fn check_refused(server: &TestServer, case: &Case, text: &str, want: &Value, problems: &mut Vec<String>) {
    if !text.starts_with("5.7.1") || want["dmarc"] != "fail" || want["dmarc_policy"] != "reject" {
        problems.push(format!("{}: refused with {text:?} but verifiers say {want}", case.name));
    }
    let queued = server.queue_json().iter().any(|m| m.rcpt_addresses().iter().any(|a| a.starts_with(case.name)));
    let dir = server.dir().join("data/mail/example.com").join(case.name);
    if queued || dir.exists() {
        problems.push(format!("{}: refused, yet queued or delivered", case.name));
    }
}

/// Each field of our results against the verifiers' verdicts.
fn compare(ours: &[Value], want: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let mut check = |what: &str, got: Option<&Value>, expected: &Value| {
        let got = got.cloned().unwrap_or(Value::Null);
        if &got != expected {
            bad.push(format!("{what}: ours {got}, verifiers {expected}"));
        }
    };
    let single = |m: &str| method(ours, m).first().map(|r| &r["result"]);
    check("iprev", single("iprev"), &want["iprev"]);
    for (prop, key) in [("smtp.mailfrom", "spf_mailfrom"), ("smtp.helo", "spf_helo")] {
        let r = method(ours, "spf").into_iter().find(|r| r["props"].get(prop).is_some()).map(|r| &r["result"]);
        check(&format!("spf {prop}"), r, &want[key]);
    }
    check("arc", single("arc"), &want["arc"]);
    check("dmarc", single("dmarc"), &want["dmarc"]);
    if want["dmarc"] != "none" {
        let policy = method(ours, "dmarc").first().and_then(|r| r["props"].get("policy.dmarc"));
        check("policy.dmarc", policy, &want["dmarc_policy"]);
    }
    let dkim = method(ours, "dkim");
    let sigs = want["dkim"].as_array().unwrap();
    if sigs.is_empty() {
        check("dkim", dkim.first().map(|r| &r["result"]), &Value::from("none"));
    }
    for sig in sigs {
        let same = |r: &&&Value| signing_domain(r) == sig["d"].as_str() && r["props"]["header.s"] == sig["s"];
        let passed = dkim.iter().find(same).map(|r| Value::from(r["result"] == "pass"));
        check(&format!("dkim d={} pass", sig["d"]), passed.as_ref(), &sig["pass"]);
    }
    bad
}

/// header.d, or the domain of header.i (mail-auth names the AUID, as Gmail does).
fn signing_domain(r: &Value) -> Option<&str> {
    let props = &r["props"];
    props["header.d"].as_str().or_else(|| props["header.i"].as_str().and_then(|i| i.rsplit_once('@')).map(|(_, d)| d))
}
