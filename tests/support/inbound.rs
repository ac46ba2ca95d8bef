//! Helpers for the inbound authentication suites (tests/inbound_*.rs): a dnsmasq zone with
//! SPF/DKIM/DMARC records (`zone`), messages signed by dkimpy, SMTP from chosen 127.0.0.x
//! source addresses, and the independent verdicts of pyspf, dkimpy, dnspython and authheaders
//! (tests/peers/auth_check.py).
pub mod zone;

use super::TestServer;
use super::dns::Dnsmasq;
use super::peers::{self, peer_file, require_python, require_tool};
use super::routing::maildir;
use super::wait;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Our authserv-id: the test servers' host name.
pub const AUTHSERV_ID: &str = "mx.test";

/// The python modules the helper needs (scripts/install-peers installs them).
pub const PY_MODULES: &[&str] = &["dkim", "spf", "dns.resolver", "authheaders", "authres"];

/// An RSA key written by openssl, with the base64 public key DNS publishes.
pub struct Key {
    pub pem: PathBuf,
    pub public_b64: String,
}

pub fn keygen(dir: &Path) -> Key {
    let openssl = require_tool("openssl");
    let pem = dir.join("dkim.pem");
    let run = peers::run(Command::new(&openssl).args(["genrsa", "-out"]).arg(&pem).arg("2048"), b"");
    run.assert_ok();
    let der = Command::new(&openssl).args(["rsa", "-pubout", "-outform", "DER", "-in"]).arg(&pem).output().unwrap();
    assert!(der.status.success(), "openssl rsa -pubout failed");
    use base64::Engine;
    Key { pem, public_b64: base64::engine::general_purpose::STANDARD.encode(der.stdout) }
}

/// Runs tests/peers/auth_check.py with `args`; returns its stdout (asserted success).
pub fn auth_check(args: &[&str]) -> String {
    let py = require_python(PY_MODULES);
    let mut cmd = Command::new(py);
    cmd.arg(peer_file("auth_check.py")).args(args);
    let run = peers::run(&mut cmd, b"");
    run.assert_ok();
    run.stdout
}

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("auth_check.py printed no JSON ({e}): {out}"))
}

/// dkimpy signs `msg` (relaxed/relaxed) for `domain` with selector `sel`.
pub fn sign(msg: &Path, key: &Key, domain: &str) {
    let path = msg.to_str().unwrap();
    auth_check(&["sign", path, "--key", key.pem.to_str().unwrap(), "--selector", "sel", "--domain", domain, "-o", path]);
}

/// dkimpy adds an ARC set for `domain`, copying the Authentication-Results of `domain`.
pub fn arc_sign(msg: &Path, key: &Key, domain: &str) {
    let path = msg.to_str().unwrap();
    let k = key.pem.to_str().unwrap();
    auth_check(&["arc-sign", path, "--key", k, "--selector", "sel", "--domain", domain, "--srv-id", domain, "-o", path]);
}

/// One SMTP transaction: who connects, what the envelope says.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub source: &'static str,
    pub helo: &'static str,
    pub mail_from: &'static str,
    /// Local part at example.com: also names the Maildir the message lands in.
    pub rcpt: String,
}

/// Sends `msg` with smtplib from `env.source`; returns the reply to DATA (or to RCPT
/// when that was refused) as (code, text).
pub fn send(server: &TestServer, env: &Envelope, msg: &Path) -> (u16, String) {
    let port = server.smtp().port().to_string();
    let rcpt = format!("{}@example.com", env.rcpt);
    let out = auth_check(&[
        "send", msg.to_str().unwrap(), "--port", &port, "--source", env.source, "--helo", env.helo,
        "--mail-from", env.mail_from, "--rcpt", &rcpt,
    ]);
    let v = json(&out);
    (v["code"].as_u64().unwrap() as u16, v["text"].as_str().unwrap().to_string())
}

/// What the independent verifiers say about `msg` arriving as `env`.
pub fn expect(dns: &Dnsmasq, env: &Envelope, msg: &Path) -> Value {
    let spec = dns.spec();
    json(&auth_check(&[
        "expect", msg.to_str().unwrap(), "--ns", &spec, "--ip", env.source, "--helo", env.helo,
        "--mail-from", env.mail_from,
    ]))
}

/// authres' parse of the Authentication-Results fields of a delivered message.
pub fn results(delivered: &Path) -> Value {
    json(&auth_check(&["results", delivered.to_str().unwrap(), "--authserv-id", AUTHSERV_ID]))
}

/// Waits for the one message delivered to `<local>@example.com` and returns its file.
pub fn delivered(server: &TestServer, local: &str) -> PathBuf {
    let dir = maildir(server, &format!("{local}@example.com")).join("new");
    let first = || std::fs::read_dir(&dir).ok().and_then(|mut d| d.next()).map(|e| e.unwrap().path());
    wait::until(Duration::from_secs(30), Duration::from_millis(100), first, Option::is_some, |_| {
        format!("nothing delivered to {}\n{}", dir.display(), server.log_text())
    })
    .unwrap()
}

/// A message file in `dir` with a From header, a unique Message-ID and `body`.
pub fn message(dir: &Path, name: &str, from: &str, extra_headers: &str, body: &str) -> PathBuf {
    let text = format!(
        "{extra_headers}From: Sender <{from}>\r\nTo: {name}@example.com\r\nSubject: case {name}\r\n\
         Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{name}@sender.org>\r\n\r\n{body}"
    );
    let path = dir.join(format!("{name}.eml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The results of one method in our (single) Authentication-Results field.
pub fn method<'a>(ours: &'a [Value], name: &str) -> Vec<&'a Value> {
    ours.iter().filter(|r| r["method"] == name).collect()
}
