//! Helpers for the routing, Maildir, webhook and SRS end-to-end tests: servers with alias
//! and mailbox files, Maildirs read with Python's mailbox.Maildir, sending with smtplib and
//! swaks, the webhook API (tests/peers/webhook_api.py, Python http.server), and "remote"
//! mail delivered over MX lookups (dns.rs) into an aiosmtpd receiver (rcv.rs) on 127.0.0.1.

use super::dialog::queued_id;
use super::dns::Dnsmasq;
use super::peers::{Peer, peer_file, require_python, require_tool, run, spawn_printing_port};
use super::rcv::{Received, Receiver};
use super::wait;
use super::{ServerBuilder, TestServer};
use base64::Engine;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A test server with `data`, `config/aliases.toml` and `config/mailboxes.toml` written
/// before it starts (paths relative to its directory, as the config names them).
pub fn start_with_files(builder: ServerBuilder, aliases: &str, mailboxes: &str) -> TestServer {
    let mut server = builder
        .set("aliases.file", "config/aliases.toml")
        .set("mailboxes.file", "config/mailboxes.toml")
        .prepare();
    std::fs::write(server.dir().join("config/aliases.toml"), aliases).unwrap();
    std::fs::write(server.dir().join("config/mailboxes.toml"), mailboxes).unwrap();
    server.spawn();
    server
}

/// `[[mailbox]]` entries for these addresses.
pub fn mailboxes(addresses: &[&str]) -> String {
    addresses.iter().map(|a| format!("[[mailbox]]\naddress = \"{a}\"\n")).collect()
}

/// The Maildir of `user@domain` under the server's data dir.
pub fn maildir(server: &TestServer, address: &str) -> PathBuf {
    let (local, domain) = address.rsplit_once('@').unwrap();
    server.dir().join("data/mail").join(domain).join(local)
}

/// Sends the bytes of `message` as they are with Python's smtplib; Ok(queue reply) or
/// Err("code text") when refused.
pub fn smtplib_send(server: &TestServer, from: &str, to: &[&str], message: &[u8]) -> Result<String, String> {
    let py = require_python(&["smtplib"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), message).unwrap();
    let mut c = Command::new(py);
    c.arg(peer_file("send_raw.py")).args(["--port", &server.smtp().port().to_string(), "--sender", from]);
    for r in to {
        c.args(["--rcpt", r]);
    }
    c.arg(file.path());
    let r = run(&mut c, b"");
    match (r.code(), r.stdout.trim()) {
        (Some(0), out) => Ok(out.trim_start_matches("QUEUED ").to_string()),
        (Some(3), out) => Err(out.trim_start_matches("SMTPERR ").to_string()),
        _ => panic!("send_raw.py failed: {}", r.all()),
    }
}

/// swaks to the smtp listener; returns its whole transcript and exit code.
pub fn swaks(server: &TestServer, from: &str, to: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut c = Command::new(require_tool("swaks"));
    c.args(["--server", &server.smtp().to_string(), "--helo", "client.test", "-f", from, "-t", to]).args(extra);
    let r = run(&mut c, b"");
    (r.code(), r.all())
}

/// One message as Python's mailbox.Maildir read it (tests/peers/maildir_read.py).
#[derive(Debug, serde::Deserialize)]
pub struct MaildirMessage {
    pub key: String,
    pub subdir: String,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub return_path: Option<String>,
    pub delivered_to: Vec<String>,
    pub x_original_to: Option<String>,
    pub text: Option<String>,
    raw_b64: String,
}

impl MaildirMessage {
    pub fn raw(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(&self.raw_b64).unwrap()
    }
}

/// Every message in the Maildir `dir`, read by Python's mailbox module.
pub fn read_maildir(dir: &Path) -> Vec<MaildirMessage> {
    if !dir.join("new").exists() {
        return Vec::new();
    }
    let py = require_python(&["mailbox"]);
    let r = run(Command::new(py).arg(peer_file("maildir_read.py")).arg(dir), b"");
    r.assert_ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("maildir_read.py output ({e}): {}", r.all()))
}

/// Waits until the Maildir holds `n` messages; returns them.
#[track_caller]
pub fn wait_maildir(server: &TestServer, address: &str, n: usize) -> Vec<MaildirMessage> {
    let dir = maildir(server, address);
    wait::until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || read_maildir(&dir),
        |got| got.len() >= n,
        |got| format!("{address}: {} of {n} messages in {}\n{}", got.len(), dir.display(), server.log_text()),
    )
}

/// One request the webhook API received.
#[derive(Debug, serde::Deserialize)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    body_b64: String,
    pub status: u16,
}

impl ApiRequest {
    pub fn body(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(&self.body_b64).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// tests/peers/webhook_api.py on a free loopback port; killed on drop.
pub struct WebhookApi {
    child: Peer,
    pub addr: SocketAddr,
    out: tempfile::TempDir,
}

impl WebhookApi {
    /// `args`: `--token T`, `--statuses 503,200`, `--tls CERT KEY`.
    pub fn start(args: &[&str]) -> WebhookApi {
        let py = require_python(&["http.server"]);
        let out = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(py);
        cmd.arg(peer_file("webhook_api.py")).arg("--out").arg(out.path()).args(args);
        let (child, addr) = spawn_printing_port(cmd);
        WebhookApi { child: Peer(child), addr, out }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<ApiRequest> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// Waits until `n` requests arrived (up to `timeout`); returns all so far.
    #[track_caller]
    pub fn wait_requests(&self, n: usize, timeout: Duration, server: &TestServer) -> Vec<ApiRequest> {
        wait::until(
            timeout,
            Duration::from_millis(50),
            || self.requests(),
            |got| got.len() >= n,
            |got| format!("webhook got {} of {n} requests\n{}", got.len(), server.log_text()),
        )
    }
}

/// A `[[route]]` table from key/value pairs, for `ServerBuilder::set("route", ...)`.
pub fn route(pairs: &[(&str, toml::Value)]) -> toml::Value {
    toml::Value::Table(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

/// `Ok: queued as ID` -> ID.
pub fn queue_id(reply: &str) -> String {
    queued_id(reply).unwrap_or_else(|| panic!("no queue id in {reply:?}"))
}

/// dnsmasq answering for `domains`: each has MX `mx.DOMAIN` at 127.0.0.1.
pub fn mx_dns(domains: &[&str]) -> Dnsmasq {
    let mut conf = String::new();
    for d in domains {
        conf.push_str(&format!("local=/{d}/\nmx-host={d},mx.{d},10\nhost-record=mx.{d},127.0.0.1\n"));
    }
    Dnsmasq::start(&conf)
}

/// Builder settings that deliver "remote" mail over MX lookups at `dns` to `port`.
pub fn via_mx(b: ServerBuilder, dns: &Dnsmasq, port: u16) -> ServerBuilder {
    b.set("delivery.resolver", dns.spec()).set("delivery.smtp_port", i64::from(port)).set("delivery.tls", "none")
}

/// Waits (up to 30 s) until the aiosmtpd receiver stored `n` messages.
#[track_caller]
pub fn wait_received(rcv: &Receiver, n: usize, server: &TestServer) -> Vec<Received> {
    rcv.wait_messages(n, Duration::from_secs(30), server)
}
