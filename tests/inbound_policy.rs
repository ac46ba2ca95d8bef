//! Issue 7, policy side: `[inbound]` settings decide what DMARC and SPF failures and DNS
//! trouble do (reject, quarantine header, defer, accept); forged Authentication-Results
//! for our authserv-id are removed; trusted and authenticated mail is not checked; ARC
//! sealing produces a chain dkimpy validates.
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::dns::Dnsmasq;
use support::inbound::{AUTHSERV_ID, Envelope, Key, arc_sign, delivered, expect, keygen, message, method, results, send, sign};
use support::{ServerBuilder, TestServer};
use toml::Value;

struct Setup {
    work: tempfile::TempDir,
    key: Key,
    dns: Dnsmasq,
}

fn setup() -> Setup {
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path());
    let dns = Dnsmasq::start(&support::inbound::zone::zone(&key.public_b64));
    Setup { work, key, dns }
}

/// An smtp listener for untrusted clients, checks asking `resolver`.
fn untrusted(resolver: &str) -> ServerBuilder {
    TestServer::builder()
        .listeners(&["smtp"])
        .list("relay.trusted_networks", &[])
        .set("inbound.checks", true)
        .set("inbound.resolver", resolver)
        .set("delivery.resolver", resolver)
}

fn env(source: &'static str, mail_from: &'static str, rcpt: &str) -> Envelope {
    Envelope { source, helo: "mail.sender.org", mail_from, rcpt: rcpt.into() }
}

fn msg(s: &Setup, name: &str, from: &str) -> PathBuf {
    message(s.work.path(), name, from, "", "original body\r\n")
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn quarantine_header(delivered: &Path) -> Option<String> {
    text(delivered).lines().find_map(|l| l.strip_prefix("X-Postern-Quarantine: ").map(str::to_string))
}

#[track_caller]
fn assert_not_delivered(server: &TestServer, rcpt: &str) {
    std::thread::sleep(Duration::from_millis(300));
    assert!(!server.dir().join("data/mail/example.com").join(rcpt).exists(), "{rcpt} was delivered");
    assert!(server.queue_json().is_empty(), "something was queued");
}

#[test]
fn dmarc_reject_setting_enforce_quarantine_ignore() {
    let s = setup();
    let spoof = env("127.0.0.11", "a@reject.org", "spoof");
    let m = msg(&s, "spoof", "a@reject.org");
    let enforce = untrusted(&s.dns.spec()).start();
    let (code, reply) = send(&enforce, &spoof, &m);
    assert_eq!((code, &reply[..5]), (550, "5.7.1"), "{reply}");
    assert_not_delivered(&enforce, "spoof");

    let quarantine = untrusted(&s.dns.spec()).set("inbound.dmarc_reject", "quarantine").set("inbound.spf_fail", "accept").start();
    assert_eq!(send(&quarantine, &spoof, &m).0, 250);
    let why = quarantine_header(&delivered(&quarantine, "spoof"));
    assert_eq!(why.as_deref(), Some("dmarc=fail policy.dmarc=reject header.from=reject.org"));

    let ignore = untrusted(&s.dns.spec()).set("inbound.dmarc_reject", "ignore").set("inbound.spf_fail", "accept").start();
    assert_eq!(send(&ignore, &spoof, &m).0, 250);
    let file = delivered(&ignore, "spoof");
    assert_eq!(quarantine_header(&file), None);
    let ours = results(&file)["ours"][0].as_array().unwrap().clone();
    assert_eq!(method(&ours, "dmarc")[0]["result"], "fail", "{ours:?}");
}

#[test]
fn dmarc_quarantine_and_spf_fail_get_the_quarantine_header() {
    let s = setup();
    let server = untrusted(&s.dns.spec()).start();
    let m = msg(&s, "quar", "a@quarantine.org");
    assert_eq!(send(&server, &env("127.0.0.11", "a@quarantine.org", "quar"), &m).0, 250);
    let why = quarantine_header(&delivered(&server, "quar")).expect("quarantine header");
    assert!(why.starts_with("dmarc=fail policy.dmarc=quarantine header.from=quarantine.org"), "{why}");

    let m = msg(&s, "hard", "a@hardfail.org");
    assert_eq!(send(&server, &env("127.0.0.10", "a@hardfail.org", "hard"), &m).0, 250);
    assert_eq!(quarantine_header(&delivered(&server, "hard")).as_deref(), Some("spf=fail smtp.mailfrom=a@hardfail.org"));

    let m = msg(&s, "clean", "a@reject.org");
    assert_eq!(send(&server, &env("127.0.0.10", "a@reject.org", "clean"), &m).0, 250);
    assert_eq!(quarantine_header(&delivered(&server, "clean")), None);
}

#[test]
fn spf_fail_reject_spares_dkim_aligned_forwards() {
    let s = setup();
    let server = untrusted(&s.dns.spec()).set("inbound.spf_fail", "reject").start();
    let m = msg(&s, "hard", "a@hardfail.org");
    let (code, reply) = send(&server, &env("127.0.0.10", "a@hardfail.org", "hard"), &m);
    assert_eq!((code, &reply[..6]), (550, "5.7.23"), "{reply}");
    assert_not_delivered(&server, "hard");
    // SPF fails (127.0.0.11 is not in monitor.org's record) but DKIM passes aligned.
    let m = msg(&s, "fwd", "a@monitor.org");
    sign(&m, &s.key, "monitor.org");
    assert_eq!(send(&server, &env("127.0.0.11", "a@monitor.org", "fwd"), &m).0, 250);
    delivered(&server, "fwd");
}

#[test]
fn dns_failure_is_a_temperror_deferred_or_accepted() {
    let s = setup();
    // broken.example lies outside every local zone: dnsmasq answers REFUSED.
    let e = env("127.0.0.10", "a@broken.example", "temp");
    let m = msg(&s, "temp", "a@broken.example");
    let want = expect(&s.dns, &e, &m);
    assert_eq!(want["spf_mailfrom"], "temperror", "pyspf: {want}");

    let defer = untrusted(&s.dns.spec()).start();
    let (code, reply) = send(&defer, &e, &m);
    assert_eq!((code, &reply[..5]), (451, "4.7.5"), "{reply}");
    assert_not_delivered(&defer, "temp");

    let accept = untrusted(&s.dns.spec()).set("inbound.temperror", "accept").start();
    assert_eq!(send(&accept, &e, &m).0, 250);
    let got = results(&delivered(&accept, "temp"));
    let ours = got["ours"][0].as_array().unwrap();
    let spf = method(ours, "spf").into_iter().find(|r| r["props"].get("smtp.mailfrom").is_some()).unwrap();
    assert_eq!(spf["result"], want["spf_mailfrom"]);
    assert_eq!(method(ours, "dmarc")[0]["result"], "temperror", "{got}");
}

#[test]
fn unanswered_dns_times_out_within_the_budget() {
    let s = setup();
    // A DNS server that reads queries and never answers.
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = untrusted(&hole.local_addr().unwrap().to_string()).set("inbound.timeout", "2s").start();
    let m = msg(&s, "slow", "a@reject.org");
    let started = Instant::now();
    let (code, reply) = send(&server, &env("127.0.0.10", "a@reject.org", "slow"), &m);
    let took = started.elapsed();
    assert_eq!((code, &reply[..5]), (451, "4.7.5"), "{reply}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "took {took:?}");
}

const FORGED: &str = "Authentication-Results: mx.test; dkim=pass header.d=bank.org; dmarc=pass header.from=bank.org\r\n\
    Authentication-Results: (folded\r\n  and commented) MX.TEST;\r\n\tspf=pass smtp.mailfrom=ceo@bank.org\r\n\
    Authentication-Results: other.org; spf=pass smtp.mailfrom=a@other.org\r\n\
    X-Postern-Quarantine: none, trust me\r\n";

#[test]
fn forged_authentication_results_are_removed() {
    let s = setup();
    let server = untrusted(&s.dns.spec()).start();
    let m = message(s.work.path(), "forged", "a@reject.org", FORGED, "original body\r\n");
    assert_eq!(send(&server, &env("127.0.0.10", "a@reject.org", "forged"), &m).0, 250);
    let file = delivered(&server, "forged");
    let got = results(&file);
    assert_eq!(got["ours"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["others"], 1, "{got}");
    let t = text(&file);
    assert!(!t.contains("bank.org") && !t.contains("trust me"), "{t}");
    assert!(t.contains("Authentication-Results: other.org;"), "{t}");
}

#[test]
fn trusted_clients_and_disabled_checks_add_no_results() {
    let s = setup();
    // Inside our domain (trusted network): nothing checked, nothing removed.
    let trusted = TestServer::builder()
        .listeners(&["smtp"])
        .set("inbound.checks", true)
        .set("inbound.resolver", s.dns.spec())
        .set("delivery.resolver", s.dns.spec())
        .start();
    let m = message(s.work.path(), "inside", "a@reject.org", FORGED, "original body\r\n");
    assert_eq!(send(&trusted, &env("127.0.0.11", "a@reject.org", "inside"), &m).0, 250);
    let t = text(&delivered(&trusted, "inside"));
    assert!(!t.contains("iprev=") && t.contains("header.d=bank.org"), "{t}");
    // Outside, checks off: no results of ours, but forged ones still go.
    let off = untrusted(&s.dns.spec()).set("inbound.checks", false).start();
    assert_eq!(send(&off, &env("127.0.0.11", "a@reject.org", "inside"), &m).0, 250);
    let t = text(&delivered(&off, "inside"));
    assert!(!t.contains("iprev=") && !t.contains("bank.org") && t.contains("other.org"), "{t}");
}

#[test]
fn arc_seal_extends_the_chain_and_dkimpy_validates_it() {
    let s = setup();
    let mut key = toml::Table::new();
    key.insert("domain".into(), "seal.org".into());
    key.insert("selector".into(), "sel".into());
    key.insert("key".into(), s.key.pem.to_str().unwrap().into());
    let server = untrusted(&s.dns.spec())
        .set("inbound.arc_seal", true)
        .set("dkim", Value::Array(vec![Value::Table(key)]))
        .start();
    // First hop: nothing sealed before us. Second: a list already added ARC i=1.
    let first = msg(&s, "first", "a@monitor.org");
    let second = msg(&s, "second", "a@monitor.org");
    sign(&second, &s.key, "monitor.org");
    let list = std::fs::read_to_string(&second).unwrap();
    let ar = "Authentication-Results: fwd.org; dkim=pass header.d=monitor.org\r\n";
    std::fs::write(&second, format!("{ar}{list}")).unwrap();
    arc_sign(&second, &s.key, "fwd.org");
    for (name, m, instance) in [("first", &first, "i=1"), ("second", &second, "i=2")] {
        let e = env("127.0.0.10", "a@monitor.org", name);
        assert_eq!(send(&server, &e, m).0, 250);
        let file = delivered(&server, name);
        let t = text(&file);
        let seal = t.lines().find(|l| l.starts_with("ARC-Seal:")).unwrap_or_else(|| panic!("no ARC-Seal: {t}"));
        assert!(seal.contains(instance) && t.contains("d=seal.org"), "{t}");
        assert!(t.contains(&format!("ARC-Authentication-Results: {instance}; {AUTHSERV_ID}")), "{t}");
        let verdict = expect(&s.dns, &e, &file);
        assert_eq!(verdict["arc"], "pass", "dkimpy on our sealed {name} message: {verdict}\n{t}");
    }
}
