//! A DNSSEC world for the DANE tests: a zone signed with BIND's `dnssec-keygen` +
//! `dnssec-signzone`, served with an unsigned `test.` zone by NSD (authoritative, on a free
//! loopback port), behind unbound (validating, trust anchor = the signed zone's key), which
//! postern uses as `delivery.resolver`. Nothing leaves loopback: unbound refuses every name
//! outside `test.`. Both servers are killed on drop.
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peers::{Peer, free_udp_tcp_port, require_tool, run, wait_listening_for};

pub struct ValidatingDns {
    _nsd: Peer,
    _unbound: Peer,
    /// unbound: what `delivery.resolver` points at.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// One edit of the signed zone after signing: in the record line of `owner` and `rtype`
/// (not its RRSIG), the rdata becomes `rdata`. The signature then no longer matches (bogus).
pub struct Tamper<'a> {
    pub owner: &'a str,
    pub rtype: &'a str,
    pub rdata: &'a str,
}

impl ValidatingDns {
    /// `signed_origin` (e.g. "dane.test") gets `signed` (zone-file lines, absolute names)
    /// and is signed; `unsigned` lines go into the unsigned `test.` zone.
    pub fn start(signed_origin: &str, signed: &str, unsigned: &str, tamper: &[Tamper]) -> ValidatingDns {
        let keygen = require_tool("dnssec-keygen");
        let signzone = require_tool("dnssec-signzone");
        let nsd = require_tool("nsd");
        let unbound = require_tool("unbound");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let soa = |origin: &str| {
            format!("$TTL 60\n{origin}. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n{origin}. IN NS ns.test.\n")
        };
        std::fs::write(d.join("signed.zone"), format!("{}{signed}\n", soa(signed_origin))).unwrap();
        std::fs::write(d.join("test.zone"), format!("{}ns.test. IN A 127.0.0.1\n{unsigned}\n", soa("test"))).unwrap();
        // One ECDSA key flagged KSK signs everything (-z): enough for a test zone.
        run(
            Command::new(&keygen).current_dir(d).args(["-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE"]).arg(format!("{signed_origin}.")),
            b"",
        )
        .assert_ok();
        run(
            Command::new(&signzone)
                .current_dir(d)
                .args(["-q", "-O", "full", "-z", "-S", "-K", ".", "-o"])
                .arg(format!("{signed_origin}."))
                .args(["-f", "signed.zone.signed", "signed.zone"]),
            b"",
        )
        .assert_ok();
        apply_tamper(&d.join("signed.zone.signed"), tamper);
        let key = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "key"))
            .expect("dnssec-keygen wrote a .key file");

        let nsd_port = free_udp_tcp_port();
        let nsd_conf = format!(
            "server:\n  ip-address: 127.0.0.1@{nsd_port}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{dir}\"\n  \
             database: \"\"\n  pidfile: \"{dir}/nsd.pid\"\n  logfile: \"{dir}/nsd.log\"\n  xfrdfile: \"{dir}/xfrd.state\"\n  \
             zonelistfile: \"{dir}/zone.list\"\n  xfrdir: \"{dir}\"\nremote-control:\n  control-enable: no\n\
             zone:\n  name: \"{signed_origin}\"\n  zonefile: \"signed.zone.signed\"\nzone:\n  name: \"test\"\n  zonefile: \"test.zone\"\n",
            dir = d.display()
        );
        std::fs::write(d.join("nsd.conf"), nsd_conf).unwrap();
        let nsd = spawn(Command::new(nsd).arg("-d").arg("-c").arg(d.join("nsd.conf")), d, "nsd");
        wait_listening_for(format!("127.0.0.1:{nsd_port}").parse().unwrap(), "nsd", Duration::from_secs(10));

        let port = free_udp_tcp_port();
        let unbound_conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n  \
             directory: \"{dir}\"\n  pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  logfile: \"{dir}/unbound.log\"\n  \
             verbosity: 1\n  val-log-level: 2\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  \
             do-ip6: no\n  qname-minimisation: no\n  module-config: \"validator iterator\"\n  \
             trust-anchor-file: \"{key}\"\n  local-zone: \"test.\" transparent\n  local-zone: \".\" refuse\n\
             remote-control:\n  control-enable: no\n\
             stub-zone:\n  name: \"{signed_origin}\"\n  stub-addr: 127.0.0.1@{nsd_port}\n\
             stub-zone:\n  name: \"test\"\n  stub-addr: 127.0.0.1@{nsd_port}\n",
            dir = d.display(),
            key = key.display()
        );
        std::fs::write(d.join("unbound.conf"), unbound_conf).unwrap();
        let unbound = spawn(Command::new(unbound).arg("-d").arg("-c").arg(d.join("unbound.conf")), d, "unbound");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_listening_for(addr, "unbound", Duration::from_secs(10));
        ValidatingDns { _nsd: nsd, _unbound: unbound, addr, dir }
    }

    pub fn spec(&self) -> String {
        self.addr.to_string()
    }

    /// unbound's log (validation failures are logged at val-log-level 2).
    pub fn unbound_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("unbound.log")).unwrap_or_default()
    }
}

fn spawn(cmd: &mut Command, dir: &Path, name: &str) -> Peer {
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
    Peer(
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}")),
    )
}

/// `-O full` writes one record per line: `owner TTL IN TYPE rdata`.
fn apply_tamper(path: &Path, tamper: &[Tamper]) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut hits = 0;
    let out: Vec<String> = text
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            for t in tamper {
                if f.len() > 4 && f[0] == format!("{}.", t.owner) && f[2] == "IN" && f[3] == t.rtype {
                    hits += 1;
                    return format!("{} {} IN {} {}", f[0], f[1], t.rtype, t.rdata);
                }
            }
            line.to_string()
        })
        .collect();
    assert_eq!(hits, tamper.len(), "every tampered record was found in the signed zone:\n{text}");
    std::fs::write(path, out.join("\n") + "\n").unwrap();
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo, as openssl computes it (the data of
/// a `3 1 1` TLSA record), in hex.
pub fn spki_sha256(cert_pem: &Path) -> String {
    let openssl = require_tool("openssl");
    let sh = format!(
        "{o} x509 -in '{c}' -pubkey -noout | {o} pkey -pubin -outform DER | {o} dgst -sha256 -r",
        o = openssl.display(),
        c = cert_pem.display()
    );
    let r = run(Command::new("sh").args(["-c", &sh]), b"");
    r.assert_ok();
    r.stdout.split_whitespace().next().unwrap().to_string()
}

/// SHA-256 of the whole certificate in DER (the data of a `2 0 1` / `3 0 1` record), in hex.
pub fn cert_sha256(cert_pem: &Path) -> String {
    let openssl = require_tool("openssl");
    let sh = format!(
        "{o} x509 -in '{c}' -outform DER | {o} dgst -sha256 -r",
        o = openssl.display(),
        c = cert_pem.display()
    );
    let r = run(Command::new("sh").args(["-c", &sh]), b"");
    r.assert_ok();
    r.stdout.split_whitespace().next().unwrap().to_string()
}
