//! Finding and running the third-party peers (swaks, msmtp, python3, Postfix): a missing
//! peer fails the test with a pointer to `scripts/install-peers`, never a silent skip.

use std::env;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The absolute path of `tool`, searched in PATH and the sbin directories.
#[track_caller]
pub fn require_tool(tool: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from);
    env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("peer tool `{tool}` not found: run scripts/install-peers"))
}

/// `python3`, after checking it can import every module in `modules`.
#[track_caller]
pub fn require_python(modules: &[&str]) -> PathBuf {
    let py = require_tool("python3");
    let code = format!(
        "import {}",
        if modules.is_empty() {
            "sys".to_string()
        } else {
            modules.join(", ")
        }
    );
    let ok = Command::new(&py)
        .args(["-c", &code])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 cannot import {modules:?}: run scripts/install-peers"
    );
    py
}

/// Peers that start system daemons (Postfix master) need root.
#[track_caller]
pub fn require_root(what: &str) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "{what} needs root (CI runs the suite as root)");
}

/// A helper script or file in tests/peers/.
pub fn peer_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// A loopback port that was free a moment ago, for peers that cannot bind port 0 themselves.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback UDP port that was free a moment ago (a DNS server address nobody answers on).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a finished peer process left behind.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// stdout and stderr together (swaks and msmtp split the transcript between them).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.status.success(),
            "peer failed ({}):\n{}",
            self.status,
            self.all()
        );
        self
    }
}

/// Runs `cmd` with `stdin`, killing it after RUN_TIMEOUT so a hung peer fails the test.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = thread::spawn(move || {
        use std::io::Write;
        let _ = input.write_all(&data); // the peer may exit without reading everything
    });
    let out = reader(child.stdout.take().unwrap());
    let err = reader(child.stderr.take().unwrap());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {RUN_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap();
    Run {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn reader(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A private Postfix instance (tests/peers/postfix-relay.sh) whose relayhost is `relay`;
/// stopped on drop.
pub struct PostfixRelay {
    dir: tempfile::TempDir,
    pub listen: SocketAddr,
}

impl PostfixRelay {
    pub fn start(relay: SocketAddr) -> PostfixRelay {
        Self::start_with(relay, &[])
    }

    /// As `start`, with extra main.cf lines such as `smtp_tls_security_level = encrypt`.
    pub fn start_with(relay: SocketAddr, main_cf: &[&str]) -> PostfixRelay {
        require_root("a private Postfix instance");
        for tool in ["postfix", "postconf", "script"] {
            require_tool(tool);
        }
        let dir = tempfile::Builder::new()
            .prefix("postern-pf")
            .tempdir()
            .unwrap();
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let pf = PostfixRelay { dir, listen };
        let (listen_s, relay_s) = (listen.to_string(), relay.to_string());
        let mut args = vec!["--listen", &listen_s, "--relay", &relay_s, "--no-sink"];
        for kv in main_cf {
            args.extend(["--set", kv]);
        }
        pf.script("start", &args).assert_ok();
        pf
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
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
        let start = Instant::now();
        while self.queue_len() > 0 {
            assert!(
                start.elapsed() < timeout,
                "Postfix queue not empty after {timeout:?}:\n{}",
                self.maillog()
            );
            thread::sleep(Duration::from_millis(100));
        }
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
