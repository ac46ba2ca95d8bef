//! Relay policy on raw sockets: an untrusted, unauthenticated client may only mail local
//! domains, and address tricks that hide a remote destination behind a local domain
//! (percent hack, bang path, source route, quoted local part) are 554 5.7.1.

mod support;

use support::{Dialog, TestServer};

const TRICKS: &[&str] = &[
    "far@other.test",
    "user%other.test@example.com",
    "other.test!user@example.com",
    "@example.com:user@other.test",
    "@example.com,@mx.example.com:user@other.test",
    "\"user@other.test\"@example.com",
];

#[test]
fn untrusted_client_cannot_relay() {
    let server = TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@example.org>", 250);
    for rcpt in TRICKS {
        let r = d.cmd(&format!("RCPT TO:<{rcpt}>"));
        assert_eq!(
            (r.code, r.enhanced()),
            (554, Some("5.7.1")),
            "RCPT TO:<{rcpt}> was not refused: {r:?}"
        );
    }
    d.expect("RCPT TO:<rcpt@example.com>", 250);
    d.expect("RCPT TO:<Other.Rcpt@EXAMPLE.COM>", 250);
    d.expect("DATA", 354);
    d.send(b"Subject: relay\r\n\r\nbody\r\n.\r\n");
    d.read_reply().assert(250, "2.0.0");
    d.expect("QUIT", 221);

    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    let rcpts: Vec<String> = q[0]
        .rcpt_addresses()
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    assert_eq!(
        rcpts,
        ["rcpt@example.com", "other.rcpt@example.com"],
        "only local recipients may be queued"
    );
}

#[test]
fn trusted_network_may_relay() {
    let server = TestServer::parked(); // loopback is trusted by default
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    let id = d.send_mail(
        "s@example.org",
        &["far@other.test"],
        "Subject: relay\r\n\r\nbody\r\n",
    );
    let q = server.queue_json();
    assert_eq!(
        (q.len(), q[0].id.as_str(), q[0].rcpt_addresses()),
        (1, id.as_str(), vec!["far@other.test"])
    );
}

#[test]
fn refused_recipients_leave_nothing_to_queue() {
    // Only an smtp listener this time: the rules do not depend on the other listeners.
    let server = TestServer::builder()
        .park_delivery()
        .listeners(&["smtp"])
        .list("relay.trusted_networks", &[])
        .start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<>", 250);
    for rcpt in TRICKS {
        d.cmd(&format!("RCPT TO:<{rcpt}>")).assert(554, "5.7.1");
    }
    // No accepted recipient: DATA has nothing to deliver to.
    let r = d.cmd("DATA");
    assert!(
        r.code == 554 || r.code == 503,
        "DATA without recipients: {r:?}"
    );
    d.expect("QUIT", 221);
    assert!(server.queue_json().is_empty());
}
