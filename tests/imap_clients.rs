//! IMAP with clients nobody here wrote, against the real binary: a mailbox made with
//! `postern mailbox add` receives mail over SMTP, then Python's imaplib (implicit TLS
//! and STARTTLS) logs in, lists, selects, fetches, stores, searches, copies, moves,
//! appends, expunges and IDLEs while a message arrives over SMTP; imapclient, curl
//! (`imaps://`) and mbsync (syncing the account into a separate Maildir) read it too.
mod support;

use serde_json::Value;
use std::process::Command;
use support::imap::{self, PASSWORD, USER};
use support::peers::{peer_file, require_python, run};
use support::routing::wait_maildir;
use support::{Dialog, TestServer};

const FIRST: &str = "From: Bob <bob@remote.test>\r\nTo: alice@example.org\r\nSubject: first\r\n\r\nHello Alice.\r\nSecond line.\r\n";
const SECOND: &str = "From: Carol <carol@remote.test>\r\nTo: alice@example.org\r\nSubject: second\r\n\r\nAnother message.\r\n";

/// A server whose mailbox holds FIRST and SECOND, delivered over SMTP.
fn server_with_mail() -> TestServer {
    let server = imap::server();
    let mut smtp = Dialog::connect(server.smtp());
    smtp.ehlo();
    smtp.send_mail("bob@remote.test", &[USER], FIRST);
    smtp.send_mail("carol@remote.test", &[USER], SECOND);
    wait_maildir(&server, USER, 2);
    server
}

fn imaplib(server: &TestServer, mode: &str, extra: &[&str]) -> Value {
    let py = require_python(&["imaplib", "smtplib"]);
    let port = server.addr(if mode == "ssl" { "imaps" } else { "imap" }).port().to_string();
    let cafile = server.cert_path();
    let mut cmd = Command::new(py);
    cmd.arg(peer_file("imap_session.py"))
        .args(["--port", &port, "--mode", mode, "--cafile", cafile.to_str().unwrap(), "--user", USER, "--password", PASSWORD])
        .args(extra);
    let r = run(&mut cmd, b"");
    r.assert_ok();
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

#[test]
fn imaplib_over_imaps_reads_and_changes_the_mailbox_and_sees_idle_pushes() {
    let server = server_with_mail();
    let smtp = server.smtp().port().to_string();
    let o = imaplib(&server, "ssl", &["--smtp-port", &smtp, "--rcpt", USER]);
    let caps: Vec<&str> = o["caps"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for c in ["IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "LITERAL+", "QUOTA", "ENABLE", "NAMESPACE"] {
        assert!(caps.contains(&c), "{c} missing from {caps:?}");
    }
    let list = o["list"].to_string();
    for f in ["\\\"INBOX\\\"", "\\\\Sent", "\\\\Trash", "\\\\Drafts", "\\\\Junk"] {
        assert!(list.contains(f), "{f} not in {list}");
    }
    assert_eq!(o["exists"], 2);
    let bodies = o["bodies"].as_array().unwrap();
    assert!(bodies[0].as_str().unwrap().contains("Subject: first") && bodies[0].as_str().unwrap().ends_with("Second line.\r\n"), "{bodies:?}");
    assert!(bodies[1].as_str().unwrap().contains("Another message."), "{bodies:?}");
    assert_eq!(o["sizes_match"], true, "RFC822.SIZE differs from the BODY[] length: {o}");
    assert_eq!(o["unseen_before"], "1 2");
    assert!(o["flags_after_body"].to_string().contains("\\\\Seen"), "{o}");
    assert_eq!(o["flagged"], "1");
    assert_eq!(o["keyword"], "1");
    assert_eq!(o["uid_search"], "1 2");
    assert_eq!(o["larger"], "1 2");
    assert!(o["copy"].as_str().unwrap().starts_with("OK"), "{o}");
    assert!(o["move_no_folder"].as_str().unwrap().contains("TRYCREATE"), "{o}");
    assert_eq!(o["move"], "OK");
    assert_eq!(o["exists_after_move"], 1);
    assert!(o["append"].as_str().unwrap().contains("APPENDUID"), "{o}");
    assert!(o["status_archive"].as_str().unwrap().contains("MESSAGES 1"), "{o}");
    assert_eq!(o["exists_after_append"], 2);
    // imaplib hands back every EXPUNGE since the last call: MOVE's ("2"), then ours.
    assert_eq!(o["expunge"].as_array().unwrap().last().unwrap(), "1", "{o}");
    assert_eq!(o["exists_after_expunge"], 1);
    assert_eq!(o["idle_push"], "* 2 EXISTS", "{o}");
    let secs = o["idle_seconds_after_send"].as_f64().unwrap();
    assert!(secs < 1.0, "IDLE saw the delivery only after {secs} s");
    assert!(o["idle_done"].as_str().unwrap().contains("OK"), "{o}");
}

#[test]
fn imaplib_over_starttls() {
    let server = server_with_mail();
    let o = imaplib(&server, "starttls", &[]);
    let before = o["caps_before_tls"].to_string();
    assert!(before.contains("STARTTLS") && before.contains("LOGINDISABLED"), "{before}");
    assert_eq!(o["exists"], 2);
    assert_eq!(o["sizes_match"], true);
}
