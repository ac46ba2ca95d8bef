//! Issue 4, "done means": a message submitted on the submission port (swaks: STARTTLS +
//! AUTH) to a remote domain arrives at the MX that dnsmasq names, DKIM-signed with an RSA
//! and an Ed25519 key, and dkimpy (tests/peers/dkim_verify.py, asking the same dnsmasq)
//! says pass for both; the same bytes with a changed body fail.
mod support;

use postern::dkim::{Algorithm, keygen};
use std::time::Duration;
use support::dns::Dnsmasq;
use support::mx::*;
use support::rcv::Receiver;
use support::server::wait_log;
use toml::Value;

#[test]
fn submitted_mail_reaches_the_mx_signed_and_dkimpy_verifies_rsa_and_ed25519() {
    let keys = tempfile::tempdir().unwrap();
    let rsa = keygen("sender.test", "rsa2026", Algorithm::Rsa2048, keys.path()).unwrap();
    let ed = keygen("sender.test", "ed2026", Algorithm::Ed25519, keys.path()).unwrap();
    let dns = Dnsmasq::start(&zone(&(dkim_txt(&rsa) + &dkim_txt(&ed))));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &[]);
    let mx2 = Receiver::start_on(MX2, port, &[]);
    let server = builder(&dns, port)
        .set("dkim", Value::Array(vec![dkim_entry(&rsa, "rsa2026"), dkim_entry(&ed, "ed2026")]))
        .start();

    let sent = message(SENDER, "bob@dest.test", "signed by postern", "Hello Bob,\r\n\r\nthis travels signed.  \r\n.dot line");
    let id = submit(&server, SENDER, &["bob@dest.test"], &sent);

    let got = mx1.wait_messages(1, Duration::from_secs(30), &server);
    assert_eq!(got.len(), 1, "delivered exactly once: {got:#?}");
    let m = &got[0];
    assert_eq!((m.mail_from.as_str(), m.rcpt_tos.as_slice()), (SENDER, &["bob@dest.test".to_string()][..]));
    assert_eq!(m.helo.as_deref(), Some("mx.test"), "postern's EHLO name");
    let content = m.content();
    let text = String::from_utf8_lossy(&content).into_owned();
    assert!(content.ends_with(&sent), "the submitted bytes arrive unchanged after the added headers:\n{text}");
    let head = &text[..text.len() - sent.len()];
    assert_eq!(head.matches("DKIM-Signature:").count(), 2, "one signature per key:\n{head}");
    assert!(head.contains("a=rsa-sha256") && head.contains("a=ed25519-sha256"), "{head}");
    assert!(head.contains(&format!("id {id}")), "Received header names the queue id:\n{head}");
    assert!(mx2.messages().is_empty() && mx2.connections() == 0, "the secondary MX was not needed");

    let (code, out) = dkimpy_verify(&content, &dns);
    assert_eq!(code, Some(0), "dkimpy:\n{out}");
    assert!(out.contains("d=sender.test s=rsa2026: pass"), "{out}");
    assert!(out.contains("d=sender.test s=ed2026: pass"), "{out}");

    let tampered = text.replace("this travels signed.", "this travels changed.");
    assert_ne!(tampered, text);
    let (code, out) = dkimpy_verify(tampered.as_bytes(), &dns);
    assert_eq!(code, Some(1), "a changed body must fail:\n{out}");
    assert!(out.contains("rsa2026: fail") && out.contains("ed2026: fail"), "{out}");

    // The delivery is logged Postfix-style and the message leaves the queue.
    let line = wait_log(&server, &[&id, "status=sent", "relay=mx1.dest.test[127.0.0.2]"], Duration::from_secs(5));
    assert!(line.contains("to=bob@dest.test") && line.contains("dsn=2.0.0"), "{line}");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    println!("delivery log line: {line}");
}
