//! A bounce for mail sent from an address that is only an alias of ours reaches the alias
//! target (delivery status notices are expanded like any accepted mail).
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Dialog, TestServer, peers};

#[test]
fn bounce_follows_the_senders_alias() {
    peers::require_tool("smtp-sink");
    let port = peers::free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    // smtp-sink -f RCPT: every RCPT TO gets a permanent 5xx.
    let mut sink = Command::new("smtp-sink")
        .args(["-u", "nobody", "-f", "RCPT", &format!("127.0.0.1:{port}"), "16"])
        .current_dir(sink_dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let server = TestServer::builder()
        .list("delivery.smarthost", &[&format!("[127.0.0.1]:{port}")])
        .set("mailboxes.file", "mailboxes.toml")
        .set("aliases.file", "aliases.toml")
        .prepare();
    std::fs::write(server.dir().join("mailboxes.toml"), "[[mailbox]]\naddress = \"alice@example.com\"\n").unwrap();
    std::fs::write(server.dir().join("aliases.toml"), "\"news@example.com\" = [\"alice@example.com\"]\n").unwrap();
    let mut server = server;
    server.spawn();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("news@example.com", &["someone@remote.test"], "Subject: newsletter\r\n\r\nhello\r\n");

    let inbox = server.dir().join("data/mail/example.com/alice/new");
    let deadline = Instant::now() + Duration::from_secs(20);
    let bounce = loop {
        let found = std::fs::read_dir(&inbox).ok().and_then(|mut it| it.next()).map(|e| e.unwrap().path());
        if let Some(f) = found {
            break std::fs::read_to_string(f).unwrap();
        }
        assert!(Instant::now() < deadline, "no bounce in alice's Maildir:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(bounce.contains("multipart/report"), "{bounce}");
    assert!(bounce.contains("Final-Recipient: rfc822; someone@remote.test"), "{bounce}");
    assert!(bounce.contains("Delivered-To: alice@example.com") || bounce.contains("Delivered-To: news@example.com"), "{bounce}");
    let _ = sink.kill();
}
