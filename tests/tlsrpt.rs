//! TLS reporting (RFC 8460) end to end: `postern serve` delivers to a DANE domain whose
//! TLSA matches (success), one whose TLSA does not (a validation failure) and an unsigned
//! domain (no policy, opportunistic TLS, success; its announced MTA-STS policy cannot be
//! fetched: sts-policy-fetch-error) — the DNSSEC world of
//! tests/support/dnssec.rs (NSD + validating unbound). Each domain publishes a
//! `_smtp._tls` TXT record; after the next `delivery.tlsrpt_interval` the reports arrive
//! at a Python HTTPS endpoint (tests/peers/tlsrpt_https.py, certificate from a test CA
//! trusted through delivery.tls_ca_file) and, as mail through postern's own queue, at an
//! aiosmtpd mailbox. The test gunzips them and checks RFC 8460's fields and counts.
mod support;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mail_parser::MimeHeaders;
use serde_json::Value;
use support::TestServer;
use support::dnssec::{ValidatingDns, spki_sha256};
use support::mx::{PASSWORD, SENDER, USER, message, submit};
use support::peers::{Peer, peer_file, require_python, spawn_printing_port};
use support::pki::write_test_pki;
use support::rcv::Receiver;
use support::server::wait_log;
use support::wait;

const WAIT: Duration = Duration::from_secs(40);
const GOOD: &str = "127.0.0.2";
const WRONG: &str = "127.0.0.3";
const PLAIN: &str = "127.0.0.5";
const MAILBOX: &str = "127.0.0.7";

fn gunzip(data: &[u8]) -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(data).read_to_string(&mut text).expect("the report is gzip");
    serde_json::from_str(&text).expect("the report is JSON")
}

/// Reports the HTTPS endpoint stored: (Content-Type, report).
fn posted(dir: &Path) -> Vec<(String, Value)> {
    let mut metas: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    metas.sort();
    metas
        .iter()
        .map(|m| {
            let meta: Value = serde_json::from_str(&std::fs::read_to_string(m).unwrap()).unwrap();
            let body = std::fs::read(m.with_extension("body")).unwrap();
            (meta["content_type"].as_str().unwrap_or("").to_string(), gunzip(&body))
        })
        .collect()
}

fn domain_of(report: &Value) -> String {
    report["policies"][0]["policy"]["policy-domain"].as_str().unwrap_or("").to_string()
}

/// RFC 8460 §4.4: the fields every report carries.
#[track_caller]
fn assert_report_shape(r: &Value) {
    assert_eq!(r["organization-name"], "Postern Test Org", "{r:#}");
    assert_eq!(r["contact-info"], "tlsrpt-contact@sender.test", "{r:#}");
    assert!(r["report-id"].as_str().is_some_and(|s| !s.is_empty()), "{r:#}");
    for k in ["start-datetime", "end-datetime"] {
        let t = r["date-range"][k].as_str().unwrap_or_else(|| panic!("date-range.{k}: {r:#}"));
        assert!(t.ends_with('Z') && t.contains('T'), "RFC 3339 UTC date-time: {t}");
    }
    assert!(r["date-range"]["start-datetime"].as_str() <= r["date-range"]["end-datetime"].as_str());
    for p in r["policies"].as_array().expect("policies") {
        for k in ["total-successful-session-count", "total-failure-session-count"] {
            assert!(p["summary"][k].is_u64(), "summary.{k}: {p:#}");
        }
        assert!(p["policy"]["policy-type"].is_string() && p["policy"]["policy-domain"].is_string(), "{p:#}");
    }
}

#[test]
fn reports_arrive_by_https_and_mail() {
    let pki = tempfile::tempdir().unwrap();
    let ca = write_test_pki(pki.path(), &["mx-good.dane.test", "mx-wrong.dane.test", "mx.plain.test", "reports.test"]);
    let (cert, key) = (pki.path().join("cert.pem"), pki.path().join("key.pem"));
    let spki = spki_sha256(&cert);
    let other = "0".repeat(63) + "1";

    let out = tempfile::tempdir().unwrap();
    let mut https = Command::new(require_python(&[]));
    https.arg(peer_file("tlsrpt_https.py")).arg("--cert").arg(&cert).arg("--key").arg(&key).arg("--out").arg(out.path());
    let (child, https_addr) = spawn_printing_port(https);
    let _https = Peer(child);
    let endpoint = format!("https://reports.test:{}/tlsrpt", https_addr.port());

    let port = support::peers::free_port_on(&[GOOD, WRONG, PLAIN, MAILBOX]);
    let tlsa = |host: &str| format!("_{port}._tcp.{host}");
    let signed = format!(
        "good.dane.test. IN MX 10 mx-good.dane.test.\n\
         mx-good.dane.test. IN A {GOOD}\n\
         {g}. IN TLSA 3 1 1 {spki}\n\
         _smtp._tls.good.dane.test. IN TXT \"v=TLSRPTv1; rua={endpoint}\"\n\
         wrong.dane.test. IN MX 10 mx-wrong.dane.test.\n\
         mx-wrong.dane.test. IN A {WRONG}\n\
         {w}. IN TLSA 3 1 1 {other}\n\
         _smtp._tls.wrong.dane.test. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@reports.test,{endpoint}\"\n",
        g = tlsa("mx-good.dane.test"),
        w = tlsa("mx-wrong.dane.test"),
    );
    let unsigned = format!(
        "plain.test. IN MX 10 mx.plain.test.\nmx.plain.test. IN A {PLAIN}\n\
         _smtp._tls.plain.test. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@reports.test\"\n\
         _mta-sts.plain.test. IN TXT \"v=STSv1; id=1;\"\nmta-sts.plain.test. IN A 127.0.0.1\n\
         reports.test. IN A 127.0.0.1\nreports.test. IN MX 10 mx.reports.test.\nmx.reports.test. IN A {MAILBOX}\n"
    );
    let dns = ValidatingDns::start("dane.test", &signed, &unsigned, &[]);

    let tls_args = ["--starttls", cert.to_str().unwrap(), key.to_str().unwrap()];
    let good = Receiver::start_on(GOOD, port, &tls_args);
    let _wrong = Receiver::start_on(WRONG, port, &tls_args);
    let plain = Receiver::start_on(PLAIN, port, &tls_args);
    let mailbox = Receiver::start_on(MAILBOX, port, &[]);

    let server = TestServer::builder()
        .set("delivery.resolver", dns.spec())
        .set("delivery.smtp_port", i64::from(port))
        // One attempt per message in the test's time: counts are exact.
        .set("delivery.retry_initial", "1h")
        .set("delivery.retry_max", "1h")
        // plain.test announces an MTA-STS policy that cannot be fetched (nothing listens on
        // this port): an sts-policy-fetch-error, then delivery without a policy.
        .set("delivery.mta_sts", true)
        .set("delivery.mta_sts_port", i64::from(support::peers::free_port()))
        .set("delivery.timeout", "10s")
        .set("delivery.dane", true)
        .set("delivery.tls_ca_file", ca.to_str().unwrap())
        .set("delivery.tlsrpt", true)
        .set("delivery.tlsrpt_interval", "3s")
        .set("delivery.tlsrpt_organization", "Postern Test Org")
        .set("delivery.tlsrpt_contact", "tlsrpt-contact@sender.test")
        .user(USER, PASSWORD)
        .start();

    for dom in ["good.dane.test", "wrong.dane.test", "plain.test"] {
        let to = format!("bob@{dom}");
        submit(&server, SENDER, &[&to], &message(SENDER, &to, &format!("to {dom}"), "tlsrpt test"));
    }
    good.wait_messages(1, WAIT, &server);
    plain.wait_messages(1, WAIT, &server);
    wait_log(&server, &["to=bob@wrong.dane.test", "status=deferred", "dsn=4.7.5"], WAIT);

    // HTTPS: good.dane.test and wrong.dane.test.
    let reports = wait::until(
        WAIT,
        Duration::from_millis(200),
        || posted(out.path()),
        |r| r.len() >= 2,
        |r| format!("{} HTTPS reports after {WAIT:?}:\n{}", r.len(), server.log_text()),
    );
    assert_eq!(reports.len(), 2, "one report per domain: {reports:#?}");
    for (ct, r) in &reports {
        assert_eq!(ct, "application/tlsrpt+gzip");
        assert_report_shape(r);
    }
    let by = |d: &str| reports.iter().map(|(_, r)| r).find(|r| domain_of(r) == d).unwrap_or_else(|| panic!("no report for {d}: {reports:#?}")).clone();
    let good_report = by("good.dane.test");
    let p = &good_report["policies"][0];
    assert_eq!(good_report["policies"].as_array().unwrap().len(), 1);
    assert_eq!(p["policy"]["policy-type"], "tlsa");
    assert_eq!(p["policy"]["policy-string"], serde_json::json!([format!("3 1 1 {spki}")]));
    assert_eq!(p["policy"]["mx-host"], serde_json::json!(["mx-good.dane.test"]));
    assert_eq!(p["summary"]["total-successful-session-count"], 1);
    assert_eq!(p["summary"]["total-failure-session-count"], 0);

    let wrong_report = by("wrong.dane.test");
    let p = &wrong_report["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "tlsa");
    assert_eq!(p["summary"]["total-successful-session-count"], 0);
    assert_eq!(p["summary"]["total-failure-session-count"], 1);
    let f = &p["failure-details"][0];
    assert_eq!(f["result-type"], "validation-failure", "{p:#}");
    assert_eq!(f["receiving-mx-hostname"], "mx-wrong.dane.test");
    assert_eq!(f["receiving-ip"], WRONG);
    assert_eq!(f["failed-session-count"], 1);
    assert!(f["additional-information"].as_str().unwrap_or("").contains("no TLSA record matches"), "{f:#}");

    // Mail: wrong.dane.test and plain.test, through postern's queue to reports.test's MX.
    let mails = mailbox.wait_messages(2, WAIT, &server);
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let mut seen = Vec::new();
    for m in &mails {
        assert_eq!(m.rcpt_tos, ["tlsrpt@reports.test"]);
        assert_eq!(m.mail_from, "<>", "reports go out with a null sender, like DSNs");
        let raw = m.content();
        let parsed = mail_parser::MessageParser::default().parse(&raw).expect("a MIME message");
        let domain = parsed.header_raw("TLS-Report-Domain").expect("TLS-Report-Domain").trim().to_string();
        assert_eq!(parsed.header_raw("TLS-Report-Submitter").map(str::trim), Some("mx.test"));
        let subject = parsed.subject().unwrap_or("");
        assert!(subject.starts_with(&format!("Report Domain: {domain} Submitter: mx.test Report-ID: <")), "{subject}");
        let ct = parsed.content_type().expect("Content-Type");
        assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
        assert_eq!(ct.attribute("report-type"), Some("tlsrpt"));
        let att = parsed.attachments().next().expect("the report attachment");
        let act = att.content_type().unwrap();
        assert_eq!((act.ctype(), act.subtype()), ("application", Some("tlsrpt+gzip")));
        let name = att.attachment_name().unwrap_or("");
        assert!(name.starts_with(&format!("mx.test!{domain}!")) && name.ends_with(".json.gz"), "§5.1 file name: {name}");
        let report = gunzip(att.contents());
        assert_report_shape(&report);
        assert_eq!(domain_of(&report), domain);
        assert!(subject.contains(report["report-id"].as_str().unwrap()), "Subject names the report id");
        if domain == "wrong.dane.test" {
            assert_eq!(report["report-id"], wrong_report["report-id"], "one report, sent to both rua");
        } else {
            let policies = report["policies"].as_array().unwrap();
            assert_eq!(policies.len(), 2, "{report:#}");
            let of = |t: &str| policies.iter().find(|p| p["policy"]["policy-type"] == t).unwrap_or_else(|| panic!("{t}: {report:#}"));
            let none = of("no-policy-found");
            assert_eq!(none["summary"]["total-successful-session-count"], 1);
            assert_eq!(none["summary"]["total-failure-session-count"], 0);
            let sts = of("sts");
            assert_eq!(sts["summary"]["total-successful-session-count"], 0);
            assert_eq!(sts["summary"]["total-failure-session-count"], 1);
            assert_eq!(sts["failure-details"][0]["result-type"], "sts-policy-fetch-error", "{sts:#}");
        }
        seen.push(domain);
    }
    seen.sort();
    assert_eq!(seen, ["plain.test", "wrong.dane.test"]);
    println!("good.dane.test report: {good_report:#}\nwrong.dane.test report: {wrong_report:#}");
}
