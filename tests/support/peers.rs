//! Finding and running the third-party peers (swaks, msmtp, python3, Postfix, ...): a missing
//! peer fails the test with a pointer to `scripts/install-peers`, never a silent skip. Also
//! what every peer wrapper shares: free loopback ports, the scripts in tests/peers/, peer
//! processes that print their port, kill-on-drop, and waiting for a listener.

use std::env;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::wait;

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

/// A TCP port free on every one of these loopback addresses right now: MX hosts that
/// must all listen on the same port (delivery uses one port for every MX).
pub fn free_port_on(ips: &[&str]) -> u16 {
    let (first, rest) = ips.split_first().expect("at least one address");
    loop {
        let probe = TcpListener::bind((*first, 0)).unwrap();
        let port = probe.local_addr().unwrap().port();
        if rest.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
}

/// A loopback port free for both UDP and TCP right now: for a DNS server (dnsmasq), or a
/// DNS server address nobody answers on.
pub fn free_udp_tcp_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Waits (up to 10 s) until something accepts TCP connections on `addr`.
#[track_caller]
pub fn wait_listening(addr: SocketAddr, what: &str) {
    wait_listening_for(addr, what, Duration::from_secs(10));
}

#[track_caller]
pub fn wait_listening_for(addr: SocketAddr, what: &str, timeout: Duration) {
    wait::until(
        timeout,
        Duration::from_millis(20),
        || TcpStream::connect(addr).is_ok(),
        |up| *up,
        |_| format!("{what} did not start on {addr}"),
    );
}

/// Runs a peer script that prints `PORT <n>` first; returns it with its address.
pub fn spawn_printing_port(mut cmd: Command) -> (Child, SocketAddr) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
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

/// A peer process, killed on drop.
pub struct Peer(pub Child);

impl Peer {
    /// Kills the process and reaps it.
    pub fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
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
    run_for(cmd, stdin, RUN_TIMEOUT)
}

/// `run` with its own time limit (a browser scenario takes longer than one peer command).
pub fn run_for(cmd: &mut Command, stdin: &[u8], limit: Duration) -> Run {
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
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
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
