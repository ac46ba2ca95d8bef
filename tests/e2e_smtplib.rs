//! Python's smtplib (tests/peers/smtp_send.py) on each of the three SMTP listeners, with
//! certificate verification against the test cert.

mod support;

use std::net::SocketAddr;
use std::process::Command;

use support::peers::{Run, peer_file, require_python, run};
use support::queue::find;
use support::{TestServer, queued_id};

fn smtplib(addr: SocketAddr, mode: &str, extra: &[&str]) -> Run {
    let mut c = Command::new(require_python(&["smtplib", "ssl"]));
    c.arg(peer_file("smtp_send.py"));
    c.args(["--port", &addr.port().to_string(), "--mode", mode]);
    c.args(["--sender", "py@example.org"]).args(extra);
    run(&mut c, b"")
}

#[track_caller]
fn assert_queued(server: &TestServer, r: &Run, rcpts: &[&str]) {
    r.assert_ok();
    assert!(r.stdout.starts_with("DATA 250 2.0.0"), "{}", r.all());
    let id = queued_id(&r.stdout).unwrap_or_else(|| panic!("no id: {}", r.all()));
    let q = server.queue_json();
    let m = find(&q, &id);
    assert_eq!(m.sender(), "py@example.org");
    assert_eq!(m.rcpt_addresses(), rcpts);
}

fn auth_server() -> TestServer {
    TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("bob", "py-pass-123")
        .start()
}

#[test]
fn plain_smtp_two_recipients() {
    let server = TestServer::parked();
    let r = smtplib(
        server.smtp(),
        "plain",
        &["--rcpt", "a@example.com", "--rcpt", "b@example.com"],
    );
    assert_queued(&server, &r, &["a@example.com", "b@example.com"]);
}

/// smtplib in `mode` with the test cert as CA, logging in as bob when `password` is given.
fn smtplib_tls(
    server: &TestServer,
    addr: SocketAddr,
    mode: &str,
    password: Option<&str>,
    rcpt: &str,
) -> Run {
    let cert = server.cert_path();
    let mut args = vec!["--cafile", cert.to_str().unwrap(), "--rcpt", rcpt];
    if let Some(pw) = password {
        args.extend(["--user", "bob", "--password", pw]);
    }
    smtplib(addr, mode, &args)
}

#[test]
fn submission_starttls_login_relays() {
    let server = auth_server();
    let r = smtplib_tls(
        &server,
        server.submission(),
        "starttls",
        Some("py-pass-123"),
        "far@other.test",
    );
    assert_queued(&server, &r, &["far@other.test"]);
}

#[test]
fn submissions_implicit_tls_login_relays() {
    let server = auth_server();
    let r = smtplib_tls(
        &server,
        server.submissions(),
        "tls",
        Some("py-pass-123"),
        "far@other.test",
    );
    assert_queued(&server, &r, &["far@other.test"]);
}

#[test]
fn submission_without_login_is_refused() {
    let server = auth_server();
    let r = smtplib_tls(
        &server,
        server.submission(),
        "starttls",
        None,
        "x@example.com",
    );
    assert_eq!(r.code(), Some(3), "{}", r.all());
    assert!(r.stdout.starts_with("SMTPERR 530 5.7.0"), "{}", r.all());
    assert!(server.queue_json().is_empty());
}
