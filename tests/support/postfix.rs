//! A private Postfix instance (tests/peers/postfix-relay.sh) on a free loopback port that
//! relays everything it accepts to one address: the MTA under test (`start`, `start_with`),
//! or, with STARTTLS and AUTH (`with_tls_auth`), an smtp-sink the test reads. Stopped on drop.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::peers::{Run, free_port, peer_file, require_root, require_tool, run};
use super::pki::write_test_pki;
use super::rcv::SmtpSink;
use super::wait;

/// The AUTH login of a `with_tls_auth` instance.
pub const USER: &str = "testuser";
pub const PASS: &str = "testpass";

pub struct PostfixRelay {
    dir: tempfile::TempDir,
    /// Where Postfix's smtpd listens.
    pub addr: SocketAddr,
    sink: Option<SmtpSink>,
    ca: Option<PathBuf>,
}

impl PostfixRelay {
    /// Relaying to `relay`, no TLS, no AUTH.
    pub fn start(relay: SocketAddr) -> PostfixRelay {
        Self::start_with(relay, &[])
    }

    /// As `start`, with extra main.cf lines such as `smtp_tls_security_level = encrypt`.
    pub fn start_with(relay: SocketAddr, main_cf: &[&str]) -> PostfixRelay {
        Self::launch(relay, main_cf, None)
    }

    /// STARTTLS (certificate from a test CA, see `ca`) and AUTH as USER/PASS (offered only
    /// after STARTTLS), relaying into an smtp-sink of its own (`sink`, `wait_relayed`).
    pub fn with_tls_auth() -> PostfixRelay {
        let sink = SmtpSink::start(&[]);
        Self::launch(sink.addr, &[], Some(sink))
    }

    fn launch(relay: SocketAddr, main_cf: &[&str], sink: Option<SmtpSink>) -> PostfixRelay {
        require_root("a private Postfix instance");
        for tool in ["postfix", "postconf", "script"] {
            require_tool(tool);
        }
        let dir = tempfile::Builder::new()
            .prefix("postern-pf")
            .tempdir()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        // postfix-relay.sh keeps an existing cert.pem; its own openssl one is a CA
        // certificate, which webpki refuses as a server certificate (CaUsedAsEndEntity).
        let ca = sink
            .is_some()
            .then(|| write_test_pki(&dir.path().join("tls"), &["localhost", "127.0.0.1"]));
        let pf = PostfixRelay { dir, addr, sink, ca };
        let (listen_s, relay_s, auth) = (addr.to_string(), relay.to_string(), format!("{USER}:{PASS}"));
        let mut args = vec!["--listen", &listen_s, "--relay", &relay_s, "--no-sink"];
        if pf.sink.is_some() {
            args.extend(["--tls", "--auth", &auth]);
        }
        for kv in main_cf {
            args.extend(["--set", kv]);
        }
        pf.script("start", &args).assert_ok();
        pf
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA that signed Postfix's certificate (SAN localhost, 127.0.0.1).
    #[track_caller]
    pub fn ca(&self) -> PathBuf {
        self.ca.clone().expect("a Postfix started with_tls_auth")
    }

    /// The smtp-sink a `with_tls_auth` instance relays into.
    #[track_caller]
    pub fn sink(&self) -> &SmtpSink {
        self.sink.as_ref().expect("a Postfix started with_tls_auth")
    }

    /// Waits until the sink received a message containing `needle`; returns its dump.
    pub fn wait_relayed(&self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(d) = self.sink().dumps(0).into_iter().find(|d| d.contains(needle)) {
                return Some(d);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Postfix's own log (postlogd), for the delivery status lines.
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir().join("maillog")).unwrap_or_default()
    }

    /// Number of messages still in Postfix's queue.
    pub fn queue_len(&self) -> usize {
        let r = self.script("queue", &[]);
        r.stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("queue count: {}", r.all()))
    }

    /// Waits until Postfix's queue is empty (qmgr removes a file just after logging status=sent).
    #[track_caller]
    pub fn wait_drained(&self, timeout: Duration) {
        wait::until(
            timeout,
            Duration::from_millis(100),
            || self.queue_len(),
            |n| *n == 0,
            |_| format!("Postfix queue not empty after {timeout:?}:\n{}", self.maillog()),
        );
    }

    fn script(&self, cmd: &str, args: &[&str]) -> Run {
        let mut c = Command::new("bash");
        c.arg(peer_file("postfix-relay.sh"))
            .arg(cmd)
            .arg("--dir")
            .arg(self.dir())
            .args(args);
        run(&mut c, b"")
    }
}

impl Drop for PostfixRelay {
    fn drop(&mut self) {
        let r = self.script("stop", &[]);
        if !r.status.success() {
            eprintln!("postfix stop failed: {}", r.all());
        }
    }
}
