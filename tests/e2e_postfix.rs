//! A private Postfix instance (tests/peers/postfix-relay.sh) relays into postern: Postfix is
//! the SMTP client here, in plain text and forced to STARTTLS (postern's delivery parked, the
//! message checked in its queue), and once all the way into a postern Maildir.

mod support;

use std::time::{Duration, Instant};

use support::postfix::PostfixRelay;
use support::queue::find;
use support::{Dialog, ServerBuilder, TestServer, queued_id};

const WAIT: Duration = Duration::from_secs(60);

/// Submits one message to Postfix and returns Postfix's queue id.
fn submit_to_postfix(pf: &PostfixRelay, sender: &str, rcpt: &str) -> String {
    let mut d = Dialog::connect(pf.addr);
    d.ehlo();
    let body = format!(
        "From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: via postfix\r\n\r\nrelayed by Postfix\r\n"
    );
    let id = d.send_mail(sender, &[rcpt], &body);
    d.expect("QUIT", 221);
    id
}

/// Waits for Postfix to log the delivery of `pf_id` and returns that log line.
fn wait_sent_line(pf: &PostfixRelay, pf_id: &str) -> String {
    let start = Instant::now();
    loop {
        let log = pf.maillog();
        if let Some(l) = log
            .lines()
            .find(|l| l.contains(pf_id) && l.contains("status="))
        {
            return l.to_string();
        }
        assert!(
            start.elapsed() < WAIT,
            "Postfix did not try to deliver {pf_id}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Postfix's delivery reached postern: Postfix logged our 250 and the id is in our queue.
fn assert_relayed(
    server: &TestServer,
    pf: &PostfixRelay,
    pf_id: &str,
    sender: &str,
    rcpt: &str,
) -> String {
    let line = wait_sent_line(pf, pf_id);
    assert!(
        line.contains("status=sent"),
        "Postfix did not deliver: {line}\n{}",
        pf.maillog()
    );
    let our_id =
        queued_id(&line).unwrap_or_else(|| panic!("no postern queue id in Postfix's log: {line}"));
    let our_id = our_id.trim_end_matches(')').to_string();
    let q = server.queue_json();
    let m = find(&q, &our_id);
    assert_eq!(m.sender(), sender);
    assert_eq!(m.rcpt_addresses(), [rcpt]);
    pf.wait_drained(WAIT);
    our_id
}

#[test]
fn postfix_relays_into_postern() {
    let server = TestServer::parked();
    let pf = PostfixRelay::start(server.smtp());
    let pf_id = submit_to_postfix(&pf, "pf-sender@example.org", "rcpt@example.com");
    assert_relayed(
        &server,
        &pf,
        &pf_id,
        "pf-sender@example.org",
        "rcpt@example.com",
    );
    assert_eq!(server.queue_json().len(), 1);
}

#[test]
fn postfix_relays_into_postern_over_starttls() {
    let server = TestServer::parked();
    let tls = ["smtp_tls_security_level = encrypt", "smtp_tls_loglevel = 1"];
    let pf = PostfixRelay::start_with(server.smtp(), &tls);
    let pf_id = submit_to_postfix(&pf, "pf-tls@example.org", "rcpt@example.com");
    assert_relayed(
        &server,
        &pf,
        &pf_id,
        "pf-tls@example.org",
        "rcpt@example.com",
    );
    let log = pf.maillog();
    assert!(
        log.contains("TLS connection established to"),
        "Postfix did not use TLS:\n{log}"
    );
}

/// Postfix -> postern -> Maildir: the delivered file carries Postfix's Received header,
/// postern's own, and the body; the queue empties.
#[test]
fn postfix_to_postern_mailbox() {
    let server = ServerBuilder::new().start(); // delivery on: example.com goes to Maildirs
    let pf = PostfixRelay::start(server.smtp());
    let pf_id = submit_to_postfix(&pf, "pf-box@example.org", "box@example.com");
    let line = wait_sent_line(&pf, &pf_id);
    assert!(line.contains("status=sent"), "{line}");

    let new = server.dir().join("data/mail/example.com/box/new");
    let start = Instant::now();
    let file = loop {
        let entry = std::fs::read_dir(&new)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(f) = entry {
            break f;
        }
        assert!(
            start.elapsed() < WAIT,
            "nothing delivered into {}:\n{}",
            new.display(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mail = std::fs::read_to_string(&file).unwrap();
    assert!(
        mail.contains("by pf-relay.localdomain (Postfix)"),
        "no Postfix Received header:\n{mail}"
    );
    assert!(
        mail.contains("by mx.test"),
        "no postern Received header:\n{mail}"
    );
    assert!(
        mail.contains("Subject: via postfix") && mail.contains("relayed by Postfix"),
        "{mail}"
    );
    server.wait_queue(WAIT, |q| q.is_empty());
}
