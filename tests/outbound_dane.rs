//! DANE for SMTP (RFC 7672) end to end: `postern serve` delivers through a validating
//! unbound in front of NSD serving a zone signed by BIND's dnssec-signzone
//! (tests/support/dnssec.rs) to aiosmtpd receivers speaking STARTTLS with a test
//! certificate. The TLSA data is computed by openssl from that certificate.
//!
//! One world, one message per destination:
//! - good.dane.test: TLSA 3 1 1 of the receiver's key -> delivered, `tls=dane`;
//! - ta.dane.test: TLSA 2 0 1 of the test CA, receiver presents leaf + CA -> delivered, `tls=dane`;
//! - wrong.dane.test: TLSA 3 1 1 of another key -> deferred 4.7.5, nothing delivered;
//! - bogus.dane.test: the TLSA record changed after signing -> unbound says SERVFAIL,
//!   deferred 4.7.5, the receiver is never even asked;
//! - notls.dane.test: matching TLSA, but the server offers no STARTTLS -> deferred 4.7.4;
//! - pkix.dane.test: only a PKIX-EE (1 1 1) record, unusable for SMTP -> TLS still
//!   required but not authenticated (RFC 7672 §2.2): delivered, `tls=dane-only-encrypt`;
//! - plain.test (unsigned zone) with a wrong TLSA record -> insecure, ignored: delivered
//!   with opportunistic TLS.
mod support;

use std::time::Duration;

use support::TestServer;
use support::dnssec::{Tamper, ValidatingDns, cert_sha256, spki_sha256};
use support::mx::{PASSWORD, SENDER, USER, message, submit};
use support::pki::write_test_pki;
use support::rcv::Receiver;
use support::server::{log_lines, wait_log};

const WAIT: Duration = Duration::from_secs(30);
const GOOD: &str = "127.0.0.2";
const WRONG: &str = "127.0.0.3";
const BOGUS: &str = "127.0.0.4";
const PLAIN: &str = "127.0.0.5";
const TA: &str = "127.0.0.6";
const NOTLS: &str = "127.0.0.8";
const PKIX: &str = "127.0.0.9";

#[test]
fn dane_verifies_defers_and_falls_back() {
    let pki = tempfile::tempdir().unwrap();
    let hosts = ["mx-good.dane.test", "mx-wrong.dane.test", "mx-bogus.dane.test", "mx.plain.test", "mx-ta.dane.test"];
    write_test_pki(pki.path(), &hosts);
    let (cert, key) = (pki.path().join("cert.pem"), pki.path().join("key.pem"));
    let chain = pki.path().join("chain.pem");
    let chain_text = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(pki.path().join("ca.pem")).unwrap();
    std::fs::write(&chain, chain_text).unwrap();
    let spki = spki_sha256(&cert);
    let ca = cert_sha256(&pki.path().join("ca.pem"));
    let other = "0".repeat(63) + "1";

    let port = support::peers::free_port_on(&[GOOD, WRONG, BOGUS, PLAIN, TA, NOTLS, PKIX]);
    let tlsa = |host: &str| format!("_{port}._tcp.{host}");
    let signed = format!(
        "good.dane.test. IN MX 10 mx-good.dane.test.\n\
         mx-good.dane.test. IN A {GOOD}\n\
         {g}. IN TLSA 3 1 1 {spki}\n\
         wrong.dane.test. IN MX 10 mx-wrong.dane.test.\n\
         mx-wrong.dane.test. IN A {WRONG}\n\
         {w}. IN TLSA 3 1 1 {other}\n\
         bogus.dane.test. IN MX 10 mx-bogus.dane.test.\n\
         mx-bogus.dane.test. IN A {BOGUS}\n\
         {b}. IN TLSA 3 1 1 {other}\n\
         ta.dane.test. IN MX 10 mx-ta.dane.test.\n\
         mx-ta.dane.test. IN A {TA}\n\
         {t}. IN TLSA 2 0 1 {ca}\n\
         notls.dane.test. IN MX 10 mx-notls.dane.test.\n\
         mx-notls.dane.test. IN A {NOTLS}\n\
         {n}. IN TLSA 3 1 1 {spki}\n\
         pkix.dane.test. IN MX 10 mx-pkix.dane.test.\n\
         mx-pkix.dane.test. IN A {PKIX}\n\
         {p}. IN TLSA 1 1 1 {other}\n",
        g = tlsa("mx-good.dane.test"),
        w = tlsa("mx-wrong.dane.test"),
        b = tlsa("mx-bogus.dane.test"),
        t = tlsa("mx-ta.dane.test"),
        n = tlsa("mx-notls.dane.test"),
        p = tlsa("mx-pkix.dane.test"),
    );
    let unsigned = format!(
        "plain.test. IN MX 10 mx.plain.test.\nmx.plain.test. IN A {PLAIN}\n{}. IN TLSA 3 1 1 {other}\n",
        tlsa("mx.plain.test")
    );
    // Signed over `other`, served with the receiver's real key: only the signature is wrong.
    let bogus_owner = tlsa("mx-bogus.dane.test");
    let bogus_rdata = format!("3 1 1 {spki}");
    let dns = ValidatingDns::start(
        "dane.test",
        &signed,
        &unsigned,
        &[Tamper { owner: &bogus_owner, rtype: "TLSA", rdata: &bogus_rdata }],
    );

    let tls_args = ["--starttls", cert.to_str().unwrap(), key.to_str().unwrap()];
    let good = Receiver::start_on(GOOD, port, &tls_args);
    let wrong = Receiver::start_on(WRONG, port, &tls_args);
    let bogus = Receiver::start_on(BOGUS, port, &tls_args);
    let plain = Receiver::start_on(PLAIN, port, &tls_args);
    let ta = Receiver::start_on(TA, port, &["--starttls", chain.to_str().unwrap(), key.to_str().unwrap()]);
    let notls = Receiver::start_on(NOTLS, port, &[]);
    let pkix = Receiver::start_on(PKIX, port, &tls_args);

    let server = TestServer::builder()
        .set("delivery.resolver", dns.spec())
        .set("delivery.smtp_port", i64::from(port))
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .set("delivery.mta_sts", false)
        .set("delivery.timeout", "10s")
        .set("delivery.dane", true)
        .user(USER, PASSWORD)
        .start();

    let mut ids = std::collections::HashMap::new();
    for dom in ["good.dane.test", "wrong.dane.test", "bogus.dane.test", "plain.test", "ta.dane.test", "notls.dane.test", "pkix.dane.test"] {
        let to = format!("bob@{dom}");
        let id = submit(&server, SENDER, &[&to], &message(SENDER, &to, &format!("to {dom}"), "dane test"));
        ids.insert(dom, id);
    }

    let sent_good = wait_log(&server, &[&ids["good.dane.test"], "status=sent"], WAIT);
    assert!(sent_good.contains("tls=dane"), "{sent_good}");
    assert_eq!(good.wait_messages(1, WAIT, &server).len(), 1);

    let sent_ta = wait_log(&server, &[&ids["ta.dane.test"], "status=sent"], WAIT);
    assert!(sent_ta.contains("tls=dane"), "{sent_ta}");
    assert_eq!(ta.wait_messages(1, WAIT, &server).len(), 1);

    let sent_plain = wait_log(&server, &[&ids["plain.test"], "status=sent"], WAIT);
    assert!(sent_plain.contains("tls=opportunistic"), "unsigned zone: TLSA ignored: {sent_plain}");
    assert_eq!(plain.wait_messages(1, WAIT, &server).len(), 1);

    let sent_pkix = wait_log(&server, &[&ids["pkix.dane.test"], "status=sent"], WAIT);
    assert!(sent_pkix.contains("tls=dane-only-encrypt"), "{sent_pkix}");
    assert_eq!(pkix.wait_messages(1, WAIT, &server).len(), 1);

    let deferred_notls = wait_log(&server, &[&ids["notls.dane.test"], "status=deferred"], WAIT);
    assert!(deferred_notls.contains("tls=dane") && deferred_notls.contains("dsn=4.7.4"), "{deferred_notls}");
    assert!(deferred_notls.contains("TLS is required, but was not offered"), "{deferred_notls}");

    let deferred_wrong = wait_log(&server, &[&ids["wrong.dane.test"], "status=deferred"], WAIT);
    assert!(deferred_wrong.contains("tls=dane") && deferred_wrong.contains("dsn=4.7.5"), "{deferred_wrong}");
    assert!(deferred_wrong.contains("no TLSA record matches"), "a clear reason: {deferred_wrong}");

    let deferred_bogus = wait_log(&server, &[&ids["bogus.dane.test"], "status=deferred"], WAIT);
    assert!(deferred_bogus.contains("dsn=4.7.5") && deferred_bogus.contains("TLSA lookup failed"), "{deferred_bogus}");

    // Retries (1-2 s apart) keep failing the same way; nothing ever arrives.
    std::thread::sleep(Duration::from_secs(4));
    assert!(log_lines(&server, &[&ids["wrong.dane.test"], "status=deferred"]).len() >= 2, "{}", server.log_text());
    assert!(log_lines(&server, &[&ids["wrong.dane.test"], "status=sent"]).is_empty());
    assert!(log_lines(&server, &[&ids["bogus.dane.test"], "status=sent"]).is_empty());
    assert!(wrong.messages().is_empty(), "nothing delivered under a mismatching TLSA");
    assert!(notls.messages().is_empty(), "no cleartext fallback under DANE");
    assert!(bogus.messages().is_empty(), "nothing delivered under a bogus TLSA");
    assert_eq!(bogus.connections(), 0, "a bogus TLSA host is not even contacted");
    assert!(dns.unbound_log().contains("validation failure"), "unbound saw the bad signature:\n{}", dns.unbound_log());
    println!("{sent_good}\n{sent_ta}\n{sent_plain}\n{sent_pkix}\n{deferred_notls}\n{deferred_wrong}\n{deferred_bogus}");
}
