//! postern's mailstore and a real Dovecot 2.3 on the same Maildir, both ways: a Maildir
//! Dovecot wrote (APPENDs, flags, a keyword, expunges, a folder, a subscription) read by
//! postern with the same UIDVALIDITY, UIDs, UIDNEXT, flags, keywords, sizes, folders and
//! POP3 UIDLs; postern's changes to it, and a Maildir postern wrote from scratch, read by
//! Dovecot the same way. Clients: Python imaplib and poplib (tests/peers/dovecot_maildir.py).
mod support;

use postern::mailstore::{Flags, Folder, Store, pop3_uidl};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};
use support::dovecot::Dovecot;
use support::peers::{peer_file, require_python, run};

const USER: &str = "alice@example.com";
const PASS: &str = "wonderland";

/// What the script saw through `dovecot` (mode `write` or `read`).
fn dovecot_report(dc: &Dovecot, mode: &str) -> Value {
    let py = require_python(&["imaplib", "poplib", "json"]);
    let mut cmd = std::process::Command::new(py);
    cmd.arg(peer_file("dovecot_maildir.py")).args([mode, "127.0.0.1", &dc.imap.port().to_string(), &dc.pop3.port().to_string(), USER, PASS]);
    let out = run(&mut cmd, b"");
    assert!(out.status.success(), "dovecot_maildir.py {mode} failed:\n{}\ndovecot log:\n{}", out.all(), dc.log());
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", out.stdout))
}

fn imap_flags(f: &Flags) -> Vec<String> {
    let mut v: Vec<String> = [(f.answered, "\\Answered"), (f.deleted, "\\Deleted"), (f.draft, "\\Draft"), (f.flagged, "\\Flagged"), (f.seen, "\\Seen")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .chain(f.keywords.iter().cloned())
        .collect();
    v.sort();
    v
}

/// The report's shape, built from postern's view of the same Maildir.
fn postern_report(store: &Store) -> Value {
    let list = store.list().unwrap();
    let mut folders: Vec<String> = list.iter().map(|f| f.name.clone()).collect();
    folders.sort();
    let mut subscribed: Vec<String> = list.iter().filter(|f| f.subscribed).map(|f| f.name.clone()).collect();
    subscribed.sort();
    let mut boxes = serde_json::Map::new();
    for name in &folders {
        let v = store.folder(name).unwrap().sync(true).unwrap();
        let msgs: Vec<Value> = v.messages.iter().map(|m| serde_json::json!({"uid": m.uid, "flags": imap_flags(&m.flags), "size": m.vsize})).collect();
        boxes.insert(name.clone(), serde_json::json!({"uidvalidity": v.uid_validity, "uidnext": v.uid_next, "messages": msgs}));
    }
    let inbox = store.folder("INBOX").unwrap().sync(true).unwrap();
    let uidl: Vec<Value> = inbox.messages.iter().enumerate().map(|(i, m)| serde_json::json!([i + 1, pop3_uidl(inbox.uid_validity, m.uid)])).collect();
    let noselect = store.implied_parents().unwrap();
    serde_json::json!({"folders": folders, "noselect": noselect, "subscribed": subscribed, "mailboxes": boxes, "uidl": uidl})
}

/// Dovecot found nothing to complain about in postern's files (a broken uidlist, a
/// reappearing UID, a duplicate file name would be logged as errors or warnings).
fn assert_quiet(dc: &Dovecot) {
    let log = dc.log();
    eprintln!("dovecot log:\n{log}");
    let bad: Vec<&str> = log.lines().filter(|l| l.contains("Error:") || l.contains("Warning:") || l.contains("Panic:") || l.contains("Fatal:"))
        // Our own `dovecot stop`.
        .filter(|l| !l.contains("Killed with signal 15"))
        .collect();
    assert!(bad.is_empty(), "Dovecot complained:\n{}", bad.join("\n"));
}

fn maildir(mail: &Path) -> std::path::PathBuf {
    mail.join("example.com/alice")
}

fn folder(store: &Store, name: &str) -> Folder {
    store.folder(name).unwrap()
}

#[test]
fn a_dovecot_maildir_opened_by_postern_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let mut dc = Dovecot::start(&mail, &[(USER, PASS)]);
    let written = dovecot_report(&dc, "write");
    dc.stop();
    // The scenario happened as planned: a gap (2 expunged) and the last UID (5) expunged.
    let inbox = &written["mailboxes"]["INBOX"];
    let uids: Vec<u64> = inbox["messages"].as_array().unwrap().iter().map(|m| m["uid"].as_u64().unwrap()).collect();
    assert_eq!(uids, vec![1, 3, 4], "{written}");
    assert_eq!(inbox["uidnext"], 6, "{written}");
    assert_eq!(written["mailboxes"]["Archive.2025"]["messages"][1]["flags"], serde_json::json!(["$Label1", "$Label2", "\\Seen"]));
    let dir = maildir(&mail);
    let uidlist = std::fs::read_to_string(dir.join("dovecot-uidlist")).unwrap();
    eprintln!("Dovecot's dovecot-uidlist:\n{uidlist}");
    // Dovecot 2.3.19 starts a subscriptions file as version 2 (levels joined by TAB).
    assert_eq!(std::fs::read_to_string(dir.join("subscriptions")).unwrap(), "V\t2\n\nArchive\t2025\n");

    let store = Store::open(&dir).unwrap();
    let seen = postern_report(&store);
    assert_eq!(seen, written, "postern (left) and Dovecot (right) disagree");

    // postern changes Dovecot's Maildir: flags, a new keyword, an append, an expunge, a
    // folder; Dovecot (with its index files from before) must see the same.
    let inbox = folder(&store, "INBOX");
    let v = inbox.sync(false).unwrap();
    let mut f = v.messages[0].flags.clone();
    f.keywords.insert("$Label3".into());
    f.flagged = true;
    inbox.set_flags(&v.messages[0], &f).unwrap();
    inbox.expunge(&v.messages[1..2]).unwrap();
    let date = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let uid = inbox.append(&mut &b"Subject: from postern\n\nhello\n"[..], &Flags { draft: true, ..Flags::default() }, Some(date)).unwrap();
    assert_eq!(uid, 6, "Dovecot's UIDNEXT was 6");
    store.create("Projects").unwrap();
    store.subscribe("Projects", true).unwrap();
    let arch = folder(&store, "Archive.2025");
    let av = arch.sync(false).unwrap();
    assert_eq!(arch.copy(&av.messages[1..2], &folder(&store, "Projects")).unwrap(), vec![1]);
    let ours = postern_report(&store);

    let mut dc = Dovecot::start(&mail, &[(USER, PASS)]);
    let theirs = dovecot_report(&dc, "read");
    dc.stop();
    assert_eq!(ours, theirs, "postern (left) and Dovecot (right) disagree after postern's changes");
    assert_quiet(&dc);
}

#[test]
fn a_postern_maildir_read_by_dovecot() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let dir = maildir(&mail);
    let store = Store::open(&dir).unwrap();
    store.ensure_special_use().unwrap();
    store.create("Archive.2025").unwrap();
    store.subscribe("Archive.2025", true).unwrap();
    // Two deliveries the way the Maildir transport writes them (tmp/ → new/, `,S=`).
    for (i, body) in [b"Subject: one\r\n\r\nfirst\r\n".as_slice(), b"Subject: two\n\nbare LF\n"].iter().enumerate() {
        let name = format!("17000000{i:02}.M1P99Q{i}.test,S={}", body.len());
        std::fs::write(dir.join("tmp").join(&name), body).unwrap();
        std::fs::rename(dir.join("tmp").join(&name), dir.join("new").join(&name)).unwrap();
    }
    let inbox = folder(&store, "INBOX");
    let seen = Flags { seen: true, ..Flags::default() };
    let kw = Flags { flagged: true, keywords: ["$Label1".to_string(), "Work".to_string()].into(), ..Flags::default() };
    inbox.append(&mut &b"Subject: three\r\n\r\nappended\r\n"[..], &seen, None).unwrap();
    inbox.append(&mut &b"Subject: four\r\n\r\nto go\r\n"[..], &Flags::default(), None).unwrap();
    inbox.append(&mut &b"Subject: five\r\n\r\nlast\r\n"[..], &kw, None).unwrap();
    let v = inbox.sync(false).unwrap();
    assert_eq!(v.messages.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5], "deliveries numbered first");
    inbox.set_flags(&v.messages[0], &Flags { answered: true, seen: true, ..Flags::default() }).unwrap();
    inbox.expunge(&v.messages[3..4]).unwrap();
    let arch = folder(&store, "Archive.2025");
    arch.append(&mut &b"Subject: archived\r\n\r\nold\r\n"[..], &kw, Some(UNIX_EPOCH + Duration::from_secs(1_500_000_000))).unwrap();
    let ours = postern_report(&store);
    assert_eq!(ours["mailboxes"]["INBOX"]["uidnext"], 6);

    let mut dc = Dovecot::start(&mail, &[(USER, PASS)]);
    let theirs = dovecot_report(&dc, "read");
    dc.stop();
    assert_eq!(ours, theirs, "postern (left) and Dovecot (right) disagree");
    assert_quiet(&dc);
}
