//! The TOML config a `TestServer` writes, starting from a standard test setup, plus the
//! self-signed certificate the tests trust (SANs `localhost`, `127.0.0.1`, `mx.test`).

use std::fs;
use std::path::Path;

use toml::{Table, Value};

/// Paths (relative to the server's working dir) of the test certificate and key.
pub const CERT_FILE: &str = "certs/fullchain.pem";
pub const KEY_FILE: &str = "certs/privkey.pem";
pub const USERS_FILE: &str = "config/users.toml";

/// A config document with dotted-path setters (`set("limits.recipients", 3)`).
#[derive(Clone, Debug)]
pub struct Config {
    table: Table,
}

impl Config {
    /// smtp + submission + submissions + http listeners on 127.0.0.1:0, the test cert,
    /// `example.com` local, loopback trusted (the server's defaults), users file in config/.
    pub fn standard() -> Self {
        let dead_dns = super::peers::free_udp_tcp_port();
        let doc = format!(
            r#"
[server]
hostname = "mx.test"
data_dir = "data"

[[listener]]
bind = "127.0.0.1:0"
kind = "smtp"

[[listener]]
bind = "127.0.0.1:0"
kind = "submission"

[[listener]]
bind = "127.0.0.1:0"
kind = "submissions"

[tls]
cert = "{CERT_FILE}"
key = "{KEY_FILE}"

[relay]
local_domains = ["example.com"]
trusted_networks = ["127.0.0.0/8", "::1/128"]

[users]
file = "{USERS_FILE}"

[http]
bind = "127.0.0.1:0"

# The web UI is off unless a test turns it on (its default port is fixed).
[admin]
bind = ""

# Tests never ask the machine's DNS (it is not on loopback): DNS goes to a loopback port
# nobody answers on, unless a test brings its own server. Inbound checks are off; the tests
# about them turn them on with their own resolver.
[inbound]
checks = false

[delivery]
mta_sts = false
resolver = "127.0.0.1:{dead_dns}"
"#
        );
        Config {
            table: doc.parse().expect("standard test config parses"),
        }
    }

    /// Sets `path` (dotted, e.g. `relay.trusted_networks`), creating tables on the way.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        let (parent, key) = self.parent_mut(path, true);
        parent.expect("parent table").insert(key, value.into());
    }

    /// Removes `path` (a key or a whole table such as `tls`).
    pub fn remove(&mut self, path: &str) {
        if let (Some(parent), key) = self.parent_mut(path, false) {
            parent.remove(&key);
        }
    }

    /// Replaces the listeners with one `127.0.0.1:0` listener per kind.
    pub fn listeners(&mut self, kinds: &[&str]) {
        let list = kinds
            .iter()
            .map(|k| {
                let mut t = Table::new();
                t.insert("bind".into(), "127.0.0.1:0".into());
                t.insert("kind".into(), (*k).into());
                Value::Table(t)
            })
            .collect();
        self.table.insert("listener".into(), Value::Array(list));
    }

    /// Parks delivery: every recipient is routed to a smarthost on a loopback port where
    /// nothing listens, so accepted mail stays in the queue (deferred, next try in an hour)
    /// for the test to inspect.
    pub fn park_delivery(&mut self) {
        let dead = super::peers::free_port();
        self.set(
            "delivery.smarthost",
            vec![Value::from(format!("[127.0.0.1]:{dead}"))],
        );
        self.set("delivery.retry_initial", "1h");
        let mut route = Table::new();
        route.insert("match".into(), "*".into());
        route.insert("transport".into(), "smarthost".into());
        self.table
            .insert("route".into(), Value::Array(vec![Value::Table(route)]));
    }

    pub fn has(&self, table: &str) -> bool {
        self.table.contains_key(table)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(&self.table).expect("config serialises")
    }

    fn parent_mut(&mut self, path: &str, create: bool) -> (Option<&mut Table>, String) {
        let mut parts: Vec<&str> = path.split('.').collect();
        let key = parts.pop().expect("non-empty path").to_string();
        let mut t = &mut self.table;
        for p in parts {
            if !t.contains_key(p) {
                if !create {
                    return (None, key);
                }
                t.insert(p.into(), Value::Table(Table::new()));
            }
            t = match t.get_mut(p) {
                Some(Value::Table(inner)) => inner,
                _ => panic!("config path {path}: {p} is not a table"),
            };
        }
        (Some(t), key)
    }
}

/// Writes a fresh self-signed certificate and key to `dir/CERT_FILE`, `dir/KEY_FILE`.
pub fn write_test_cert(dir: &Path) {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "mx.test".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names).expect("rcgen cert");
    let cert = dir.join(CERT_FILE);
    fs::create_dir_all(cert.parent().unwrap()).unwrap();
    fs::write(&cert, ck.cert.pem()).unwrap();
    fs::write(dir.join(KEY_FILE), ck.key_pair.serialize_pem()).unwrap();
}
