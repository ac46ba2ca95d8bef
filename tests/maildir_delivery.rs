//! Maildir delivery read back by readers nobody here wrote: Python's mailbox.Maildir and
//! the mail-parser crate; per-mailbox quotas in both modes (reject: 552 5.2.2 at RCPT and
//! a bounce for what no longer fits; defer: retried until there is room).
mod support;

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use std::time::Duration;
use support::queue::wait_queue_empty;
use support::routing::*;
use support::{Dialog, ServerBuilder};

fn attachment_message() -> Vec<u8> {
    let mut m = b"From: =?UTF-8?Q?J=C3=B6rg?= <joerg@origin.test>\r\nTo: alice@example.com\r\n".to_vec();
    m.extend_from_slice(b"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nMIME-Version: 1.0\r\n");
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n");
    m.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    m.extend_from_slice("Hallo Alice, sch\u{f6}ne Gr\u{fc}\u{df}e.\r\n.dot line\r\n".as_bytes());
    m.extend_from_slice(b"--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n");
    m.extend_from_slice(b"Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    m.extend_from_slice(b"AAECAwQFBgcICQ==\r\n--b1--\r\n");
    m
}

#[test]
fn python_mailbox_and_mail_parser_read_what_was_delivered() {
    let server = start_with_files(ServerBuilder::new(), "", &mailboxes(&["alice@example.com"]));
    let msg = attachment_message();
    smtplib_send(&server, "joerg@origin.test", &["alice@example.com"], &msg).unwrap();
    smtplib_send(&server, "", &["alice@example.com"], b"Subject: second\r\n\r\nplain\r\n").unwrap();
    let got = wait_maildir(&server, "alice@example.com", 2);
    assert_eq!(got.len(), 2);
    let first = got.iter().find(|m| m.subject.as_deref() == Some("Grüße")).expect("decoded subject");
    assert_eq!(first.subdir, "new");
    assert_eq!(first.from.as_deref(), Some("Jörg <joerg@origin.test>"));
    assert_eq!(first.return_path.as_deref(), Some("<joerg@origin.test>"));
    assert_eq!(first.delivered_to, ["alice@example.com"]);
    // The CRLF before a MIME boundary belongs to the boundary.
    assert_eq!(first.text.as_deref(), Some("Hallo Alice, schöne Grüße.\r\n.dot line"));
    let second = got.iter().find(|m| m.subject.as_deref() == Some("second")).unwrap();
    assert_eq!(second.return_path.as_deref(), Some("<>"), "null sender");

    // The same files through mail-parser, straight from new/.
    let dir = maildir(&server, "alice@example.com").join("new");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(std::fs::read_dir(dir.parent().unwrap().join("tmp")).unwrap().next().is_none(), "tmp/ is empty");
    let raw = got.iter().map(|m| m.raw()).find(|r| r.windows(4).any(|w| w == b"b1--")).unwrap();
    let on_disk = files.iter().map(|f| std::fs::read(f).unwrap()).find(|b| *b == raw).expect("Python read the file bytes");
    let size: usize = files.iter().find(|f| std::fs::read(f).unwrap() == on_disk).unwrap().to_string_lossy().rsplit(",S=").next().unwrap().parse().unwrap();
    assert_eq!(size, on_disk.len(), "the ,S= size in the name is the file size");
    let parsed = MessageParser::default().parse(&on_disk).expect("mail-parser parses it");
    assert_eq!(parsed.subject(), Some("Grüße"));
    assert_eq!(parsed.body_text(0).as_deref(), Some("Hallo Alice, schöne Grüße.\r\n.dot line"));
    let att = parsed.attachment(0).expect("attachment");
    assert_eq!(att.attachment_name(), Some("data.bin"));
    assert_eq!(att.contents(), &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(matches!(parsed.header("Delivered-To"), Some(HeaderValue::Text(t)) if t == "alice@example.com"));
    assert!(on_disk.ends_with(&msg), "the client's bytes follow our trace headers unchanged");
    wait_queue_empty(&server, Duration::from_secs(10));
}

/// `n` bytes of body text.
fn sized(subject: &str, n: usize) -> Vec<u8> {
    let mut m = format!("Subject: {subject}\r\n\r\n").into_bytes();
    while m.len() < n {
        m.extend_from_slice(b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
    }
    m
}

#[test]
fn quota_reject_refuses_at_rcpt_and_bounces_what_no_longer_fits() {
    let boxes = "[[mailbox]]\naddress = \"alice@example.com\"\nquota = 3000\n[[mailbox]]\naddress = \"bob@example.com\"\n";
    let server = start_with_files(ServerBuilder::new(), "", boxes);
    smtplib_send(&server, "bob@example.com", &["alice@example.com"], &sized("fits", 1000)).unwrap();
    wait_maildir(&server, "alice@example.com", 1);
    // With SIZE= announced, the client learns at RCPT time that it will not fit.
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<bob@example.com> SIZE=2500", 250);
    let r = d.cmd("RCPT TO:<alice@example.com>");
    r.assert(552, "5.2.2");
    assert!(r.text().contains("Mailbox full"), "{r:?}");
    d.expect("RSET", 250);
    // Without SIZE it is accepted, then bounced (5.2.2) when it does not fit.
    smtplib_send(&server, "bob@example.com", &["alice@example.com"], &sized("too big", 2500)).unwrap();
    let dsn = wait_maildir(&server, "bob@example.com", 1);
    let text = String::from_utf8_lossy(&dsn[0].raw()).into_owned();
    assert!(text.contains("Status: 5.2.2") && text.contains("is full"), "{text}");
    assert_eq!(read_maildir(&maildir(&server, "alice@example.com")).len(), 1, "nothing more stored");
    // Once the mailbox is over quota, RCPT is refused even without SIZE.
    let boxes = "[[mailbox]]\naddress = \"alice@example.com\"\nquota = 500\n[[mailbox]]\naddress = \"bob@example.com\"\n";
    std::fs::write(server.dir().join("config/mailboxes.toml"), boxes).unwrap();
    d.expect("MAIL FROM:<bob@example.com>", 250);
    d.cmd("RCPT TO:<alice@example.com>").assert(552, "5.2.2");
    wait_queue_empty(&server, Duration::from_secs(10));
}

#[test]
fn quota_defer_keeps_the_message_until_there_is_room() {
    let boxes = |q: u64| format!("[[mailbox]]\naddress = \"alice@example.com\"\nquota = {q}\n");
    let b = ServerBuilder::new().set("mailboxes.quota_full", "defer").set("delivery.retry_initial", "1s").set("delivery.retry_max", "2s");
    let server = start_with_files(b, "", &boxes(1000));
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<s@origin.test> SIZE=5000", 250);
    d.cmd("RCPT TO:<alice@example.com>").assert(250, "2.1.5");
    d.cmd("RSET");
    let reply = smtplib_send(&server, "s@origin.test", &["alice@example.com"], &sized("waiting", 3000)).unwrap();
    let id = queue_id(&reply);
    let q = server.wait_queue(Duration::from_secs(20), |q| q.iter().any(|m| m.id == id) && server.log_text().contains("dsn=4.2.2"));
    assert_eq!(support::queue::find(&q, &id).recipients[0].state, "Pending");
    let json: serde_json::Value = serde_json::from_slice(&server.cli(&["queue", "list", "--json"], b"").stdout).unwrap();
    let last_error = json[0]["recipients"][0]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(last_error.contains("mailbox alice@example.com is full (quota 1000 bytes)"), "{json}");
    assert!(read_maildir(&maildir(&server, "alice@example.com")).is_empty());
    // Raising the quota (the file is re-read) lets the next retry through.
    std::fs::write(server.dir().join("config/mailboxes.toml"), boxes(100_000)).unwrap();
    assert_eq!(wait_maildir(&server, "alice@example.com", 1)[0].subject.as_deref(), Some("waiting"));
    wait_queue_empty(&server, Duration::from_secs(10));
}
