//! swaks (a Perl SMTP client nobody here wrote) against every listener: plain, STARTTLS,
//! implicit TLS, AUTH PLAIN/LOGIN, a wrong password, PIPELINING, the generated certificate.

mod support;

use std::net::SocketAddr;
use std::process::Command;

use support::peers::{Run, require_tool, run};
use support::queue::find;
use support::{TestServer, queued_id};

const SENDER: &str = "sender@example.org";

fn swaks(addr: SocketAddr, rcpt: &str, extra: &[&str]) -> Run {
    let mut c = Command::new(require_tool("swaks"));
    c.args([
        "--server",
        &addr.to_string(),
        "--helo",
        "client.test",
        "-f",
        SENDER,
        "-t",
        rcpt,
    ]);
    c.args(["--timeout", "30"]).args(extra);
    run(&mut c, b"")
}

/// swaks succeeded and its message is in the queue with the right envelope.
#[track_caller]
fn assert_queued(server: &TestServer, r: &Run, rcpt: &str) -> String {
    r.assert_ok();
    let id =
        queued_id(&r.all()).unwrap_or_else(|| panic!("no queue id in swaks output:\n{}", r.all()));
    let q = server.queue_json();
    let m = find(&q, &id);
    assert_eq!(m.sender(), SENDER);
    assert_eq!(m.rcpt_addresses(), [rcpt]);
    assert!(m.size > 0, "{m:?}");
    id
}

/// A server where only AUTH grants relaying (loopback is not trusted).
fn auth_server() -> TestServer {
    TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("alice", "s3cret-pw")
        .start()
}

#[test]
fn plain_smtp_to_local_domain() {
    let server = TestServer::parked();
    let r = swaks(
        server.smtp(),
        "rcpt@example.com",
        &["--header", "Subject: swaks plain"],
    );
    assert_queued(&server, &r, "rcpt@example.com");
    assert_eq!(server.queue_json().len(), 1);
}

#[test]
fn starttls_with_verified_certificate() {
    let server = TestServer::parked();
    let cert = server.cert_path();
    let r = swaks(
        server.smtp(),
        "rcpt@example.com",
        &[
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            cert.to_str().unwrap(),
        ],
    );
    assert_queued(&server, &r, "rcpt@example.com");
    // "<~" marks replies read over TLS; the 250 after DATA must be one of them.
    assert!(
        r.all()
            .lines()
            .any(|l| l.starts_with("<~") && l.contains("queued as")),
        "{}",
        r.all()
    );
}

/// swaks with `tls` (`--tls`, `--tls-on-connect` or none) and AUTH `mech` as alice.
fn swaks_auth(addr: SocketAddr, tls: Option<&str>, mech: &str, password: &str) -> Run {
    let auth = [
        "--auth",
        mech,
        "--auth-user",
        "alice",
        "--auth-password",
        password,
    ];
    let args: Vec<&str> = tls.into_iter().chain(auth).collect();
    swaks(addr, "remote@other.test", &args)
}

#[test]
fn tls_on_connect_with_auth_plain_relays() {
    let server = auth_server();
    let r = swaks_auth(
        server.submissions(),
        Some("--tls-on-connect"),
        "PLAIN",
        "s3cret-pw",
    );
    assert!(r.all().contains("235"), "no 235 after AUTH:\n{}", r.all());
    assert_queued(&server, &r, "remote@other.test");
}

#[test]
fn submission_starttls_auth_plain() {
    let server = auth_server();
    let r = swaks_auth(server.submission(), Some("--tls"), "PLAIN", "s3cret-pw");
    assert_queued(&server, &r, "remote@other.test");
}

#[test]
fn submission_starttls_auth_login() {
    let server = auth_server();
    let r = swaks_auth(server.submission(), Some("--tls"), "LOGIN", "s3cret-pw");
    assert_queued(&server, &r, "remote@other.test");
}

#[test]
fn wrong_password_is_535_and_nothing_queued() {
    let server = auth_server();
    let r = swaks_auth(server.submission(), Some("--tls"), "PLAIN", "wrong");
    assert_eq!(
        r.code(),
        Some(28),
        "swaks exits 28 on an AUTH failure:\n{}",
        r.all()
    );
    assert!(r.all().contains("535 5.7.8"), "{}", r.all());
    assert!(server.queue_json().is_empty());
}

#[test]
fn auth_is_not_offered_before_tls() {
    let server = auth_server();
    let r = swaks_auth(server.submission(), None, "PLAIN", "s3cret-pw");
    assert_eq!(r.code(), Some(28), "{}", r.all());
    assert!(
        r.all().contains("did not advertise authentication"),
        "{}",
        r.all()
    );
    assert!(server.queue_json().is_empty());
}

#[test]
fn pipelined_transaction() {
    let server = TestServer::parked();
    let r = swaks(server.smtp(), "rcpt@example.com", &["--pipeline"]);
    // swaks only pipelines when PIPELINING was advertised; it then sends MAIL, RCPT and DATA
    // before reading the first of their replies.
    let out = r.all();
    assert!(out.contains("PIPELINING"), "{out}");
    let pos = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{out}"))
    };
    assert!(
        pos(" -> DATA") < pos("<-  250 2.1.0"),
        "MAIL/RCPT/DATA were not pipelined:\n{out}"
    );
    assert_queued(&server, &r, "rcpt@example.com");
}

#[test]
fn starttls_with_generated_certificate() {
    let server = TestServer::builder().park_delivery().self_signed().start();
    for f in ["data/tls/cert.pem", "data/tls/key.pem"] {
        assert!(server.dir().join(f).is_file(), "{f} not generated");
    }
    let r = swaks(server.smtp(), "rcpt@example.com", &["--tls"]);
    assert_queued(&server, &r, "rcpt@example.com");
}
