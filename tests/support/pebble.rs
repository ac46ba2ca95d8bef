//! pebble, Let's Encrypt's ACME test server (Debian package `pebble`), as a private
//! instance: its own HTTPS on loopback with a test CA (`ca_file`, what postern's
//! `acme.ca_file` trusts), validation through a test DNS server (dnsmasq) to the ports the
//! test names, no random validation sleep, no nonce rejections; killed on drop. Its issuing
//! root is regenerated at every start and served at `https://MGMT/roots/0`.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peers::{Peer, free_port, require_tool, wait_listening_for};

pub struct Pebble {
    child: Peer,
    pub listen: SocketAddr,
    pub mgmt: SocketAddr,
    /// The CA of pebble's own HTTPS (not the issuing CA).
    pub ca_file: PathBuf,
    dir: PathBuf,
}

pub struct PebbleConfig {
    /// Where to listen (a port chosen beforehand lets postern be configured first).
    pub listen: SocketAddr,
    /// The port pebble connects to for HTTP-01 (postern's `acme.http_bind`).
    pub http_port: u16,
    /// The port pebble connects to for TLS-ALPN-01 (an implicit-TLS listener of postern).
    pub tls_port: u16,
    /// Certificate lifetime in seconds (None: pebble's default, about 5 years).
    pub validity: Option<u64>,
    pub dns: SocketAddr,
    /// The CA of pebble's own HTTPS, made before pebble starts (postern's `acme.ca_file`).
    pub ca_file: PathBuf,
    dir: tempfile::TempDir,
}

impl PebbleConfig {
    pub fn new(dns: SocketAddr) -> PebbleConfig {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = super::pki::write_test_pki(dir.path(), &["127.0.0.1", "localhost"]);
        PebbleConfig {
            ca_file,
            dir,
            listen: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            http_port: free_port(),
            tls_port: free_port(),
            validity: None,
            dns,
        }
    }

    pub fn directory(&self) -> String {
        format!("https://{}/dir", self.listen)
    }
}

impl Pebble {
    pub fn start(cfg: &PebbleConfig) -> Pebble {
        let bin = require_tool("pebble");
        let dir = cfg.dir.path().to_path_buf();
        let mgmt: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut pebble = serde_json::json!({
            "listenAddress": cfg.listen.to_string(),
            "managementListenAddress": mgmt.to_string(),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            "httpPort": cfg.http_port,
            "tlsPort": cfg.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        });
        if let Some(v) = cfg.validity {
            pebble["certificateValidityPeriod"] = v.into();
        }
        let conf = dir.join("pebble.json");
        std::fs::write(&conf, serde_json::json!({ "pebble": pebble }).to_string()).unwrap();
        let log = std::fs::File::options().create(true).append(true).open(dir.join("pebble.log")).unwrap();
        let child = Command::new(bin)
            .arg("-config")
            .arg(&conf)
            .args(["-dnsserver", &cfg.dns.to_string()])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("pebble is installed (scripts/install-peers)");
        let p = Pebble { child: Peer(child), listen: cfg.listen, mgmt, ca_file: cfg.ca_file.clone(), dir };
        wait_listening_for(p.listen, "pebble", Duration::from_secs(20));
        wait_listening_for(p.mgmt, "pebble management", Duration::from_secs(20));
        p
    }

    /// The issuing root, written to a file (for openssl/curl `-CAfile`).
    pub fn root_file(&self) -> PathBuf {
        let path = self.dir.join("issuing-root.pem");
        let out = Command::new(require_tool("curl"))
            .args(["-sS", "--fail", "--cacert"])
            .arg(&self.ca_file)
            .arg(format!("https://{}/roots/0", self.mgmt))
            .output()
            .unwrap();
        assert!(out.status.success(), "GET /roots/0: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }

    /// What pebble logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        self.child.stop();
    }
}

/// The certificate a TLS listener serves for `name`, as `openssl x509` prints it
/// (`issuer=`, `serial=`, `notAfter=` lines), and s_client's verification result when
/// `ca` is given.
pub fn served_cert(addr: SocketAddr, name: &str, ca: Option<&std::path::Path>) -> (String, String) {
    let openssl = require_tool("openssl");
    let mut cmd = Command::new(&openssl);
    cmd.args(["s_client", "-connect", &addr.to_string(), "-servername", name, "-showcerts"]);
    if let Some(ca) = ca {
        cmd.arg("-CAfile").arg(ca).args(["-verify_hostname", name]);
    }
    let out = super::peers::run(&mut cmd, b"");
    let first = out
        .stdout
        .split("-----END CERTIFICATE-----")
        .next()
        .and_then(|s| s.find("-----BEGIN CERTIFICATE-----").map(|i| format!("{}-----END CERTIFICATE-----\n", &s[i..])))
        .unwrap_or_else(|| panic!("no certificate from {addr}: {}", out.all()));
    let fields = super::peers::run(
        Command::new(&openssl).args(["x509", "-noout", "-issuer", "-serial", "-enddate", "-ext", "subjectAltName"]),
        first.as_bytes(),
    );
    let verify = out.all().lines().rfind(|l| l.contains("Verify return code")).unwrap_or("").trim().to_string();
    (fields.stdout, verify)
}
