//! The relay images' rewriting features end to end: sender masquerading for relay clients
//! (envelope and From/Sender/Reply-To), the tag header on every message, and
//! `relay.allowed_sender_domains`. Sent with swaks and smtplib, read with Python's mailbox.
mod support;

use std::time::Duration;
use support::queue::wait_queue_empty;
use support::rcv::Receiver;
use support::routing::*;
use support::{Dialog, ServerBuilder};

#[test]
fn relay_clients_are_masqueraded_and_every_message_is_tagged() {
    let dns = mx_dns(&["remote.test"]);
    let rcv = Receiver::start(&[]);
    let b = via_mx(ServerBuilder::new(), &dns, rcv.addr.port())
        .list("rewrite.masquerade_domains", &["example.com"])
        .set("rewrite.header_tag", "X-Relay: gateway-1");
    let server = start_with_files(b, "", &mailboxes(&["alice@example.com"]));
    // From loopback (a trusted network): relayed, so masqueraded.
    let msg = b"From: App <app@web3.prod.example.com>\r\nReply-To: help@www.example.com\r\nTo: x@remote.test\r\n\
                Subject: masq\r\n\r\nsent by app@web3.prod.example.com\r\n";
    smtplib_send(&server, "app@web3.prod.example.com", &["x@remote.test", "alice@example.com"], msg).unwrap();
    let got = wait_received(&rcv, 1, &server);
    assert_eq!(got[0].mail_from, "app@example.com", "envelope sender masqueraded");
    let content = String::from_utf8(got[0].content()).unwrap();
    assert!(content.starts_with("Received: "), "our trace header first: {content}");
    assert!(content.contains("\r\nX-Relay: gateway-1\r\nFrom: App"), "then the tag, above the client's headers: {content}");
    assert!(content.contains("From: App <app@example.com>\r\n") && content.contains("Reply-To: help@example.com\r\n"), "{content}");
    assert!(content.contains("To: x@remote.test\r\n") && content.contains("sent by app@web3.prod.example.com"), "rest untouched");
    let local = wait_maildir(&server, "alice@example.com", 1);
    assert_eq!(local[0].return_path.as_deref(), Some("<app@example.com>"));
    assert_eq!(local[0].from.as_deref(), Some("App <app@example.com>"));
    assert!(String::from_utf8_lossy(&local[0].raw()).contains("X-Relay: gateway-1\r\n"));
    wait_queue_empty(&server, Duration::from_secs(10));
}

#[test]
fn strangers_are_tagged_but_not_masqueraded() {
    let b = ServerBuilder::new()
        .list("relay.trusted_networks", &["10.99.0.0/16"])
        .list("rewrite.masquerade_domains", &["example.com"])
        .set("rewrite.header_tag", "X-Relay: gateway-1");
    let server = start_with_files(b, "", &mailboxes(&["alice@example.com"]));
    let msg = b"From: someone@host.example.com\r\nSubject: inbound\r\n\r\nx\r\n";
    smtplib_send(&server, "someone@host.example.com", &["alice@example.com"], msg).unwrap();
    let m = &wait_maildir(&server, "alice@example.com", 1)[0];
    assert_eq!(m.return_path.as_deref(), Some("<someone@host.example.com>"));
    assert_eq!(m.from.as_deref(), Some("someone@host.example.com"));
    assert!(String::from_utf8_lossy(&m.raw()).contains("X-Relay: gateway-1\r\n"));
}

#[test]
fn allowed_sender_domains_bind_relay_clients_only() {
    let b = ServerBuilder::new().list("relay.allowed_sender_domains", &["example.com"]);
    let server = start_with_files(b, "", "");
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.cmd("MAIL FROM:<app@other.test>").assert(553, "5.7.1");
    d.expect("MAIL FROM:<app@example.com>", 250);
    let (code, out) = swaks(&server, "app@other.test", "x@remote.test", &[]);
    assert_eq!(code, Some(23), "swaks exits 23 when MAIL FROM is refused: {out}");
}
