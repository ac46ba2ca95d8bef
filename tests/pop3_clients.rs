//! POP3 with real clients (issue 16): an account made with `postern mailbox add`, mail
//! delivered to it over SMTP (plus one LF-only file dropped into the Maildir by "another
//! MDA"), then read with Python's poplib over POP3S and STLS, curl `pop3s://`, and
//! fetchmail (UIDL-based, twice: the second run finds nothing new). Bad input on the plain
//! port — PASS before TLS, wrong state, unknown commands, overlong lines, 20 wrong
//! passwords — gets a clean -ERR or a disconnect, and the server stays up. Side by side with
//! a private Dovecot 2.3 on the same Maildir: the same STAT, LIST, UIDL and RETR bytes.
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use support::peers::{peer_file, require_python, require_tool, run};
use support::dovecot::Dovecot;
use support::server::wait_log;
use support::{Dialog, ServerBuilder, TestServer, wait};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "alice pop pw";

struct Setup {
    server: TestServer,
    vmail: tempfile::TempDir,
}

impl Setup {
    fn start() -> Setup {
        Setup::start_with(|b| b)
    }

    fn start_with(f: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Setup {
        let vmail = tempfile::tempdir().unwrap();
        let mut server = f(TestServer::builder())
            .listeners(&["smtp", "pop3", "pop3s"])
            .set("mailboxes.root", vmail.path().display().to_string())
            .list("relay.local_domains", &[])
            .set("delivery.retry_initial", "1h")
            // The throttle's delay before its -ERR, short so 20 wrong passwords take seconds.
            .set("limits.auth_failure_delay", "200ms")
            .prepare();
        server.cli_ok(&["domain", "add", "example.org"], "");
        server.cli_ok(&["mailbox", "add", USER], &format!("{PASSWORD}\n"));
        server.spawn();
        Setup { server, vmail }
    }

    fn maildir(&self) -> PathBuf {
        self.vmail.path().join("example.org/alice")
    }

    /// Sends `body` (already dot-stuffed for SMTP) to the account and waits for it.
    fn deliver(&self, body: &str) {
        let before = self.files().len();
        let mut d = Dialog::connect(self.server.smtp());
        d.ehlo();
        d.send_mail("sender@remote.test", &[USER], body);
        d.expect("QUIT", 221);
        wait::until(
            Duration::from_secs(20),
            Duration::from_millis(100),
            || self.files().len(),
            |n| *n > before,
            |n| format!("{n} messages in {}, want {}\n{}", self.maildir().display(), before + 1, self.server.log_text()),
        );
    }

    /// Message files in new/ and cur/, with their contents.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(dir) = std::fs::read_dir(self.maildir().join(sub)) {
                for e in dir.flatten() {
                    out.push((e.path(), std::fs::read(e.path()).unwrap()));
                }
            }
        }
        out
    }

    fn pop3(&self) -> SocketAddr {
        self.server.addr("pop3")
    }

    fn pop3s(&self) -> SocketAddr {
        self.server.addr("pop3s")
    }

    /// poplib on `mode` ("ssl" on pop3s, "stls"/"plain" on pop3) running `actions`.
    fn poplib(&self, mode: &str, password: &str, actions: &[&str]) -> Vec<Value> {
        let port = if mode == "ssl" { self.pop3s().port() } else { self.pop3().port() };
        poplib_at(port, mode, &self.server.cert_path(), password, actions).unwrap_or_else(|e| panic!("{e}\n{}", self.server.log_text()))
    }
}

/// poplib against any POP3 server (ours, or the reference Dovecot).
fn poplib_at(port: u16, mode: &str, cafile: &std::path::Path, password: &str, actions: &[&str]) -> Result<Vec<Value>, String> {
    let mut c = Command::new(require_python(&["poplib", "ssl"]));
    c.arg(peer_file("pop3_client.py"))
        .args(["--port", &port.to_string(), "--mode", mode, "--cafile"])
        .arg(cafile)
        .args(["--user", USER, "--password", password])
        .args(actions);
    let r = run(&mut c, b"");
    if r.code() != Some(0) {
        return Err(format!("poplib {mode} {actions:?}: {}", r.all()));
    }
    Ok(r.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect())
}

impl Setup {
}

/// What RETR must carry for a stored file: every line ended by CRLF.
fn crlf(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The header, the empty line and the first `lines` body lines of a CRLF message.
fn top(msg: &[u8], lines: usize) -> Vec<u8> {
    let mut end = msg.windows(4).position(|w| w == b"\r\n\r\n").expect("header end") + 4;
    for _ in 0..lines {
        match msg[end..].windows(2).position(|w| w == b"\r\n") {
            Some(i) => end += i + 2,
            None => break,
        }
    }
    msg[..end].to_vec()
}

fn data(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(v["data"].as_str().expect("data")).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v["data"].as_array().expect("data list").iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

/// The message bodies sent over SMTP: as the client means them, and dot-stuffed for DATA.
const MESSAGES: [&str; 3] = [
    "From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: first\r\n\r\nhello\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n",
    "From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: second\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
    "From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: third\r\n\r\nshort\r\n",
];
const LF_ONLY: &[u8] = b"From: other@mda.test\nSubject: lf only\n\nwritten by another MDA\n.dot line\n";

fn smtp_stuffed(body: &str) -> String {
    body.split_inclusive("\r\n").map(|l| if l.starts_with('.') { format!(".{l}") } else { l.to_string() }).collect()
}

/// Three messages over SMTP, one LF-only file written straight into new/.
fn fill(s: &Setup) {
    for m in MESSAGES {
        s.deliver(&smtp_stuffed(m));
    }
    let tmp = s.maildir().join("tmp/2000000000.lfonly.test");
    std::fs::write(&tmp, LF_ONLY).unwrap();
    std::fs::rename(&tmp, s.maildir().join("new/2000000000.lfonly.test")).unwrap();
}

#[test]
fn poplib_over_pop3s_and_stls() {
    let s = Setup::start();
    fill(&s);
    let stored: Vec<Vec<u8>> = s.files().into_iter().map(|(_, b)| crlf(&b)).collect();
    assert_eq!(stored.len(), 4);
    let out = s.poplib("ssl", PASSWORD, &["nologin", "capa", "auth-ir", "capa"]);
    let before = out[0]["data"].as_object().unwrap();
    for cap in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "SASL", "IMPLEMENTATION"] {
        assert!(before.contains_key(cap), "CAPA lacks {cap}: {before:?}");
    }
    assert_eq!(before["SASL"], serde_json::json!(["PLAIN"]));
    assert!(!before.contains_key("STLS"), "no STLS inside TLS: {before:?}");
    assert_eq!(out[1]["resp"], "+OK Logged in.");
    let after = out[2]["data"].as_object().unwrap();
    assert!(after.contains_key("UIDL") && !after.contains_key("USER") && !after.contains_key("SASL"), "CAPA in TRANSACTION: {after:?}");
    let out = s.poplib("ssl", PASSWORD, &["stat", "list", "uidl", "retr:1", "retr:2", "retr:3", "retr:4", "top:1:0", "top:2:2", "quit"]);
    let total: usize = stored.iter().map(Vec::len).sum();
    assert_eq!(out[0]["data"], serde_json::json!([4, total]), "STAT");
    let list = strings(&out[1]);
    let uidl = strings(&out[2]);
    assert_eq!(list.len(), 4);
    let mut retrieved = Vec::new();
    for (i, r) in out[3..7].iter().enumerate() {
        let msg = data(r);
        let octets = r["resp"].as_str().unwrap();
        assert_eq!(octets, format!("+OK {} octets", msg.len()), "RETR {} size line", i + 1);
        assert_eq!(list[i], format!("{} {}", i + 1, msg.len()), "LIST agrees with RETR");
        retrieved.push(msg);
    }
    // Byte-exact: every stored file, CRLF'd, and nothing else.
    let (mut a, mut b) = (retrieved.clone(), stored.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "RETR must return the stored files byte for byte (CRLF line ends)");
    // The SMTP ones: each the sent message under postern's trace headers.
    for sent in MESSAGES {
        let msg = retrieved.iter().find(|m| m.ends_with(sent.as_bytes())).unwrap_or_else(|| panic!("not retrieved: {sent}"));
        let head = String::from_utf8_lossy(&msg[..msg.len() - sent.len()]).into_owned();
        assert!(head.starts_with("Return-Path: <sender@remote.test>\r\nDelivered-To: alice@example.org\r\n") && head.contains("Received: "), "{head}");
    }
    assert!(retrieved.contains(&crlf(LF_ONLY)), "the LF-only file goes out with CRLF");
    // TOP: the header, the empty line and n body lines.
    assert_eq!(data(&out[7]), top(&retrieved[0], 0), "TOP 1 0");
    assert_eq!(data(&out[8]), top(&retrieved[1], 2), "TOP 2 2");
    // UIDLs: Dovecot's %08Xu%08Xv, distinct, the same over STLS.
    for (i, u) in uidl.iter().enumerate() {
        let (n, id) = u.split_once(' ').unwrap();
        assert_eq!(n, (i + 1).to_string());
        assert!(id.len() == 16 && id.bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
    let stls = s.poplib("stls", PASSWORD, &["uidl", "stat", "quit"]);
    assert_eq!(strings(&stls[0]), uidl, "UIDL over STLS");
    assert_eq!(stls[1]["data"], serde_json::json!([4, total]));
    // RETR marked the messages \Seen (Dovecot's default), at QUIT.
    for (path, _) in s.files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.contains(":2,") && name.rsplit(":2,").next().unwrap().contains('S'), "not seen: {name}");
    }

    // DELE then RSET keeps everything; DELE without QUIT too; DELE + QUIT removes.
    let out = s.poplib("ssl", PASSWORD, &["dele:1", "stat", "list:1", "rset", "stat", "quit"]);
    assert_eq!(out[1]["data"][0], 3);
    assert!(out[2]["error"].as_str().unwrap().starts_with("-ERR"), "LIST of a deleted message: {:?}", out[2]);
    assert_eq!(out[4]["data"][0], 4, "RSET undeletes");
    let out = s.poplib("ssl", PASSWORD, &["dele:2", "stat"]);
    assert_eq!(out[1]["data"][0], 3);
    assert_eq!(s.poplib("ssl", PASSWORD, &["stat"])[0]["data"][0], 4, "no QUIT, no deletion (RFC 1939 §6)");
    let out = s.poplib("ssl", PASSWORD, &["dele:1", "dele:3", "quit"]);
    assert_eq!(out[2]["resp"], "+OK Logging out, messages deleted.");
    let out = s.poplib("stls", PASSWORD, &["stat", "uidl"]);
    assert_eq!(out[0]["data"], serde_json::json!([2, retrieved[1].len() + retrieved[3].len()]));
    let left: Vec<String> = strings(&out[1]).iter().map(|l| l.split_once(' ').unwrap().1.to_string()).collect();
    let want: Vec<String> = [&uidl[1], &uidl[3]].iter().map(|l| l.split_once(' ').unwrap().1.to_string()).collect();
    assert_eq!(left, want, "the kept messages keep their UIDLs");
    assert_eq!(s.files().len(), 2, "files removed from the Maildir");
}

#[test]
fn auth_plain_both_ways_and_session_rules() {
    let s = Setup::start();
    s.deliver(&smtp_stuffed(MESSAGES[2]));
    let out = s.poplib("ssl", PASSWORD, &["auth-ir", "stat", "raw:USER x", "raw:STLS", "quit"]);
    assert_eq!(out[0]["resp"], "+OK Logged in.");
    assert_eq!(out[1]["data"][0], 1);
    assert!(out[2]["error"].as_str().unwrap().starts_with("-ERR"), "USER after login: {:?}", out[2]);
    assert!(out[3]["error"].as_str().unwrap().starts_with("-ERR"), "STLS on pop3s: {:?}", out[3]);
    let out = s.poplib("stls", PASSWORD, &["auth-cont", "stat", "quit"]);
    assert_eq!(out[0]["resp"], "+OK Logged in.");
    assert_eq!(out[1]["data"][0], 1);
    let out = s.poplib("ssl", "not the password", &["auth-ir"]);
    assert_eq!(out[0]["error"], "-ERR [AUTH] Authentication failed.");
}

#[test]
fn curl_pop3s_lists_and_retrieves() {
    let s = Setup::start();
    s.deliver(&smtp_stuffed(MESSAGES[0]));
    s.deliver(&smtp_stuffed(MESSAGES[1]));
    let curl = |path: &str| {
        let mut c = Command::new(require_tool("curl"));
        c.args(["-sS", "--cacert"]).arg(s.server.cert_path());
        c.args(["-u", &format!("{USER}:{PASSWORD}"), &format!("pop3s://127.0.0.1:{}/{path}", s.pop3s().port())]);
        let r = run(&mut c, b"");
        assert_eq!(r.code(), Some(0), "curl {path}: {}\n{}", r.all(), s.server.log_text());
        r.stdout
    };
    let stored: Vec<Vec<u8>> = s.files().into_iter().map(|(_, b)| b).collect();
    let list = curl("");
    let sizes: Vec<&str> = list.lines().collect();
    assert_eq!(sizes.len(), 2, "{list}");
    let m1 = curl("1");
    let m2 = curl("2");
    assert_eq!(sizes[0], format!("1 {}", m1.len()));
    assert_eq!(sizes[1], format!("2 {}", m2.len()));
    assert!(m1.ends_with(MESSAGES[0]) && m2.ends_with(MESSAGES[1]), "{m1}\n{m2}");
    assert!(stored.iter().any(|f| f == m1.as_bytes()) && stored.iter().any(|f| f == m2.as_bytes()));
    // STLS with curl too: required TLS on the plain port.
    let mut c = Command::new(require_tool("curl"));
    c.args(["-sS", "--ssl-reqd", "--cacert"]).arg(s.server.cert_path());
    c.args(["-u", &format!("{USER}:{PASSWORD}"), &format!("pop3://127.0.0.1:{}/1", s.pop3().port())]);
    let r = run(&mut c, b"");
    assert_eq!((r.code(), r.stdout.as_str()), (Some(0), m1.as_str()), "curl STLS: {}", r.all());
}

#[test]
fn fetchmail_fetches_everything_once() {
    let s = Setup::start();
    fill(&s);
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let rc = home.path().join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no syslog\npoll 127.0.0.1 with proto POP3 port {} uidl\n  user \"{USER}\" there with password \"{PASSWORD}\" is \"root\" here\n  options keep ssl sslcertck sslcertfile \"{}\" sslcommonname \"localhost\" mda \"/bin/sh -c 'cat > $(mktemp {}/msg.XXXXXX)'\"\n",
            s.pop3s().port(),
            s.server.cert_path().display(),
            out.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fetch = || {
        let mut c = Command::new(require_tool("fetchmail"));
        c.env("FETCHMAILHOME", home.path()).args(["-N", "-f"]).arg(&rc).arg("--idfile").arg(home.path().join("ids"));
        run(&mut c, b"")
    };
    let first = fetch();
    assert_eq!(first.code(), Some(0), "fetchmail got mail: {}\n{}", first.all(), s.server.log_text());
    let got: Vec<Vec<u8>> = std::fs::read_dir(&out).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    assert_eq!(got.len(), 4, "{}", first.all());
    for sent in MESSAGES {
        assert!(got.iter().any(|m| m.ends_with(sent.as_bytes()) || String::from_utf8_lossy(m).replace("\r\n", "\n").ends_with(&sent.replace("\r\n", "\n"))), "fetchmail lacks {sent:?}");
    }
    let second = fetch();
    // fetchmail exits 1 when there was no new mail.
    assert_eq!(second.code(), Some(1), "second run must find nothing new: {}", second.all());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);
    assert_eq!(s.files().len(), 4, "keep: nothing deleted on the server");
}

/// A raw POP3 dialog on the plain port.
struct Raw {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut raw = Raw { r: BufReader::new(w.try_clone().unwrap()), w };
        let greeting = raw.line().expect("greeting");
        assert!(greeting.starts_with("+OK "), "{greeting}");
        raw
    }
    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.r.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                assert!(l.ends_with("\r\n"), "reply without CRLF: {l:?}");
                Some(l.trim_end().to_string())
            }
        }
    }
    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }
    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.line().unwrap_or_else(|| panic!("no reply to {line:?}"))
    }
    fn multi(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(l) = self.line() {
            if l == "." {
                return out;
            }
            out.push(l);
        }
        panic!("multi-line reply not terminated: {out:?}");
    }
}

#[test]
fn bad_input_on_the_plain_port() {
    let s = Setup::start();
    let mut c = Raw::connect(s.pop3());
    c.send(b"CAPA\r\n");
    assert_eq!(c.line().unwrap(), "+OK Capability list follows.");
    let capa = c.multi();
    assert!(capa.contains(&"STLS".to_string()) && !capa.contains(&"USER".to_string()) && !capa.iter().any(|l| l.starts_with("SASL")), "{capa:?}");
    for line in ["USER alice@example.org", &format!("PASS {PASSWORD}"), "AUTH PLAIN AGFsaWNlAHB3"] {
        assert!(c.cmd(line).starts_with("-ERR [AUTH] Plaintext authentication disallowed"), "{line}");
    }
    for line in ["STAT", "LIST", "RETR 1", "DELE 1", "TOP 1 1", "UIDL", "RSET", "NOOP"] {
        assert_eq!(c.cmd(line), "-ERR Log in first.", "{line} before login");
    }
    assert_eq!(c.cmd("APOP alice 0123456789abcdef"), "-ERR APOP is not supported.");
    assert_eq!(c.cmd("XYZZY"), "-ERR Unknown command.");
    assert_eq!(c.cmd("RETR x"), "-ERR Invalid number.");
    assert_eq!(c.cmd("AUTH CRAM-MD5"), "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    // One overlong line is answered; a second ends the session.
    let long = "A".repeat(5000);
    assert_eq!(c.cmd(&long), "-ERR Command line too long.");
    assert_eq!(c.cmd("NOOP"), "-ERR Log in first.", "in sync after the long line");
    c.send(format!("{long}\r\n").as_bytes());
    assert_eq!(c.line().as_deref(), Some("-ERR Command line too long."));
    assert_eq!(c.line(), None, "closed after the second overlong line");

    // A flood of unknown commands ends at the error limit (limits.errors = 20).
    let mut c = Raw::connect(s.pop3());
    let mut answered = 0;
    for _ in 0..40 {
        if c.w.write_all(b"BOGUS\r\n").is_err() {
            break;
        }
        match c.line() {
            Some(l) if l.starts_with("-ERR") => answered += 1,
            Some(l) => panic!("{l}"),
            None => break,
        }
    }
    assert!((20..=21).contains(&answered), "{answered} -ERR replies before the close");

    // Bytes pipelined after STLS are dropped, never read inside TLS.
    let mut c = Raw::connect(s.pop3());
    c.send(b"STLS\r\nUSER injected\r\n");
    assert_eq!(c.line().unwrap(), "+OK Begin TLS negotiation now.");
    drop(c);
    wait_log(&s.server, &["discarded data pipelined after STLS"], Duration::from_secs(10));

    // QUIT before login.
    let mut c = Raw::connect(s.pop3());
    assert_eq!(c.cmd("QUIT"), "+OK Logging out.");
    assert_eq!(c.line(), None);
}

#[test]
fn twenty_wrong_passwords() {
    let s = Setup::start();
    let out = s.poplib("ssl", PASSWORD, &["badlogins:20"]);
    let results = strings(&out[0]);
    assert_eq!(results.len(), 20);
    for r in &results {
        assert!(r == "closed" || r.starts_with("-ERR"), "{r}");
    }
    assert!(results.iter().filter(|r| r.starts_with("-ERR [AUTH] Authentication failed.")).count() >= 5, "{results:?}");
    assert!(results.iter().any(|r| r.contains("Too many authentication failures") || r == "closed"), "throttled: {results:?}");
    // Still throttled for this client, with a clean -ERR and disconnect; the server is up.
    let out = s.poplib("ssl", PASSWORD, &["nologin", "auth-ir"]);
    assert_eq!(out[0]["error"], "-ERR Too many authentication failures, try again later.", "{out:?}");
    let mut c = Raw::connect(s.pop3());
    assert_eq!(c.cmd("QUIT"), "+OK Logging out.");
}

/// A Maildir Dovecot served first (it assigned the UIDs and UIDVALIDITY and wrote its
/// dovecot-uidlist), then served by postern: the same UIDL list, sizes and message bytes,
/// so a POP3 client moved from Dovecot to postern downloads nothing again.
#[test]
fn dovecot_served_maildir_keeps_its_uidls() {
    let s = Setup::start();
    fill(&s);
    let mut dovecot = Dovecot::start(s.vmail.path(), &[(USER, PASSWORD)]);
    let actions = ["stat", "list", "uidl", "retr:1", "retr:2", "retr:3", "retr:4", "quit"];
    let theirs = poplib_at(dovecot.pop3.port(), "plain", &s.server.cert_path(), PASSWORD, &actions)
        .unwrap_or_else(|e| panic!("{e}\n{}", dovecot.log()));
    dovecot.stop();
    let uidlist = std::fs::read_to_string(s.maildir().join("dovecot-uidlist")).unwrap();
    assert!(uidlist.starts_with("3 V"), "Dovecot wrote its uidlist: {uidlist}");
    let ours = s.poplib("ssl", PASSWORD, &actions);
    assert_eq!(strings(&theirs[2]).len(), 4, "{theirs:?}");
    for (i, what) in ["STAT", "LIST", "UIDL"].iter().enumerate() {
        assert_eq!(ours[i]["data"], theirs[i]["data"], "{what}: postern vs Dovecot");
    }
    for i in 3..7 {
        assert_eq!(data(&ours[i]), data(&theirs[i]), "RETR {}: postern vs Dovecot", i - 2);
        assert_eq!(ours[i]["resp"], theirs[i]["resp"], "RETR {} size line", i - 2);
    }
    eprintln!("Dovecot and postern UIDL: {:?}", strings(&ours[2]));
}

/// Two sessions on one maildrop (no lock, as Dovecot): what one removes stays listed in the
/// other, whose RETR then gets -ERR and whose own DELE of it at QUIT does no harm. Plain
/// logins on loopback here (`tls.plaintext_login_loopback`), so CAPA offers USER and both
/// STLS and SASL PLAIN before TLS.
#[test]
fn concurrent_sessions_and_expunged_messages() {
    let s = Setup::start_with(|b| b.set("tls.plaintext_login_loopback", true));
    s.deliver(&smtp_stuffed(MESSAGES[0]));
    s.deliver(&smtp_stuffed(MESSAGES[1]));
    let login = |c: &mut Raw| {
        assert_eq!(c.cmd(&format!("USER {USER}")), "+OK");
        assert_eq!(c.cmd(&format!("PASS {PASSWORD}")), "+OK Logged in.");
    };
    let mut a = Raw::connect(s.pop3());
    a.send(b"CAPA\r\n");
    a.line();
    let capa = a.multi();
    for cap in ["USER", "SASL PLAIN", "STLS"] {
        assert!(capa.iter().any(|l| l == cap), "{cap} missing: {capa:?}");
    }
    login(&mut a);
    let mut b = Raw::connect(s.pop3());
    login(&mut b);
    assert_eq!(b.cmd("DELE 1"), "+OK Marked to be deleted.");
    assert_eq!(b.cmd("QUIT"), "+OK Logging out, messages deleted.");
    // Session A still lists both and numbers them as at its login.
    assert!(a.cmd("STAT").starts_with("+OK 2 "));
    assert_eq!(a.cmd("RETR 1"), "-ERR Message 1 expunged.");
    let r = a.cmd("RETR 2");
    assert!(r.starts_with("+OK ") && r.ends_with(" octets"), "{r}");
    let body = a.multi().join("\r\n");
    assert!(body.ends_with("line 3"), "{body}");
    assert_eq!(a.cmd("DELE 1"), "+OK Marked to be deleted.");
    assert_eq!(a.cmd("QUIT"), "+OK Logging out, messages deleted.");
    let mut c = Raw::connect(s.pop3());
    login(&mut c);
    assert!(c.cmd("STAT").starts_with("+OK 1 "), "message 2 kept");
    assert_eq!(c.cmd("RETR 2"), "-ERR There's no message 2.");
    assert_eq!(c.cmd("TOP 1 0"), "+OK");
    let head = c.multi();
    assert!(head.iter().any(|l| l == "Subject: second"), "{head:?}");
    assert_eq!(c.cmd("QUIT"), "+OK Logging out.");
}

/// Mail migrated into Dovecot from another POP3 server keeps that server's UIDLs in
/// dovecot-uidlist `P` fields; postern serves them as Dovecot does.
#[test]
fn uidls_kept_in_the_uidlist_are_served() {
    let s = Setup::start_with(|b| b.set("tls.plaintext_login_loopback", true));
    s.deliver(&smtp_stuffed(MESSAGES[0]));
    s.deliver(&smtp_stuffed(MESSAGES[1]));
    let uidls = |s: &Setup| {
        let mut c = Raw::connect(s.pop3());
        assert_eq!(c.cmd(&format!("USER {USER}")), "+OK");
        assert_eq!(c.cmd(&format!("PASS {PASSWORD}")), "+OK Logged in.");
        assert_eq!(c.cmd("UIDL"), "+OK");
        let list = c.multi();
        assert_eq!(c.cmd("QUIT"), "+OK Logging out.");
        list
    };
    let before = uidls(&s);
    assert_eq!(before.len(), 2, "{before:?}");
    // Give UID 1 a kept UIDL, as Dovecot's pop3-migration leaves it.
    let path = s.maildir().join("dovecot-uidlist");
    let list = std::fs::read_to_string(&path).unwrap();
    let edited: String = list
        .lines()
        .map(|l| if l.starts_with("1 ") { l.replacen(" :", " PUIDL-from-old-server.42 :", 1) } else { l.to_string() })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(edited, list, "uidlist line for UID 1 not found:\n{list}");
    std::fs::write(&path, edited).unwrap();
    let after = uidls(&s);
    assert_eq!(after, vec!["1 UIDL-from-old-server.42".to_string(), before[1].clone()]);
}
