//! Real SMTP servers for the client tests: Postfix smtp-sink and the aiosmtpd receiver
//! in tests/peers/outbound_rcv.py. Each runs on a free loopback port and dies on drop.
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

fn wait_listening(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a peer script that prints `PORT <n>` first; returns it with its address.
pub fn spawn_printing_port(mut cmd: Command) -> (Child, SocketAddr) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd is installed");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{cmd:?} did not print its port: {line:?}"));
    (child, format!("127.0.0.1:{port}").parse().unwrap())
}

/// Kills the child on drop.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Postfix `smtp-sink`, dumping each transaction into its own file.
pub struct SmtpSink {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// `opts` are smtp-sink flags (`-p`, `-f RCPT`, `-W EHLO:5`, ...).
    pub fn start(opts: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops to `nobody` before writing dumps.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new("smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(dir.path().join("msg."))
            .args(opts)
            .arg(addr.to_string())
            .arg("64")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Postfix) is installed");
        let sink = SmtpSink { child, addr, dir };
        wait_listening(addr, "smtp-sink");
        sink
    }

    /// Dump files (smtp-sink headers + message), oldest first; waits up to 2 s for `n`.
    pub fn dumps(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
            let texts: Vec<String> = files
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
            // A dump is complete once its trailing empty line is written.
            let complete = texts.iter().filter(|t| t.ends_with("\n\n")).count();
            if complete >= n || Instant::now() > deadline {
                return texts;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message as tests/peers/outbound_rcv.py stored it.
#[derive(Debug, serde::Deserialize)]
pub struct Received {
    pub peer: (String, u16),
    pub helo: Option<String>,
    pub auth_login: Option<String>,
    pub mail_from: String,
    pub mail_options: Vec<String>,
    pub rcpt_tos: Vec<String>,
    pub rcpt_options: Vec<String>,
    content_b64: String,
}

impl Received {
    pub fn content(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.content_b64)
            .unwrap()
    }
}

/// The aiosmtpd receiver (tests/peers/outbound_rcv.py).
pub struct Receiver {
    child: Child,
    pub addr: SocketAddr,
    out: tempfile::TempDir,
}

impl Receiver {
    /// `opts`: `--pipelining`, `--smtputf8`, `--size N`, `--drop-data`, `--silent`.
    pub fn start(opts: &[&str]) -> Receiver {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(peers_dir().join("outbound_rcv.py"))
            .arg("--out")
            .arg(out.path())
            .args(opts);
        let (child, addr) = spawn_printing_port(cmd);
        Receiver { child, addr, out }
    }

    /// Messages stored so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<_> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
