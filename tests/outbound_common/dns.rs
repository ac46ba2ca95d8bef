//! dnsmasq on a free loopback port, serving a zone written by the test; killed on drop.
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dnsmasq {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// `conf` holds dnsmasq.conf record lines (`local=`, `mx-host=`, `host-record=`, ...).
    pub fn start(conf: &str) -> Dnsmasq {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.conf");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(conf.as_bytes())
            .unwrap();
        let port = free_udp_tcp_port();
        // Same flags as tests/peers/dns.sh: only our records, no upstream, nothing leaves lo.
        let child = Command::new("dnsmasq")
            .arg("-k")
            .arg(format!("--conf-file={}", path.display()))
            .args([
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
            ])
            .args([
                "--listen-address=127.0.0.1",
                &format!("--port={port}"),
                "--local-ttl=60",
            ])
            .arg(format!(
                "--log-facility={}",
                dir.path().join("log").display()
            ))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq is installed (tests/peers/NOTES: dnsmasq-base)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // Built before waiting, so a failed start still kills the child (Drop).
        let dns = Dnsmasq {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "dnsmasq did not start on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        dns
    }

    pub fn spec(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP right now on 127.0.0.1.
pub fn free_udp_tcp_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
