//! The MX world of the end-to-end delivery tests (tests/delivery_*.rs, interop_long_lines.rs):
//! the real `postern serve` delivering to real peers found through a real DNS server.
//!
//! The world: dnsmasq (dns.rs) serves `zone()`: `dest.test` (MX 10 mx1 -> 127.0.0.2,
//! MX 20 mx2 -> 127.0.0.3), `one.test` (only mx1) and `sender.test` (MX -> 127.0.0.4,
//! where bounces arrive); receivers (rcv.rs: aiosmtpd or smtp-sink, or a `Slammer`) listen
//! on those addresses on one shared port (`mx_port`), which postern uses as
//! `delivery.smtp_port` (`builder`). Mail is submitted with swaks (`submit`: STARTTLS + AUTH
//! on the submission port) or smtplib (`relay_many`, tests/peers/bulk_send.py); DKIM
//! signatures are checked by dkimpy and DSNs parsed by Python's email package.

use super::dialog::queued_id;
use super::dns::Dnsmasq;
use super::peers::{peer_file, require_python, require_tool, run};
use super::{ServerBuilder, TestServer};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
/// Primary and secondary MX of dest.test, and the MX of sender.test.
pub const MX1: &str = "127.0.0.2";
pub const MX2: &str = "127.0.0.3";
pub const SENDER_MX: &str = "127.0.0.4";
pub const SENDER: &str = "alice@sender.test";

/// Records every test starts from; `extra` adds dnsmasq lines (null MX, DKIM keys...).
/// `local=/test/` makes unknown names under .test NXDOMAIN instead of REFUSED.
pub fn zone(extra: &str) -> String {
    format!(
        "local=/test/\n\
         mx-host=dest.test,mx1.dest.test,10\n\
         mx-host=dest.test,mx2.dest.test,20\n\
         host-record=mx1.dest.test,{MX1}\n\
         host-record=mx2.dest.test,{MX2}\n\
         mx-host=one.test,mx1.dest.test,10\n\
         mx-host=sender.test,mx.sender.test,10\n\
         host-record=mx.sender.test,{SENDER_MX}\n\
         {extra}"
    )
}

/// A TCP port free on 127.0.0.2, .3 and .4 right now: the MX hosts' shared SMTP port.
pub fn mx_port() -> u16 {
    loop {
        let first = TcpListener::bind((MX1, 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        if [MX2, SENDER_MX].iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
}

/// The standard test server pointed at `dns` and MX hosts on `port`: short retries, no
/// MTA-STS, a submission user, and `sender.test` allowed as a sender domain.
pub fn builder(dns: &Dnsmasq, port: u16) -> ServerBuilder {
    TestServer::builder()
        .set("delivery.resolver", dns.spec())
        .set("delivery.smtp_port", i64::from(port))
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .set("delivery.mta_sts", false)
        .set("delivery.timeout", "10s")
        .user(USER, PASSWORD)
}

/// Submits `data` (a whole RFC 5322 message) with swaks on the submission port: STARTTLS
/// verified against the test certificate, then AUTH PLAIN. Returns the queue id.
/// swaks ends the data with CRLF "." CRLF after a line end of its own, so the last CRLF of
/// `data` is left out of the file: what the server receives is exactly `data`.
#[track_caller]
pub fn submit(server: &TestServer, from: &str, to: &[&str], data: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), data.strip_suffix(b"\r\n").unwrap_or(data)).unwrap();
    let mut c = Command::new(require_tool("swaks"));
    c.args(["--server", &server.submission().to_string(), "--helo", "client.test"])
        .args(["--tls", "--tls-verify", "--tls-ca-path"])
        .arg(server.cert_path())
        .args(["--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD])
        .args(["-f", from, "-t", &to.join(",")])
        .arg("--data")
        .arg(format!("@{}", file.path().display()));
    let r = run(&mut c, b"");
    assert_eq!(r.code(), Some(0), "swaks submission failed:\n{}", r.all());
    assert!(r.stdout.contains("TLS started"), "no STARTTLS in the transcript:\n{}", r.all());
    assert!(r.stdout.contains("235 "), "no successful AUTH in the transcript:\n{}", r.all());
    let line = r.stdout.lines().find(|l| l.contains("queued as")).unwrap_or_else(|| panic!("no queue id:\n{}", r.all()));
    queued_id(line).unwrap()
}

/// A plain message from `from` to `to` with a subject and a body line.
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Date: Mon, 23 Nov 2026 17:00:00 +0000\r\nMessage-ID: <{}@sender.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

/// A `[[dkim]]` entry signing for sender.test with `key`.
pub fn dkim_entry(key: &postern::dkim::GeneratedKey, selector: &str) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("domain".into(), "sender.test".into());
    t.insert("selector".into(), selector.into());
    t.insert("key".into(), key.path.to_str().unwrap().into());
    toml::Value::Table(t)
}

/// The dnsmasq line publishing `key`'s TXT record.
pub fn dkim_txt(key: &postern::dkim::GeneratedKey) -> String {
    format!("txt-record={},\"{}\"\n", key.record_name, key.txt)
}

/// dkimpy (tests/peers/dkim_verify.py, asking `dns`) on `msg`: (exit code, output).
pub fn dkimpy_verify(msg: &[u8], dns: &Dnsmasq) -> (Option<i32>, String) {
    let py = require_python(&["dkim", "dns.resolver", "nacl"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), msg).unwrap();
    let mut c = Command::new(py);
    c.arg(peer_file("dkim_verify.py")).arg("verify").arg(file.path()).args(["--ns", &dns.spec()]);
    let r = run(&mut c, b"");
    (r.code(), r.all())
}

/// A DSN parsed by Python's email package (tests/peers/dsn_check.py).
pub fn parse_dsn(raw: &[u8]) -> serde_json::Value {
    let py = require_python(&["email"]);
    let r = run(Command::new(py).arg(peer_file("dsn_check.py")), raw);
    r.assert_ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("dsn_check.py output ({e}): {}", r.all()))
}

/// A dead destination: accepts TCP connections on `ip:port` and closes them at once,
/// counting them (an MX that is down but still completes the handshake).
pub struct Slammer {
    pub addr: SocketAddr,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Slammer {
    pub fn start(ip: &str, port: u16) -> Slammer {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind((ip, port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        drop(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Slammer { addr, count, stop }
    }

    pub fn connections(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Slammer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Sends `n` messages from `from` to `to` (a pattern: `{n}` is the message number) over
/// `clients` concurrent plain SMTP connections to the smtp listener (loopback is trusted:
/// relaying needs no AUTH) with Python's smtplib (tests/peers/bulk_send.py). Asserts all
/// were accepted; returns (message number, queue id) pairs.
#[track_caller]
pub fn relay_many(server: &TestServer, from: &str, to: &str, clients: usize, n: usize) -> Vec<(usize, String)> {
    let py = require_python(&["smtplib"]);
    let mut c = Command::new(py);
    c.arg(peer_file("bulk_send.py"))
        .args(["--port", &server.smtp().port().to_string(), "--sender", from, "--rcpt", to])
        .args(["--clients", &clients.to_string(), "--messages", &n.to_string()]);
    let r = run(&mut c, b"");
    r.assert_ok();
    let queued: Vec<(usize, String)> = r
        .stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("QUEUED ")?.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.to_string()))
        })
        .collect();
    assert_eq!(queued.len(), n, "bulk_send.py:\n{}", r.all());
    queued
}

/// Established TCP connections whose remote end is `ip:port`, from /proc/net/tcp (the
/// client side of sessions with a peer: deliveries in flight).
pub fn established_to(ip: std::net::Ipv4Addr, port: u16) -> usize {
    let want = format!("{:08X}:{port:04X}", u32::from_le_bytes(ip.octets()));
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2] == want && f[3] == "01"
        })
        .count()
}
