//! SMTP smuggling: a DATA section holding a bare-LF/CR "end of data" followed by a second,
//! smuggled transaction. postern must answer 550 5.6.0 at the real CRLF.CRLF, queue nothing
//! for it, never queue the smuggled message, and keep the session usable.

mod support;

use support::{Dialog, TestServer};

const SMUGGLED: &str = "MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n";

/// Sends a transaction whose body is `hello` + `ending` + SMUGGLED (which ends in the real
/// CRLF.CRLF), asserts the 550 5.6.0, then checks the session and the queue.
fn smuggling_is_rejected(ending: &str) {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<legit@example.org>", 250);
    d.expect("RCPT TO:<rcpt@example.com>", 250);
    d.expect("DATA", 354);
    d.send(format!("Subject: legit\r\n\r\nhello{ending}{SMUGGLED}").as_bytes());
    let r = d.read_reply();
    assert_eq!(
        (r.code, r.enhanced()),
        (550, Some("5.6.0")),
        "ending {ending:?} was taken as end of data: {r:?}"
    );

    // The smuggled commands were data: the next reply answers our next command.
    let id = d.send_mail(
        "after@example.org",
        &["rcpt@example.com"],
        "Subject: after\r\n\r\nfine\r\n",
    );
    d.expect("QUIT", 221);
    assert_eq!(d.read_until_close(), vec![], "extra replies after QUIT");

    let q = server.queue_json();
    assert_eq!(q.len(), 1, "only the clean message may be queued: {q:#?}");
    assert_eq!(q[0].id, id);
    assert_eq!(q[0].sender(), "after@example.org");
}

#[test]
fn lf_dot_lf() {
    smuggling_is_rejected("\n.\n");
}

#[test]
fn cr_dot_cr() {
    smuggling_is_rejected("\r.\r");
}

#[test]
fn lf_dot_crlf() {
    smuggling_is_rejected("\n.\r\n");
}

#[test]
fn crlf_dot_lf() {
    smuggling_is_rejected("\r\n.\n");
}

#[test]
fn bare_lf_inside_a_line() {
    smuggling_is_rejected("\r\nline one\nline two\r\n");
}

/// A properly dot-stuffed "." line is content: exactly one message, from the real sender,
/// carrying the would-be smuggled text; no message from the smuggler.
#[test]
fn dot_stuffed_line_is_content() {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    let body = format!(
        "Subject: legit\r\n\r\nhello\r\n..\r\n{}",
        SMUGGLED.trim_end_matches(".\r\n")
    );
    let id = d.send_mail("legit@example.org", &["rcpt@example.com"], &body);
    d.expect("QUIT", 221);
    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    assert_eq!(
        (q[0].id.as_str(), q[0].sender()),
        (id.as_str(), "legit@example.org")
    );
    assert!(
        q[0].size as usize >= body.len() - 1,
        "size {} for a {}-byte body",
        q[0].size,
        body.len()
    );
}
