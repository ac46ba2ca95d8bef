//! Bounces and delay notices end to end: permanent failures (550 at RCPT, null MX), queue
//! lifetime expiry and long delays produce RFC 3464 reports that postern delivers, from
//! `<>`, to the MX of the envelope sender's domain (an aiosmtpd receiver on 127.0.0.4),
//! where Python's email package (tests/peers/dsn_check.py) reads them.
mod support;

use serde_json::Value;
use std::time::Duration;
use support::dns::Dnsmasq;
use support::mx::*;
use support::queue::wait_queued;
use support::rcv::Receiver;
use support::server::{log_lines, wait_log};
use support::{Dialog, TestServer};

const WAIT: Duration = Duration::from_secs(30);

/// The single report that reached the sender's MX, parsed; asserts its envelope.
#[track_caller]
fn one_report(sender_mx: &Receiver, server: &TestServer) -> Value {
    let got = sender_mx.wait_messages(1, WAIT, server);
    assert_eq!(got.len(), 1, "one report: {got:#?}");
    assert_eq!(got[0].mail_from, "<>", "reports come from the null sender (aiosmtpd writes <>)");
    assert_eq!(got[0].rcpt_tos, [SENDER]);
    let dsn = parse_dsn(&got[0].content());
    assert_eq!(dsn["content_type"], "multipart/report", "{dsn:#}");
    assert_eq!(dsn["report_type"], "delivery-status", "{dsn:#}");
    assert_eq!(dsn["defects"], serde_json::json!([]), "{dsn:#}");
    assert_eq!(dsn["per_message"]["reporting-mta"], "dns; mx.test", "{dsn:#}");
    dsn
}

#[test]
fn rejected_recipient_bounces_with_the_remote_reply_others_delivered() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &[]);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let sent = message(SENDER, "bob@dest.test", "half of it bounces", "hello both");
    let id = submit(&server, SENDER, &["bob@dest.test", "perm-nobody@dest.test"], &sent);

    let got = mx1.wait_messages(1, WAIT, &server);
    assert_eq!(got[0].rcpt_tos, ["bob@dest.test"], "only the accepted recipient got it");
    let dsn = one_report(&sender_mx, &server);
    let r = &dsn["recipients"];
    assert_eq!(r.as_array().map(Vec::len), Some(1), "only the failed recipient is reported: {dsn:#}");
    assert_eq!(r[0]["final-recipient"], "rfc822; perm-nobody@dest.test");
    assert_eq!(r[0]["action"], "failed");
    assert_eq!(r[0]["status"], "5.1.1");
    assert_eq!(r[0]["remote-mta"], "dns; mx1.dest.test");
    let diag = r[0]["diagnostic-code"].as_str().unwrap_or_default();
    assert!(diag.starts_with("smtp; 550 5.1.1 <perm-nobody@dest.test>: Recipient address rejected: User unknown"), "{dsn:#}");
    assert_eq!(dsn["returned"]["subject"], "half of it bounces", "{dsn:#}");
    let text = dsn["text"].as_str().unwrap_or_default();
    assert!(text.contains("perm-nobody@dest.test"), "human-readable part names the recipient: {text}");

    let bounced = wait_log(&server, &[&id, "status=bounced"], Duration::from_secs(5));
    assert!(bounced.contains("to=perm-nobody@dest.test") && bounced.contains("dsn=5.1.1"), "{bounced}");
    assert!(bounced.contains("said: 550 5.1.1") && bounced.contains("(in reply to RCPT TO command)"), "{bounced}");
    let notified = wait_log(&server, &[&id, "sender notified", "kind=\"failure\""], Duration::from_secs(5));
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    println!("bounce log lines:\n{bounced}\n{notified}");
}

#[test]
fn null_mx_bounces_at_once_with_5_1_10() {
    let dns = Dnsmasq::start(&zone("dns-rr=nullmx.test,15,000000\n"));
    let port = mx_port();
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let id = submit(&server, SENDER, &["x@nullmx.test"], &message(SENDER, "x@nullmx.test", "to a null MX", "x"));

    let dsn = one_report(&sender_mx, &server);
    let r = &dsn["recipients"][0];
    assert_eq!((r["action"].as_str(), r["status"].as_str()), (Some("failed"), Some("5.1.10")), "{dsn:#}");
    assert!(r["diagnostic-code"].as_str().unwrap_or_default().contains("nullmx.test does not accept mail (nullMX)"), "{dsn:#}");
    let line = wait_log(&server, &[&id, "status=bounced"], Duration::from_secs(5));
    assert!(line.contains("dsn=5.1.10"), "{line}");
    assert!(log_lines(&server, &[&id, "status=deferred"]).is_empty(), "a null MX is not retried");
}

#[test]
fn lifetime_expiry_returns_the_message() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let dead = Slammer::start(MX1, port);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).set("delivery.lifetime", "4s").start();
    let id = submit(&server, SENDER, &["bob@one.test"], &message(SENDER, "bob@one.test", "too late", "x"));

    let dsn = one_report(&sender_mx, &server);
    let r = &dsn["recipients"][0];
    assert_eq!(r["final-recipient"], "rfc822; bob@one.test");
    assert_eq!((r["action"].as_str(), r["status"].as_str()), (Some("failed"), Some("5.4.7")), "{dsn:#}");
    let diag = r["diagnostic-code"].as_str().unwrap_or_default();
    assert!(diag.contains("expired after") && diag.contains("mx1.dest.test[127.0.0.2]"), "the last error is kept: {dsn:#}");
    wait_log(&server, &[&id, "expired, returned to sender"], Duration::from_secs(5));
    assert!(dead.connections() >= 2, "it was retried before it expired");
    let deferred = log_lines(&server, &[&id, "status=deferred"]);
    assert!(!deferred.is_empty());
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

#[test]
fn delay_notice_once_then_still_retrying() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let _dead = Slammer::start(MX1, port);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).set("delivery.delay_notice", "2s").start();
    let id = submit(&server, SENDER, &["bob@one.test"], &message(SENDER, "bob@one.test", "slow going", "x"));

    let dsn = one_report(&sender_mx, &server);
    let r = &dsn["recipients"][0];
    assert_eq!(r["action"], "delayed", "{dsn:#}");
    assert!(r["status"].as_str().is_some_and(|s| s.starts_with("4.")), "{dsn:#}");
    assert!(r.get("will-retry-until").is_some(), "{dsn:#}");
    // More retries, still queued, and no second notice.
    let m = wait_queued(&server, &id, WAIT, |m| m["recipients"][0]["attempts"].as_u64() >= Some(4));
    assert_eq!(m["recipients"][0]["state"], "Pending");
    assert_eq!(m["recipients"][0]["delay_notified"], true, "{m:#}");
    assert_eq!(sender_mx.messages().len(), 1, "one delay notice only");
    assert_eq!(log_lines(&server, &[&id, "sender notified", "kind=\"delay\""]).len(), 1);
}

/// RFC 3461 through a raw dialog (the trusted smtp listener): NOTIFY=NEVER suppresses
/// the bounce, NOTIFY=SUCCESS asks for a success report, ENVID is echoed.
#[test]
fn dsn_notify_and_envid_are_honoured() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &[]);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect(&format!("MAIL FROM:<{SENDER}> RET=HDRS ENVID=env-42"), 250);
    d.expect("RCPT TO:<bob@dest.test> NOTIFY=SUCCESS ORCPT=rfc822;bob@dest.test", 250);
    d.expect("RCPT TO:<perm-quiet@dest.test> NOTIFY=NEVER", 250);
    d.expect("DATA", 354);
    d.send(&message(SENDER, "bob@dest.test", "notify me", "x"));
    d.cmd(".").assert(250, "2.0.0");
    d.expect("QUIT", 221);

    mx1.wait_messages(1, WAIT, &server);
    let dsn = one_report(&sender_mx, &server);
    assert_eq!(dsn["per_message"]["original-envelope-id"], "env-42", "{dsn:#}");
    let r = dsn["recipients"].as_array().cloned().unwrap_or_default();
    assert_eq!(r.len(), 1, "no report for NOTIFY=NEVER: {dsn:#}");
    assert_eq!((r[0]["action"].as_str(), r[0]["status"].as_str()), (Some("delivered"), Some("2.0.0")), "{dsn:#}");
    let orcpt = r[0]["original-recipient"].as_str().unwrap_or_default().replace(' ', "");
    assert_eq!(orcpt, "rfc822;bob@dest.test", "{dsn:#}");
    assert_eq!(dsn["returned"]["type"], "text/rfc822-headers", "RET=HDRS: {dsn:#}");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sender_mx.messages().len(), 1, "still no failure report");
}

/// A bounce that itself cannot be delivered is dropped (logged), never bounced again.
#[test]
fn undeliverable_bounce_is_not_bounced_again() {
    let dns = Dnsmasq::start(&zone("dns-rr=nullmx.test,15,000000\n"));
    let port = mx_port();
    // The sender's MX refuses perm* recipients with 550 5.1.1.
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let from = "perm-alice@sender.test";
    let id = submit(&server, from, &["x@nullmx.test"], &message(from, "x@nullmx.test", "double trouble", "x"));

    let notified = wait_log(&server, &[&id, "sender notified", "kind=\"failure\""], WAIT);
    let notice = notified.split("notice=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
    let line = wait_log(&server, &[&notice, "status=bounced", "to=perm-alice@sender.test"], WAIT);
    assert!(line.contains("said: 550 5.1.1"), "{line}");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(log_lines(&server, &["sender notified"]).len(), 1, "no report about the report:\n{}", server.log_text());
    assert!(sender_mx.messages().is_empty());
}

/// Message-level refusals: too big for the receiver's SIZE (never sent), and content
/// rejected after DATA (554): both bounce every recipient of the transaction at once.
#[test]
fn size_limit_and_content_rejection_bounce() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx1 = Receiver::start_on(MX1, port, &["--size", "2000"]);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let big = message(SENDER, "bob@dest.test", "too big", &format!("{}\r\n", "y".repeat(76)).repeat(60));
    let big_id = submit(&server, SENDER, &["bob@dest.test"], &big);
    let rejected = message(SENDER, "rejectdata-a@dest.test", "rejected content", "spam?");
    let rej_id = submit(&server, SENDER, &["rejectdata-a@dest.test", "rejectdata-b@dest.test"], &rejected);

    let got = sender_mx.wait_messages(2, WAIT, &server);
    let mut by_subject = std::collections::BTreeMap::new();
    for m in &got {
        let dsn = parse_dsn(&m.content());
        by_subject.insert(dsn["returned"]["subject"].as_str().unwrap_or_default().to_string(), dsn);
    }
    let big_dsn = &by_subject["too big"];
    let r = &big_dsn["recipients"][0];
    assert_eq!((r["action"].as_str(), r["status"].as_str()), (Some("failed"), Some("5.3.4")), "{big_dsn:#}");
    assert!(r["diagnostic-code"].as_str().unwrap_or_default().contains("exceeds size limit 2000"), "{big_dsn:#}");
    let rej_dsn = &by_subject["rejected content"];
    let rs = rej_dsn["recipients"].as_array().unwrap();
    assert_eq!(rs.len(), 2, "both recipients of the transaction: {rej_dsn:#}");
    for r in rs {
        assert_eq!((r["action"].as_str(), r["status"].as_str()), (Some("failed"), Some("5.6.0")), "{rej_dsn:#}");
        assert!(r["diagnostic-code"].as_str().unwrap_or_default().starts_with("smtp; 554 5.6.0 Message content rejected"), "{rej_dsn:#}");
    }
    assert!(mx1.messages().is_empty());
    wait_log(&server, &[&big_id, "status=bounced", "dsn=5.3.4"], Duration::from_secs(5));
    assert_eq!(log_lines(&server, &[&rej_id, "status=bounced", "dsn=5.6.0"]).len(), 2);
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}
