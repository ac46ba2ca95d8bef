//! IMAP with clients nobody here wrote, against the real binary: a mailbox made with
//! `postern mailbox add` receives mail over SMTP, then Python's imaplib (implicit TLS
//! and STARTTLS) logs in, lists, selects, fetches, stores, searches, copies, moves,
//! appends, expunges and IDLEs while a message arrives over SMTP; imapclient, curl
//! (`imaps://`), mbsync (syncing the account into a separate Maildir) and mutt (in a
//! terminal tmux gives it: reads, flags, deletes) use it too.
mod support;

use serde_json::Value;
use std::process::Command;
use support::imap::{self, PASSWORD, USER};
use support::peers::{peer_file, require_python, require_tool, run};
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
    let o = imaplib(&server, "ssl", &["--smtp-port", &smtp, "--rcpt", USER, "--sections"]);
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
    // Message 1 is now the APPENDed one.
    let sections = o["sections"].to_string();
    assert!(sections.contains("ENVELOPE (") && sections.contains("\\\"appended\\\""), "{sections}");
    assert!(sections.contains("BODYSTRUCTURE (\\\"text\\\" \\\"plain\\\""), "{sections}");
    assert!(sections.contains("Subject: appended\\r\\n\\r\\n") && sections.contains("\"Appen\""), "{sections}");
    assert_eq!(o["search_subject"], "1");
    assert_eq!(o["search_body"], "1");
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

#[test]
fn imapclient_lists_fetches_and_flags() {
    let server = server_with_mail();
    let py = require_python(&["imapclient"]);
    let script = r#"
import json, ssl, sys
from imapclient import IMAPClient
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = IMAPClient("localhost", port=int(sys.argv[1]), ssl=True, ssl_context=ctx)
c.login(sys.argv[3], sys.argv[4])
folders = [f[2] for f in c.list_folders()]
sel = c.select_folder("INBOX")
msgs = c.search(["ALL"])
data = c.fetch(msgs, ["ENVELOPE", "RFC822.SIZE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
subjects = [data[m][b"ENVELOPE"].subject.decode() for m in msgs]
c.add_flags(msgs[0], [b"\\Answered"])
flags = c.get_flags(msgs[0])[msgs[0]]
special = c.find_special_folder(b"\\Sent")
q = c.get_quota_root("INBOX")
c.logout()
print(json.dumps({"folders": folders, "exists": sel[b"EXISTS"], "uidvalidity": sel[b"UIDVALIDITY"], "subjects": subjects,
                  "flags": [f.decode() for f in flags], "sent": special, "quota_roots": q[0].quota_roots}))
"#;
    let port = server.addr("imaps").port().to_string();
    let r = run(Command::new(py).args(["-c", script, &port, server.cert_path().to_str().unwrap(), USER, PASSWORD]), b"");
    r.assert_ok();
    let o: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.all()));
    assert_eq!(o["exists"], 2, "{o}");
    assert_eq!(o["subjects"], serde_json::json!(["first", "second"]), "{o}");
    assert!(o["flags"].to_string().contains("Answered"), "{o}");
    assert_eq!(o["sent"], "Sent", "{o}");
    assert!(o["uidvalidity"].as_u64().unwrap() > 0);
}

#[test]
fn curl_lists_and_fetches_over_imaps() {
    let server = server_with_mail();
    let curl = require_tool("curl");
    let port = server.addr("imaps").port();
    let cert = server.cert_path();
    let base = format!("imaps://localhost:{port}");
    let common = |url: &str| {
        let mut c = Command::new(&curl);
        c.args(["-sS", "--cacert", cert.to_str().unwrap(), "--user", &format!("{USER}:{PASSWORD}"), url]);
        c
    };
    let list = run(&mut common(&format!("{base}/")), b"");
    list.assert_ok();
    assert!(list.stdout.contains("INBOX") && list.stdout.contains("\\Sent"), "{}", list.all());
    let msg = run(&mut common(&format!("{base}/INBOX;UID=1")), b"");
    msg.assert_ok();
    assert!(msg.stdout.contains("Subject: first") && msg.stdout.contains("Hello Alice."), "{}", msg.all());
    let search = run(common(&format!("{base}/INBOX")).args(["-X", "SEARCH FROM carol"]), b"");
    search.assert_ok();
    assert!(search.stdout.contains("* SEARCH 2"), "{}", search.all());
}

#[test]
fn mbsync_copies_the_account_into_a_local_maildir() {
    let server = server_with_mail();
    let mbsync = require_tool("mbsync");
    let local = tempfile::tempdir().unwrap();
    let rc = local.path().join("mbsyncrc");
    std::fs::create_dir(local.path().join("mail")).unwrap();
    let port = server.addr("imaps").port();
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount postern\nHost localhost\nPort {port}\nUser {USER}\nPass \"{PASSWORD}\"\nSSLType IMAPS\nCertificateFile {cert}\n\n\
             IMAPStore remote\nAccount postern\n\n\
             MaildirStore local\nPath {dir}/\nInbox {dir}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSync Pull\nSyncState *\n",
            cert = server.cert_path().display(),
            dir = local.path().join("mail").display(),
        ),
    )
    .unwrap();
    let r = run(Command::new(&mbsync).args(["-c", rc.to_str().unwrap(), "-a"]), b"");
    r.assert_ok();
    let inbox = local.path().join("mail/INBOX");
    let mut texts: Vec<String> = ["new", "cur"]
        .iter()
        .flat_map(|d| std::fs::read_dir(inbox.join(d)).into_iter().flatten())
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    texts.sort();
    assert_eq!(texts.len(), 2, "{}", r.all());
    assert!(texts[0].contains("Subject: first") && texts[0].contains("Hello Alice."), "{texts:?}");
    assert!(texts[1].contains("Subject: second"), "{texts:?}");
    for f in ["Sent", "Trash", "Drafts", "Junk"] {
        assert!(local.path().join("mail").join(f).is_dir(), "{f} not synced: {}", r.all());
    }
    // A second run has nothing to do.
    let again = run(Command::new(&mbsync).args(["-c", rc.to_str().unwrap(), "-a"]), b"");
    again.assert_ok();
}

/// mutt, in a terminal tmux gives it, over IMAPS: its index lists both messages, it
/// shows the first, flags it and deletes the second; the Maildir then has the flag in
/// the first file's name and no second file.
#[test]
fn mutt_reads_flags_and_deletes_over_imaps() {
    let server = server_with_mail();
    let (mutt, tmux) = (require_tool("mutt"), require_tool("tmux"));
    let home = tempfile::tempdir().unwrap();
    let rc = home.path().join("muttrc");
    let port = server.addr("imaps").port();
    std::fs::write(
        &rc,
        format!(
            "set imap_user = \"{USER}\"\nset imap_pass = \"{PASSWORD}\"\nset folder = \"imaps://localhost:{port}/\"\n\
             set spoolfile = \"+INBOX\"\nset certificate_file = \"{cert}\"\nset ssl_verify_host = no\n\
             set header_cache = \"\"\nset message_cachedir = \"\"\nset record = \"\"\nset move = no\n\
             set sort = date-sent\nset delete = yes\nset quit = yes\nset mail_check = 1\nset timeout = 1\n\
             set pager_stop = yes\nset wait_key = no\n",
            cert = server.cert_path().display(),
        ),
    )
    .unwrap();
    // A private tmux server (its own socket), ended whatever happens.
    let socket = home.path().join("tmux.sock");
    let tmux_cmd = |args: &[&str]| {
        let mut c = Command::new(&tmux);
        c.arg("-S").arg(&socket).args(args).env("HOME", home.path());
        run(&mut c, b"")
    };
    struct Kill<F: Fn()>(F);
    impl<F: Fn()> Drop for Kill<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _kill = Kill(|| {
        tmux_cmd(&["kill-server"]);
    });
    let command = format!("TERM=xterm {} -n -F {}", mutt.display(), rc.display());
    tmux_cmd(&["new-session", "-d", "-x", "160", "-y", "40", &command]).assert_ok();
    let screen = |want: &str| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = tmux_cmd(&["capture-pane", "-p"]).stdout;
            if s.contains(want) {
                return s;
            }
            // A certificate prompt (the file trusts it; older mutts still ask once).
            if s.contains("(r)eject") {
                tmux_cmd(&["send-keys", "o"]);
            }
            assert!(std::time::Instant::now() < deadline, "mutt never showed {want:?}:\n{s}\n{}", server.log_text());
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let index = screen("second");
    assert!(index.contains("first") && index.contains("Bob") && index.contains("Carol"), "{index}");
    // Show the first message (sorted by date: the first one delivered).
    tmux_cmd(&["send-keys", "1", "Enter"]);
    tmux_cmd(&["send-keys", "Enter"]);
    screen("Hello Alice.");
    tmux_cmd(&["send-keys", "i"]);
    screen("second");
    // Flag it, delete the second, write the changes back ($), quit.
    tmux_cmd(&["send-keys", "1", "Enter", "F"]);
    tmux_cmd(&["send-keys", "2", "Enter", "d"]);
    tmux_cmd(&["send-keys", "$"]);
    let dir = support::routing::maildir(&server, USER).join("cur");
    let files = support::wait::until(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(200),
        || std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect::<Vec<_>>(),
        |f| f.len() == 1 && f[0].contains(":2,F"),
        |f| format!("after mutt: {f:?}\n{}", tmux_cmd(&["capture-pane", "-p"]).stdout),
    );
    let text = std::fs::read_to_string(dir.join(&files[0])).unwrap();
    assert!(text.contains("Subject: first"), "{text}");
    tmux_cmd(&["send-keys", "q"]);
}
