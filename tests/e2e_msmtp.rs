//! msmtp (GnuTLS) submitting with STARTTLS + AUTH PLAIN, verifying the test certificate.

mod support;

use std::process::Command;

use support::peers::{require_tool, run};
use support::queue::find;
use support::{TestServer, queued_id};

const MESSAGE: &[u8] =
    b"From: m@example.org\r\nTo: far@other.test\r\nSubject: msmtp\r\n\r\nhello from msmtp\r\n";

fn msmtp(server: &TestServer, password: &str) -> support::peers::Run {
    let addr = server.submission();
    let cert = server.cert_path();
    let mut c = Command::new(require_tool("msmtp"));
    c.args([
        "--file=/dev/null",
        "-v",
        "--host=127.0.0.1",
        "--domain=client.test",
    ]);
    c.arg(format!("--port={}", addr.port()));
    c.args(["--tls=on", "--tls-starttls=on"])
        .arg(format!("--tls-trust-file={}", cert.display()));
    c.args(["--auth=plain", "--user=carol"])
        .arg(format!("--passwordeval=echo {password}"));
    c.args(["--from=m@example.org", "far@other.test"]);
    run(&mut c, MESSAGE)
}

#[test]
fn starttls_auth_plain_relays() {
    let server = TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("carol", "msmtp-pw")
        .start();
    let r = msmtp(&server, "msmtp-pw");
    r.assert_ok();
    let id = queued_id(&r.all())
        .unwrap_or_else(|| panic!("no queue id in msmtp -v output:\n{}", r.all()));
    let q = server.queue_json();
    let m = find(&q, &id);
    assert_eq!(m.sender(), "m@example.org");
    assert_eq!(m.rcpt_addresses(), ["far@other.test"]);
    assert!(
        m.size >= MESSAGE.len() as u64,
        "size {} < message {}",
        m.size,
        MESSAGE.len()
    );
}

#[test]
fn wrong_password_fails_and_queues_nothing() {
    let server = TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("carol", "msmtp-pw")
        .start();
    let r = msmtp(&server, "not-it");
    assert!(!r.status.success(), "{}", r.all());
    assert!(r.all().contains("535 5.7.8"), "{}", r.all());
    assert!(server.queue_json().is_empty());
}
