//! Issue 13: mail that real senders produce and Postfix accepts. Text lines of 1,500 and
//! 20,000 bytes (one-line HTML, as applications generate it) are accepted, stored and
//! relayed byte for byte, so postern's DKIM signature verifies with dkimpy on the copy that
//! arrives: at an aiosmtpd MX, and after a private Postfix (whose line_length_limit splits
//! and rejoins such lines) relayed it on. A bare-LF message from a raw socket is taken
//! with CRLF line ends under the default `limits.bare_newline = "normalize"`.
mod support;

use postern::dkim::{Algorithm, keygen};
use std::time::Duration;
use support::Dialog;
use support::dns::Dnsmasq;
use support::mx::*;
use support::postfix::PostfixRelay;
use support::rcv::Receiver;
use support::server::wait_log;
use toml::Value;

/// A message with a 1,500-byte line and a 20,000+-byte HTML line.
fn long_line_message() -> (Vec<u8>, usize) {
    let html = format!("<html><body>{}</body></html>", "<p>long&nbsp;line</p>".repeat(1000));
    let body = format!("{}\r\n{html}\r\nlast line", "y".repeat(1500));
    (message(SENDER, "bob@dest.test", "long lines", &body), html.len())
}

/// Signs for sender.test with RSA-2048 and checks the delivered copy with dkimpy.
fn assert_intact_and_signed(content: &[u8], sent: &[u8], dns: &Dnsmasq) {
    let text = String::from_utf8_lossy(content);
    let same_tail = content.iter().rev().zip(sent.iter().rev()).take_while(|(a, b)| a == b).count();
    assert!(
        content.ends_with(sent),
        "the submitted bytes arrive unchanged after the added headers; {same_tail} of {} trailing bytes match:\n{}",
        sent.len(),
        &text[text.len().saturating_sub(sent.len() + 300)..text.len().saturating_sub(sent.len()).max(text.len().min(3000))]
    );
    let (code, out) = dkimpy_verify(content, dns);
    assert_eq!(code, Some(0), "dkimpy:\n{out}");
    assert!(out.contains("d=sender.test s=long2026: pass"), "{out}");
}

#[test]
fn long_lines_reach_an_aiosmtpd_mx_intact_and_dkim_verifies() {
    let keys = tempfile::tempdir().unwrap();
    let rsa = keygen("sender.test", "long2026", Algorithm::Rsa2048, keys.path()).unwrap();
    let dns = Dnsmasq::start(&zone(&dkim_txt(&rsa)));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &["--max-line", "100000"]);
    let server = builder(&dns, port).set("dkim", Value::Array(vec![dkim_entry(&rsa, "long2026")])).start();

    let (sent, html_len) = long_line_message();
    assert!(html_len > 20_000, "{html_len}");
    let id = submit(&server, SENDER, &["bob@dest.test"], &sent);
    let got = mx1.wait_messages(1, Duration::from_secs(30), &server);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_intact_and_signed(&got[0].content(), &sent, &dns);
    wait_log(&server, &[&id, "status=sent"], Duration::from_secs(5));
}

#[test]
fn long_lines_survive_a_postfix_hop_and_dkim_verifies() {
    let keys = tempfile::tempdir().unwrap();
    let rsa = keygen("sender.test", "long2026", Algorithm::Rsa2048, keys.path()).unwrap();
    let dns = Dnsmasq::start(&zone(&dkim_txt(&rsa)));
    let port = mx_port();
    let sink = Receiver::start_on(MX1, port, &["--max-line", "100000"]);
    // postern -> Postfix (stock smtpd line_length_limit = 2048) -> aiosmtpd. Postfix's own
    // SMTP client folds lines over 998 bytes with CRLF SPACE (smtp_line_length_limit),
    // which breaks any DKIM signature; 0 turns that off so the hop passes the bytes on.
    let postfix = PostfixRelay::start_with(sink.addr, &["smtp_line_length_limit = 0"]);
    let server = builder(&dns, port)
        .set("dkim", Value::Array(vec![dkim_entry(&rsa, "long2026")]))
        .list("delivery.smarthost", &[&format!("[{}]:{}", postfix.addr.ip(), postfix.addr.port())])
        .start();

    let (sent, _) = long_line_message();
    submit(&server, SENDER, &["bob@dest.test"], &sent);
    let got = sink.wait_messages(1, Duration::from_secs(60), &server);
    assert_eq!(got.len(), 1, "{got:#?}\n{}", postfix.maillog());
    assert_intact_and_signed(&got[0].content(), &sent, &dns);
    postfix.wait_drained(Duration::from_secs(10));
}

/// A receiver that refuses long lines (aiosmtpd's default limit is 1001 bytes) gets the
/// message all the same; its own reply ends up in the bounce, as with Postfix.
#[test]
fn a_receiver_refusing_long_lines_answers_in_the_bounce() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &[]);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let (sent, _) = long_line_message();
    let id = submit(&server, SENDER, &["bob@dest.test"], &sent);
    let line = wait_log(&server, &[&id, "status=bounced"], Duration::from_secs(30));
    assert!(line.contains("said: 500 Line too long"), "{line}");
    let bounce = sender_mx.wait_messages(1, Duration::from_secs(30), &server);
    let text = String::from_utf8_lossy(&bounce[0].content()).into_owned();
    assert!(text.contains("500 Line too long"), "the receiver's reply is in the DSN:\n{text}");
    assert!(mx1.messages().is_empty());
}

#[test]
fn bare_lf_message_is_delivered_with_crlf() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &[]);
    let server = builder(&dns, port).start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<app@sender.test>", 250);
    d.expect("RCPT TO:<bob@dest.test>", 250);
    d.expect("DATA", 354);
    d.send(b"From: <app@sender.test>\nTo: <bob@dest.test>\nSubject: unix line ends\n\nline 1\nline 2\n.\n\r\n.\r\n");
    d.read_reply().assert(250, "2.0.0");
    d.expect("QUIT", 221);
    let got = mx1.wait_messages(1, Duration::from_secs(30), &server);
    let content = got[0].content();
    let text = String::from_utf8_lossy(&content).into_owned();
    // The "." after a bare LF was content, not an end of data: it arrives as a line.
    assert!(text.ends_with("Subject: unix line ends\r\n\r\nline 1\r\nline 2\r\n.\r\n\r\n"), "{text:?}");
    assert!(!text.replace("\r\n", "").contains(['\r', '\n']), "bare CR/LF delivered: {text:?}");
}
