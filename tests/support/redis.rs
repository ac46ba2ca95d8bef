//! A private Redis 7 server for the cluster tests: `redis-server` on 127.0.0.1 and a free
//! port, no persistence, its files in a temp dir (never Debian's /etc/redis/redis.conf).
//! `stop`/`start_again` take it down and bring it back on the same port (an outage).
//! Dropped: killed.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::peers::{free_port, require_tool};

pub struct Redis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    #[track_caller]
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new().prefix("postern-redis").tempdir().unwrap();
        let mut r = Redis { dir, port: free_port(), child: None };
        r.start_again();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port; waits until it answers PING.
    #[track_caller]
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis already running");
        let child = Command::new(require_tool("redis-server"))
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let start = Instant::now();
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not answer on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (SIGKILL: an outage, not a clean stop).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `redis-cli -p PORT ARGS...`, stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(require_tool("redis-cli")).args(["-p", &self.port.to_string()]).args(args).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
