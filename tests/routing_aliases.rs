//! Virtual domains, mailboxes and aliases end to end: alias to two local mailboxes and a
//! remote address (delivered by MX, dnsmasq + aiosmtpd, with an SRS sender), catch-all,
//! subaddressing, unknown users refused at RCPT, open domains, reloads, transport map.
//! Mail is sent with swaks and smtplib; Maildirs are read with Python's mailbox module.
mod support;

use std::time::Duration;
use support::queue::wait_queue_empty;
use support::rcv::Receiver;
use support::routing::*;
use support::{Dialog, ServerBuilder};
use toml::Value;

#[test]
fn alias_to_two_local_mailboxes_and_one_remote_address_with_srs() {
    let dns = mx_dns(&["remote.test"]);
    let rcv = Receiver::start(&[]);
    let b = via_mx(ServerBuilder::new(), &dns, rcv.addr.port());
    let aliases = "\"team@example.com\" = [\"alice@example.com\", \"bob@example.com\", \"Carol@remote.test\"]\n";
    let server = start_with_files(b, aliases, &mailboxes(&["alice@example.com", "bob@example.com"]));
    let (code, out) = swaks(&server, "sender@origin.test", "team@example.com", &["--header", "Subject: to the team"]);
    assert_eq!(code, Some(0), "{out}");
    for who in ["alice@example.com", "bob@example.com"] {
        let got = wait_maildir(&server, who, 1);
        assert_eq!(got.len(), 1, "{who}: {got:#?}");
        let m = &got[0];
        assert_eq!(m.subdir, "new");
        assert_eq!(m.subject.as_deref(), Some("to the team"));
        assert_eq!(m.delivered_to, [who]);
        assert_eq!(m.x_original_to.as_deref(), Some("team@example.com"));
        assert_eq!(m.return_path.as_deref(), Some("<sender@origin.test>"), "local copies keep the sender");
    }
    let remote = wait_received(&rcv, 1, &server);
    assert_eq!(remote[0].rcpt_tos, ["Carol@remote.test"]);
    let from = &remote[0].mail_from;
    assert!(from.starts_with("SRS0=") && from.ends_with("=origin.test=sender@example.com"), "MAIL FROM {from}");
    assert!(String::from_utf8_lossy(&remote[0].content()).contains("Subject: to the team"));
    wait_queue_empty(&server, Duration::from_secs(10));
    assert!(read_maildir(&maildir(&server, "team@example.com")).is_empty(), "the alias itself has no mailbox");
}

#[test]
fn catch_all_and_subaddress() {
    let aliases = "\"@example.com\" = [\"catchall@example.com\"]\n";
    let server = start_with_files(ServerBuilder::new(), aliases, &mailboxes(&["alice@example.com", "catchall@example.com"]));
    smtplib_send(&server, "s@origin.test", &["alice+news@example.com"], b"Subject: tagged\r\n\r\nx\r\n").unwrap();
    smtplib_send(&server, "s@origin.test", &["Nobody.Here@example.com"], b"Subject: stray\r\n\r\nx\r\n").unwrap();
    let alice = wait_maildir(&server, "alice@example.com", 1);
    assert_eq!(alice[0].subject.as_deref(), Some("tagged"));
    assert_eq!(alice[0].delivered_to, ["alice+news@example.com"], "Delivered-To keeps the tag");
    assert_eq!(alice[0].x_original_to, None, "not aliased: no X-Original-To");
    let catchall = wait_maildir(&server, "catchall@example.com", 1);
    assert_eq!(catchall[0].subject.as_deref(), Some("stray"));
    assert_eq!(catchall[0].x_original_to.as_deref(), Some("Nobody.Here@example.com"));
    assert!(!maildir(&server, "alice+news@example.com").exists(), "no Maildir per tag");
    wait_queue_empty(&server, Duration::from_secs(10));
}

#[test]
fn unknown_user_is_refused_at_rcpt_but_open_domains_accept_anyone() {
    let b = ServerBuilder::new().list("relay.local_domains", &["example.com", "open.test"]);
    let server = start_with_files(b, "", &mailboxes(&["alice@example.com"]));
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@origin.test>", 250);
    d.cmd("RCPT TO:<nobody@example.com>").assert(550, "5.1.1");
    let r = d.cmd("RCPT TO:<nobody+tag@example.com>");
    r.assert(550, "5.1.1");
    assert!(r.text().contains("User unknown"), "{r:?}");
    d.cmd("RCPT TO:<Alice@EXAMPLE.com>").assert(250, "2.1.5");
    d.cmd("RCPT TO:<anyone@open.test>").assert(250, "2.1.5");
    d.expect("DATA", 354);
    d.send(b"Subject: mixed\r\n\r\nhello\r\n");
    d.cmd(".").assert(250, "2.0.0");
    // swaks sees the same refusal (exit 24: no recipient accepted).
    let (code, out) = swaks(&server, "s@origin.test", "ghost@example.com", &[]);
    assert_eq!(code, Some(24), "{out}");
    assert!(out.contains("550 5.1.1 <ghost@example.com>: Recipient address rejected: User unknown"), "{out}");
    assert_eq!(wait_maildir(&server, "alice@example.com", 1)[0].delivered_to, ["Alice@example.com"]);
    assert_eq!(wait_maildir(&server, "anyone@open.test", 1)[0].subject.as_deref(), Some("mixed"));
    wait_queue_empty(&server, Duration::from_secs(10));
}

#[test]
fn aliases_and_mailboxes_reload_without_restart() {
    let server = start_with_files(ServerBuilder::new(), "", &mailboxes(&["alice@example.com"]));
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@origin.test>", 250);
    d.cmd("RCPT TO:<new@example.com>").assert(550, "5.1.1");
    d.cmd("RCPT TO:<dave@example.com>").assert(550, "5.1.1");
    std::fs::write(server.dir().join("config/aliases.toml"), "\"new@example.com\" = \"alice@example.com\"\n").unwrap();
    let more = mailboxes(&["alice@example.com", "dave@example.com"]);
    std::fs::write(server.dir().join("config/mailboxes.toml"), &more).unwrap();
    d.cmd("RCPT TO:<new@example.com>").assert(250, "2.1.5");
    d.cmd("RCPT TO:<dave@example.com>").assert(250, "2.1.5");
    d.expect("DATA", 354);
    d.send(b"Subject: after reload\r\n\r\nx\r\n");
    d.cmd(".").assert(250, "2.0.0");
    assert_eq!(wait_maildir(&server, "alice@example.com", 1)[0].x_original_to.as_deref(), Some("new@example.com"));
    wait_maildir(&server, "dave@example.com", 1);
    // A broken file is reported and the previous tables stay in force.
    std::fs::write(server.dir().join("config/aliases.toml"), "\"new@example.com\" = [").unwrap();
    d.expect("MAIL FROM:<s@origin.test>", 250);
    d.cmd("RCPT TO:<new@example.com>").assert(250, "2.1.5");
    // The log line may reach the test's log pump a moment after the RCPT reply.
    support::server::wait_log(&server, &["directory not reloaded"], Duration::from_secs(5));
}

#[test]
fn transport_map_rejects_and_overrides_local_delivery() {
    let dns = mx_dns(&["example.com"]);
    let rcv = Receiver::start(&[]);
    let routes = Value::Array(vec![
        route(&[("match", "legacy@example.com".into()), ("transport", "reject".into())]),
        route(&[("match", "archive@example.com".into()), ("transport", "mx".into())]),
        route(&[("match", ".blocked.test".into()), ("transport", "reject".into())]),
    ]);
    let b = via_mx(ServerBuilder::new(), &dns, rcv.addr.port()).set("route", routes).set("server.hostname", "gw.test");
    let server = start_with_files(b, "", "");
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@origin.test>", 250);
    let r = d.cmd("RCPT TO:<legacy@example.com>");
    r.assert(550, "5.7.1");
    assert!(r.text().contains("Access denied"), "{r:?}");
    d.cmd("RCPT TO:<x@mail.blocked.test>").assert(550, "5.7.1");
    d.cmd("RCPT TO:<archive+2026@example.com>").assert(250, "2.1.5");
    d.cmd("RCPT TO:<someone@example.com>").assert(250, "2.1.5");
    d.expect("DATA", 354);
    d.send(b"Subject: routed\r\n\r\nx\r\n");
    d.cmd(".").assert(250, "2.0.0");
    let remote = wait_received(&rcv, 1, &server);
    assert_eq!(remote[0].rcpt_tos, ["archive+2026@example.com"], "mx route wins over local delivery");
    assert_eq!(wait_maildir(&server, "someone@example.com", 1)[0].subject.as_deref(), Some("routed"));
    wait_queue_empty(&server, Duration::from_secs(10));
}
