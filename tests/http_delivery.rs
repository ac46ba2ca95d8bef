//! Seed 002's caller, unchanged, pointed at postern: its curl command gets 202, the
//! message is DKIM-signed, leaves the queue and arrives at a receiving server (Python
//! aiosmtpd, tests/peers/outbound_rcv.py as the smarthost), where dkimpy verifies the
//! signature against a dnsmasq serving the key and Python's email package reads the MIME.

mod support;

use postern::dkim::{Algorithm, keygen};
use std::process::Command;
use std::time::{Duration, Instant};
use support::peers::{peer_file, require_python, require_tool, run};
use support::{ServerBuilder, TestServer, dns, rcv};
use toml::Value;

const TOKEN: &str = "s3nd-token-0123456789abcdef0123456789";

fn dkim_entry(domain: &str, selector: &str, key: &std::path::Path) -> Value {
    let mut t = toml::Table::new();
    t.insert("domain".into(), domain.into());
    t.insert("selector".into(), selector.into());
    t.insert("key".into(), key.to_str().unwrap().into());
    Value::Array(vec![Value::Table(t)])
}

fn wait_for_message(receiver: &rcv::Receiver) -> rcv::Received {
    let start = Instant::now();
    loop {
        if let Some(m) = receiver.messages().into_iter().next() {
            return m;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "nothing arrived at the receiver");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn seed_002_curl_command_is_delivered_dkim_signed() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen("example.com", "seed2026", Algorithm::Rsa2048, keys.path()).unwrap();
    let dns = dns::Dnsmasq::start(&format!("local=/example.com/\ntxt-record={},\"{}\"\n", key.record_name, key.txt));
    let receiver = rcv::Receiver::start(&[]);
    let server: TestServer = ServerBuilder::new()
        .list("http.tokens", &[TOKEN])
        .list("delivery.smarthost", &[&receiver.addr.to_string()])
        .set("dkim", dkim_entry("example.com", "seed2026", &key.path))
        .start();

    // The seed's command, byte for byte except host and token.
    let mut curl = Command::new(require_tool("curl"));
    curl.args(["-sS", "-w", "\n%{http_code}", "-X", "POST"])
        .arg(format!("http://{}/send", server.addr("http")))
        .args(["-H", &format!("Authorization: Bearer {TOKEN}"), "-H", "Content-Type: application/json"])
        .args(["-d", r#"{"to":"user@example.net","from":"App <app@example.com>","subject":"Hello","text":"Hi there","html":"<p>Hi there</p>"}"#]);
    let out = run(&mut curl, b"");
    let (body, status) = out.stdout.rsplit_once('\n').unwrap();
    assert_eq!(status.trim(), "202", "{}", out.all());
    let id = serde_json::from_str::<serde_json::Value>(body).unwrap()["id"].as_str().unwrap().to_string();

    let got = wait_for_message(&receiver);
    assert_eq!(got.mail_from, "app@example.com");
    assert_eq!(got.rcpt_tos, ["user@example.net"]);
    let content = got.content();
    let text = String::from_utf8_lossy(&content);
    assert!(text.starts_with("DKIM-Signature: "), "not signed:\n{text}");
    assert!(text.contains(&format!(" id {id}")), "Received header names the queue id:\n{text}");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &content).unwrap();
    let py = require_python(&["dkim", "dns.resolver"]);
    let verify = run(
        Command::new(&py).arg(peer_file("dkim_verify.py")).arg("verify").arg(file.path()).args(["--ns", &dns.spec()]),
        b"",
    );
    assert_eq!(verify.code(), Some(0), "dkimpy: {}", verify.all());

    let parse = r#"
import email, json, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
print(json.dumps({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
    "type": m.get_content_type(), "text": m.get_body(("plain",)).get_content(),
    "html": m.get_body(("html",)).get_content(), "defects": [str(d) for d in m.defects]}))
"#;
    let parsed = run(Command::new(&py).args(["-c", parse]), &content);
    parsed.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&parsed.stdout).unwrap();
    assert_eq!(v["subject"], "Hello");
    assert_eq!(v["from"], "App <app@example.com>");
    assert_eq!(v["to"], "user@example.net");
    assert_eq!(v["type"], "multipart/alternative");
    assert_eq!(v["text"].as_str().unwrap().trim_end(), "Hi there");
    assert_eq!(v["html"].as_str().unwrap().trim_end(), "<p>Hi there</p>");
    assert_eq!(v["defects"], serde_json::json!([]));
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}
