//! `TestServer`: the real `postern serve` in a temp dir, configured by `ServerBuilder`,
//! with its listener addresses read from the `listening kind= addr=` log lines, its CLI and
//! its log. (Its queue: queue.rs.)

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::config::{self, Config};
use super::wait;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The binary under test: `POSTERN_TEST_BIN` when set (helpers sharing one target dir
/// each build their own `deps/postern-HASH`, but `debug/postern` is whoever linked last),
/// else the one cargo built for this test.
pub fn postern_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| std::env::var("POSTERN_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_postern").to_string()))
}

/// Everything the daemon printed (stdout and stderr, all runs), with a wake-up for waiters.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

impl Log {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
        self.changed.notify_all();
    }
}

pub struct ServerBuilder {
    config: Config,
    users: Vec<(String, String)>,
    env: Vec<(String, String)>,
    test_cert: bool,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            config: Config::standard(),
            users: Vec::new(),
            env: Vec::new(),
            test_cert: true,
        }
    }
}

impl ServerBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a config key by dotted path, e.g. `.set("limits.recipients", 3)`.
    pub fn set(mut self, path: &str, value: impl Into<toml::Value>) -> Self {
        self.config.set(path, value);
        self
    }

    /// Sets a string-array key, e.g. `.list("relay.trusted_networks", &[])`.
    pub fn list(self, path: &str, items: &[&str]) -> Self {
        let v: Vec<toml::Value> = items.iter().map(|s| toml::Value::from(*s)).collect();
        self.set(path, v)
    }

    pub fn without(mut self, path: &str) -> Self {
        self.config.remove(path);
        self
    }

    /// Only these listener kinds (each on 127.0.0.1:0).
    pub fn listeners(mut self, kinds: &[&str]) -> Self {
        self.config.listeners(kinds);
        self
    }

    /// An environment variable for `postern serve` (the container images' settings).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Adds a user through `postern user add` before the daemon starts.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Accepted mail stays in the queue instead of being delivered (see `Config::park_delivery`).
    pub fn park_delivery(mut self) -> Self {
        self.config.park_delivery();
        self
    }

    /// No `[tls]` section: the daemon generates its own self-signed certificate.
    pub fn self_signed(mut self) -> Self {
        self.config.remove("tls");
        self.test_cert = false;
        self
    }

    /// Writes the config, certificate and users without starting the daemon.
    pub fn prepare(self) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("postern-test")
            .tempdir()
            .unwrap();
        fs::create_dir_all(dir.path().join("config")).unwrap();
        if self.test_cert {
            config::write_test_cert(dir.path());
        }
        let server = TestServer {
            dir,
            env: self.env,
            child: None,
            addrs: BTreeMap::new(),
            log: Arc::default(),
        };
        fs::write(server.config_path(), self.config.to_toml()).unwrap();
        for (name, password) in &self.users {
            let out = server.cli(&["user", "add", name], password.as_bytes());
            assert!(out.status.success(), "user add {name}: {}", describe(&out));
        }
        server
    }

    pub fn start(self) -> TestServer {
        let mut server = self.prepare();
        server.spawn();
        server
    }
}

pub struct TestServer {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    child: Option<Child>,
    addrs: BTreeMap<String, SocketAddr>,
    log: Arc<Log>,
}

impl TestServer {
    /// The standard server (all listeners, test cert, loopback trusted).
    pub fn start() -> TestServer {
        ServerBuilder::new().start()
    }

    /// The standard server with delivery parked: what it accepts stays in its queue.
    pub fn parked() -> TestServer {
        ServerBuilder::new().park_delivery().start()
    }

    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// Sends `signal` (e.g. `libc::SIGHUP`) to the running daemon.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().expect("server running").id();
        assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0, "kill({pid}, {signal})");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir().join("postern.toml")
    }

    /// The certificate clients should trust (the test cert, or the generated one).
    pub fn cert_path(&self) -> PathBuf {
        let own = self.dir().join(config::CERT_FILE);
        if own.exists() {
            own
        } else {
            self.dir().join("data/tls/cert.pem")
        }
    }

    /// Address of the first listener of `kind` (smtp, submission, submissions, http).
    #[track_caller]
    pub fn addr(&self, kind: &str) -> SocketAddr {
        *self
            .addrs
            .get(kind)
            .unwrap_or_else(|| panic!("no {kind} listener; have {:?}", self.addrs))
    }

    pub fn smtp(&self) -> SocketAddr {
        self.addr("smtp")
    }

    pub fn submission(&self) -> SocketAddr {
        self.addr("submission")
    }

    pub fn submissions(&self) -> SocketAddr {
        self.addr("submissions")
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Starts `postern serve` and waits for its `ready` line.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let start = self.log.lines.lock().unwrap().len();
        let mut child = Command::new(postern_bin())
            .args(["serve", "--config"])
            .arg(self.config_path())
            .current_dir(self.dir())
            .env("RUST_LOG", "info")
            .env_remove("POSTERN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn postern serve");
        pump(child.stdout.take().unwrap(), self.log.clone());
        pump(child.stderr.take().unwrap(), self.log.clone());
        self.child = Some(child);
        self.wait_ready(start);
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9 postern");
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit (asserted).
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "postern exited with {status} on SIGTERM\n{}",
                    self.log_text()
                );
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        panic!(
            "postern did not exit within {STOP_TIMEOUT:?} of SIGTERM\n{}",
            self.log_text()
        );
    }

    /// kill -9 (if running) and start again on the same data dir; ports change.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Runs `postern ARGS --config FILE` in the server's directory.
    pub fn cli(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut c = Command::new(postern_bin());
        c.args(args)
            .arg("--config")
            .arg(self.config_path())
            .current_dir(self.dir());
        c.env_remove("POSTERN_CONFIG").env("NO_COLOR", "1");
        let r = super::peers::run(&mut c, stdin);
        Output {
            status: r.status,
            stdout: r.stdout.into_bytes(),
            stderr: r.stderr.into_bytes(),
        }
    }

    /// `cli`, asserted to succeed; its stdout.
    #[track_caller]
    pub fn cli_ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli(args, stdin.as_bytes());
        assert!(out.status.success(), "postern {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `cli`, asserted to exit with `code` and to say `needle` on stderr.
    #[track_caller]
    pub fn cli_fails(&self, args: &[&str], stdin: &str, code: i32, needle: &str) {
        let out = self.cli(args, stdin.as_bytes());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "postern {args:?}: {err}");
        assert!(err.contains(needle), "postern {args:?}: {err:?} lacks {needle:?}");
    }

    pub fn log_text(&self) -> String {
        self.log.lines.lock().unwrap().join("\n")
    }

    fn wait_ready(&mut self, start: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut lines = self.log.lines.lock().unwrap();
        loop {
            let mut addrs = BTreeMap::new();
            for line in &lines[start..] {
                if let Some((kind, addr)) = parse_listening(line) {
                    addrs.entry(kind).or_insert(addr);
                } else if is_ready(line) {
                    self.addrs = addrs;
                    return;
                }
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            let now = Instant::now();
            if exited.is_some() || now >= deadline {
                let text = lines.join("\n");
                drop(lines);
                let _ = self
                    .child
                    .take()
                    .map(|mut c| c.kill().and_then(|_| c.wait()));
                panic!("postern serve not ready (exit: {exited:?}); output:\n{text}");
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            lines = self.log.changed.wait_timeout(lines, wait).unwrap().0;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if thread::panicking() {
            eprintln!(
                "---- postern output ({}) ----\n{}",
                self.dir().display(),
                self.log_text()
            );
        }
    }
}

/// `... listening kind=smtp addr=127.0.0.1:2525` -> ("smtp", addr). Tolerates quoted values.
fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let rest = &line[line.find("listening")?..];
    let field = |name: &str| {
        let key = format!("{name}=");
        let start = rest.find(&key)? + key.len();
        let v = rest[start..].split_whitespace().next()?;
        Some(v.trim_matches('"').to_string())
    };
    Some((field("kind")?, field("addr")?.parse().ok()?))
}

fn is_ready(line: &str) -> bool {
    !line.contains("listening")
        && line
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "ready")
}

fn pump(stream: impl Read + Send + 'static, log: Arc<Log>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(l) => log.push(l),
                Err(_) => break,
            }
        }
    });
}

/// Log lines of the daemon containing every one of `needles`.
pub fn log_lines(server: &TestServer, needles: &[&str]) -> Vec<String> {
    server.log_text().lines().filter(|l| needles.iter().all(|n| l.contains(n))).map(str::to_string).collect()
}

/// Waits until some log line contains all `needles`; returns the first such line.
#[track_caller]
pub fn wait_log(server: &TestServer, needles: &[&str], timeout: Duration) -> String {
    wait::until(
        timeout,
        Duration::from_millis(100),
        || log_lines(server, needles).into_iter().next(),
        Option::is_some,
        |_| format!("no log line with {needles:?} within {timeout:?}:\n{}", server.log_text()),
    )
    .unwrap()
}

pub fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
