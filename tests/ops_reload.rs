//! SIGHUP reload (issue 9): a renewed certificate and a changed password take effect for
//! new sessions, while a session opened before the reload finishes its transaction.
mod support;

use std::time::{Duration, Instant};
use support::{Dialog, TestServer, config};

fn wait_for_log(server: &TestServer, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log_text().contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in the log:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_swaps_certificate_and_password_without_dropping_sessions() {
    let server = TestServer::builder().user("alice", "old-password").park_delivery().start();
    let old_cert = server.dir().join("old-cert.pem");
    std::fs::copy(server.cert_path(), &old_cert).unwrap();

    // A session that is open across the reload.
    let mut open = Dialog::connect_tls(server.submissions(), &old_cert);
    open.ehlo();
    open.auth_plain("alice", "old-password").assert(235, "2.7.0");
    open.expect("MAIL FROM:<alice@example.com>", 250);

    // Renew the certificate in place and change the password, then SIGHUP.
    config::write_test_cert(server.dir());
    let out = server.cli(&["user", "add", "alice"], b"new-password");
    assert!(out.status.success(), "{}", support::server::describe(&out));
    server.signal(libc::SIGHUP);
    wait_for_log(&server, "reloaded certificates, DKIM keys and users");

    // New sessions see the new certificate and the new password.
    let new_cert = server.cert_path();
    assert_ne!(std::fs::read(&new_cert).unwrap(), std::fs::read(&old_cert).unwrap());
    let mut fresh = Dialog::connect_tls(server.submissions(), &new_cert);
    fresh.ehlo();
    fresh.auth_plain("alice", "old-password").assert(535, "5.7.8");
    fresh.auth_plain("alice", "new-password").assert(235, "2.7.0");
    let handshake_with_old = std::panic::catch_unwind(|| Dialog::connect_tls(server.submissions(), &old_cert));
    assert!(handshake_with_old.is_err(), "the old certificate must no longer be served");

    // The session opened before the reload finishes its message.
    open.expect("RCPT TO:<bob@example.net>", 250);
    open.expect("DATA", 354);
    let done = open.cmd("Subject: across a reload\r\n\r\nstill here\r\n.");
    done.assert(250, "2.0.0");
    let id = support::queued_id(&done.text()).expect("queue id");
    assert!(server.queue_json().iter().any(|m| m.id == id), "message {id} is queued");
}

#[test]
fn bad_config_on_sighup_keeps_the_running_one() {
    let server = TestServer::builder().user("alice", "pw-one").park_delivery().start();
    let good = std::fs::read_to_string(server.config_path()).unwrap();
    std::fs::write(server.config_path(), format!("{good}\n[limits]\nno_such_key = 1\n")).unwrap();
    server.signal(libc::SIGHUP);
    wait_for_log(&server, "reload failed, keeping the running configuration");
    let mut d = Dialog::connect_tls(server.submissions(), &server.cert_path());
    d.ehlo();
    d.auth_plain("alice", "pw-one").assert(235, "2.7.0");
}
