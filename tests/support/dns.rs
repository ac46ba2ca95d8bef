//! dnsmasq, the suite's one DNS server: on a free loopback port, serving only the records a
//! test writes (dnsmasq.conf lines), nothing from upstream; killed on drop.
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peers::{Peer, free_udp_tcp_port, require_tool, wait_listening_for};

pub struct Dnsmasq {
    child: Peer,
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
        let child = Command::new(require_tool("dnsmasq"))
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
            child: Peer(child),
            addr,
            _dir: dir,
        };
        wait_listening_for(addr, "dnsmasq", Duration::from_secs(5));
        dns
    }

    /// The address as `delivery.resolver` and the Python verifiers' `--ns` take it.
    pub fn spec(&self) -> String {
        self.addr.to_string()
    }
}
