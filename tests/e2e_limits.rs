//! Limits on raw sockets: overlong command lines, oversize messages (in DATA and declared
//! with SIZE=), too many recipients; each with its reply, nothing lost, the session usable.

mod support;

use support::{Dialog, TestServer};

const SMALL: &str = "Subject: small\r\n\r\nsmall body\r\n";

#[test]
fn overlong_command_line_is_500_and_session_continues() {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    let long_mail = format!("MAIL FROM:<{}@example.org>", "a".repeat(600));
    d.cmd(&long_mail).assert(500, "5.5.2");
    // A 64 KiB line and a NOOP in one write: exactly one 500, then the NOOP's 250.
    d.send(format!("NOOP {}\r\nNOOP\r\n", "x".repeat(64 * 1024)).as_bytes());
    d.read_reply().assert(500, "5.5.2");
    assert_eq!(d.read_reply().code, 250);
    let id = d.send_mail("s@example.org", &["rcpt@example.com"], SMALL);
    let q = server.queue_json();
    assert_eq!((q.len(), q[0].id.as_str()), (1, id.as_str()));
}

#[test]
fn oversize_message_is_552_and_not_queued() {
    let server = TestServer::builder()
        .park_delivery()
        .set("limits.message_size", 10_000)
        .start();
    let mut d = Dialog::connect(server.smtp());
    let ehlo = d.ehlo();
    assert!(
        ehlo.lines.iter().any(|l| l == "SIZE 10000"),
        "SIZE limit not advertised: {ehlo:?}"
    );
    d.expect("MAIL FROM:<big@example.org>", 250);
    d.expect("RCPT TO:<rcpt@example.com>", 250);
    d.expect("DATA", 354);
    let line = format!("{}\r\n", "y".repeat(98));
    d.send(format!("Subject: big\r\n\r\n{}.\r\n", line.repeat(200)).as_bytes());
    d.read_reply().assert(552, "5.3.4");
    // The transaction is over; a small message still goes through.
    let id = d.send_mail("small@example.org", &["rcpt@example.com"], SMALL);
    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    assert_eq!(
        (q[0].id.as_str(), q[0].sender()),
        (id.as_str(), "small@example.org")
    );
}

#[test]
fn declared_size_too_big_is_552_at_mail() {
    let server = TestServer::builder()
        .park_delivery()
        .set("limits.message_size", 10_000)
        .start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.cmd("MAIL FROM:<big@example.org> SIZE=20000")
        .assert(552, "5.3.4");
    // No transaction was opened.
    assert_eq!(d.cmd("RCPT TO:<rcpt@example.com>").code, 503);
    d.expect("MAIL FROM:<ok@example.org> SIZE=5000", 250);
    d.expect("RSET", 250);
    assert!(server.queue_json().is_empty());
}

#[test]
fn too_many_recipients_is_452_and_the_rest_is_queued() {
    let server = TestServer::builder()
        .park_delivery()
        .set("limits.recipients", 3)
        .start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@example.org>", 250);
    for i in 1..=3 {
        d.expect(&format!("RCPT TO:<r{i}@example.com>"), 250);
    }
    d.cmd("RCPT TO:<r4@example.com>").assert(452, "4.5.3");
    d.expect("DATA", 354);
    d.send(SMALL.as_bytes());
    let r = d.cmd(".");
    r.assert(250, "2.0.0");
    let q = server.queue_json();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].rcpt_addresses(),
        ["r1@example.com", "r2@example.com", "r3@example.com"]
    );
}
