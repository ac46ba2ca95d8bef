//! STARTTLS and AUTH rules on raw sockets: pipelined commands after STARTTLS are discarded
//! (no plaintext injection), AUTH only after TLS, submission requires AUTH before MAIL.

mod support;

use std::net::SocketAddr;

use support::{Dialog, TestServer};

fn injected_command_is_discarded(server: &TestServer, addr: SocketAddr) {
    let mut d = Dialog::connect(addr);
    d.ehlo();
    d.send(b"STARTTLS\r\nMAIL FROM:<inject@evil.test>\r\n");
    d.read_reply().assert(220, "2.0.0");
    // upgrade() fails the test if anything (a reply to the injected MAIL) followed the 220.
    d.upgrade(&server.cert_path());
    // Neither the injected MAIL nor the pre-TLS EHLO survive the upgrade.
    assert_eq!(d.cmd("RCPT TO:<rcpt@example.com>").code, 503);
    let ehlo = d.ehlo();
    assert!(
        !ehlo.has_line("STARTTLS"),
        "STARTTLS offered inside TLS: {ehlo:?}"
    );
    assert_eq!(
        d.cmd("RCPT TO:<rcpt@example.com>").code,
        503,
        "injected MAIL FROM was executed"
    );
}

#[test]
fn starttls_injection_on_smtp() {
    let server = TestServer::parked();
    injected_command_is_discarded(&server, server.smtp());
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail(
        "legit@example.org",
        &["rcpt@example.com"],
        "Subject: x\r\n\r\nok\r\n",
    );
    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    assert_eq!(q[0].sender(), "legit@example.org");
}

#[test]
fn starttls_injection_on_submission() {
    let server = TestServer::parked();
    injected_command_is_discarded(&server, server.submission());
    assert!(server.queue_json().is_empty());
}

#[test]
fn ehlo_extensions_on_smtp() {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    let ehlo = d.ehlo();
    for ext in [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "SIZE",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "STARTTLS",
    ] {
        assert!(ehlo.has_line(ext), "{ext} not advertised: {ehlo:?}");
    }
    assert!(
        !ehlo.has_line("AUTH"),
        "AUTH advertised before TLS: {ehlo:?}"
    );
}

/// On 25 and 587: AUTH is neither advertised nor accepted in plain text, and is offered
/// (PLAIN, LOGIN) once TLS is up.
fn auth_only_after_tls(server: &TestServer, addr: SocketAddr) {
    let mut d = Dialog::connect(addr);
    let ehlo = d.ehlo();
    assert!(
        ehlo.has_line("STARTTLS") && !ehlo.has_line("AUTH"),
        "{ehlo:?}"
    );
    for cmd in [
        format!(
            "AUTH PLAIN {}",
            support::dialog::plain_token("alice", "pw-alice-1")
        ),
        "AUTH LOGIN".into(),
    ] {
        let r = d.cmd(&cmd);
        let ok = (r.code == 538 && r.enhanced() == Some("5.7.11")) || r.code == 503;
        assert!(ok, "{cmd} before TLS: {r:?}");
    }
    d.starttls(&server.cert_path());
    let ehlo = d.ehlo();
    let auth = ehlo
        .lines
        .iter()
        .find(|l| l.to_ascii_uppercase().starts_with("AUTH"))
        .expect("AUTH after TLS");
    assert!(auth.contains("PLAIN") && auth.contains("LOGIN"), "{auth}");
    d.auth_plain("alice", "pw-alice-1").assert(235, "2.7.0");
}

#[test]
fn auth_only_after_tls_on_smtp() {
    let server = TestServer::builder()
        .park_delivery()
        .user("alice", "pw-alice-1")
        .start();
    auth_only_after_tls(&server, server.smtp());
}

#[test]
fn auth_only_after_tls_on_submission() {
    let server = TestServer::builder()
        .park_delivery()
        .user("alice", "pw-alice-1")
        .start();
    auth_only_after_tls(&server, server.submission());
}

#[test]
fn submissions_offers_auth_at_once() {
    let server = TestServer::builder()
        .park_delivery()
        .user("alice", "pw-alice-1")
        .start();
    let mut d = Dialog::connect_tls(server.submissions(), &server.cert_path());
    let ehlo = d.ehlo();
    assert!(
        ehlo.has_line("AUTH") && !ehlo.has_line("STARTTLS"),
        "{ehlo:?}"
    );
}

#[test]
fn submission_requires_auth_before_mail() {
    let server = TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("alice", "pw-alice-1")
        .start();
    let mut d = Dialog::connect(server.submission());
    d.ehlo();
    d.starttls(&server.cert_path());
    d.ehlo();
    d.cmd("MAIL FROM:<alice@example.org>").assert(530, "5.7.0");
    d.auth_plain("alice", "wrong").assert(535, "5.7.8");
    d.cmd("MAIL FROM:<alice@example.org>").assert(530, "5.7.0");
    d.auth_plain("alice", "pw-alice-1").assert(235, "2.7.0");
    let id = d.send_mail(
        "alice@example.org",
        &["far@other.test"],
        "Subject: auth\r\n\r\nok\r\n",
    );
    d.expect("QUIT", 221);
    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    assert_eq!(
        (q[0].id.as_str(), q[0].rcpt_addresses()),
        (id.as_str(), vec!["far@other.test"])
    );
}
