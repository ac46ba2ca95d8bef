//! A private Postfix instance with STARTTLS + AUTH (tests/peers/postfix-relay.sh --tls
//! --auth) relaying into an smtp-sink the test can read; stopped on drop.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::peers::{SmtpSink, free_port, peers_dir};
use super::pki::write_test_pki;

pub const USER: &str = "testuser";
pub const PASS: &str = "testpass";

pub struct PostfixTls {
    pub addr: SocketAddr,
    pub sink: SmtpSink,
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl PostfixTls {
    pub fn start() -> PostfixTls {
        let sink = SmtpSink::start(&[]);
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        // postfix-relay.sh keeps an existing cert.pem; its own openssl one is a CA
        // certificate, which webpki refuses as a server certificate (CaUsedAsEndEntity).
        let ca = write_test_pki(&dir.path().join("tls"), &["localhost", "127.0.0.1"]);
        let out = Command::new("bash")
            .arg(peers_dir().join("postfix-relay.sh"))
            .arg("start")
            .arg("--dir")
            .arg(dir.path())
            .args([
                "--listen",
                &addr.to_string(),
                "--relay",
                &sink.addr.to_string(),
            ])
            .args(["--no-sink", "--tls", "--auth", &format!("{USER}:{PASS}")])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "postfix-relay.sh start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        PostfixTls {
            addr,
            sink,
            dir,
            ca,
        }
    }

    /// The CA that signed Postfix's certificate (SAN localhost, 127.0.0.1).
    pub fn ca(&self) -> PathBuf {
        self.ca.clone()
    }

    /// Waits until the sink received a message containing `needle`; returns its dump.
    pub fn wait_relayed(&self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(d) = self.sink.dumps(0).into_iter().find(|d| d.contains(needle)) {
                return Some(d);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixTls {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(peers_dir().join("postfix-relay.sh"))
            .arg("stop")
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--no-sink")
            .output();
    }
}
