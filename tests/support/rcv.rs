//! The SMTP servers mail arrives at: the aiosmtpd receiver of tests/peers/outbound_rcv.py
//! (`Receiver`, and `Received`, one message as it stored it) and Postfix's `smtp-sink`
//! (`SmtpSink`). Each listens on a loopback port of its own, or on a given `ip:port` (an MX
//! host's address and the shared SMTP port), and is killed on drop.
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use super::TestServer;
use super::peers::{Peer, free_port, peer_file, require_python, require_tool, spawn_printing_port, wait_listening};
use super::wait;

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
    child: Peer,
    pub addr: SocketAddr,
    out: tempfile::TempDir,
}

impl Receiver {
    /// On a port of its own on 127.0.0.1. `opts`: outbound_rcv.py flags (`--pipelining`,
    /// `--smtputf8`, `--size N`, `--drop-data`, `--silent`, `--data-451 1`, `--greet-421 2`...).
    pub fn start(opts: &[&str]) -> Receiver {
        Self::launch(None, opts, tempfile::tempdir().unwrap())
    }

    /// On `ip:port`, e.g. an MX host of tests/support/mx.rs.
    pub fn start_on(ip: &str, port: u16, opts: &[&str]) -> Receiver {
        Self::launch(Some((ip, port)), opts, tempfile::tempdir().unwrap())
    }

    /// Storing into `out` (kept when a receiver is replaced on the same address).
    fn launch(at: Option<(&str, u16)>, opts: &[&str], out: tempfile::TempDir) -> Receiver {
        let mut cmd = Command::new(require_python(&["aiosmtpd"]));
        cmd.arg(peer_file("outbound_rcv.py")).arg("--out").arg(out.path());
        if let Some((ip, port)) = at {
            cmd.args(["--bind", ip, "--port", &port.to_string()]);
        }
        cmd.args(opts);
        let (child, printed) = spawn_printing_port(cmd);
        let child = Peer(child);
        let addr = match at {
            Some((ip, port)) => {
                assert_eq!(printed.port(), port, "receiver bound another port");
                format!("{ip}:{port}").parse().unwrap()
            }
            None => printed,
        };
        Receiver { child, addr, out }
    }

    /// Stops this receiver and starts another on the same address with other `opts`;
    /// what was received so far is kept.
    pub fn replace(mut self, opts: &[&str]) -> Receiver {
        self.child.stop();
        let (ip, port) = (self.addr.ip().to_string(), self.addr.port());
        let out = std::mem::replace(&mut self.out, tempfile::tempdir().unwrap());
        Self::launch(Some((&ip, port)), opts, out)
    }

    /// Where the receiver writes its messages and logs.
    pub fn out_dir(&self) -> &Path {
        self.out.path()
    }

    /// Messages accepted so far, in arrival order.
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

    /// TCP connections accepted so far (every one, answered or not).
    pub fn connections(&self) -> usize {
        std::fs::read_to_string(self.out.path().join("connections.log")).map_or(0, |s| s.lines().count())
    }

    /// Waits until `n` messages arrived; returns them all.
    #[track_caller]
    pub fn wait_messages(&self, n: usize, timeout: Duration, server: &TestServer) -> Vec<Received> {
        wait::until(
            timeout,
            Duration::from_millis(100),
            || self.messages(),
            |got| got.len() >= n,
            |got| format!("{}: {} of {n} messages after {timeout:?}\n{}", self.addr, got.len(), server.log_text()),
        )
    }
}

/// Postfix `smtp-sink`, dumping each transaction into its own file.
pub struct SmtpSink {
    child: Peer,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// On a free port on 127.0.0.1. `opts` are smtp-sink flags (`-p`, `-f RCPT`, `-W EHLO:5`,
    /// `-w 1` to wait a second before answering DATA, ...).
    pub fn start(opts: &[&str]) -> SmtpSink {
        Self::start_on("127.0.0.1", free_port(), opts)
    }

    /// On `ip:port`, e.g. an MX host of tests/support/mx.rs.
    pub fn start_on(ip: &str, port: u16, opts: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops to `nobody` before writing dumps.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let child = Command::new(require_tool("smtp-sink"))
            .args(["-u", "nobody", "-d"])
            .arg(dir.path().join("msg."))
            .args(opts)
            .arg(addr.to_string())
            .arg("256") // listen backlog: room for many concurrent deliveries
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Postfix) is installed");
        // Built before waiting, so a failed start still kills the child (Drop).
        let sink = SmtpSink { child: Peer(child), addr, dir };
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

    /// Envelope recipients of every complete dump (`X-Rcpt-Args: <addr> ...` lines), one
    /// entry per delivery: duplicates show up as repeated addresses.
    pub fn recipients(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
            if !text.ends_with("\n\n") {
                continue; // still being written
            }
            for l in text.lines().take_while(|l| !l.is_empty()) {
                if let Some(rest) = l.strip_prefix("X-Rcpt-Args: <") {
                    out.push(rest.split('>').next().unwrap_or_default().to_string());
                }
            }
        }
        out
    }
}
