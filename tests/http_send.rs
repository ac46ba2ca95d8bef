//! The HTTP send API driven by real clients: curl (the command seed 002's callers use)
//! and Python's urllib, with the stored message parsed back by Python's email package.

mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::peers::{require_python, require_tool, run};
use support::queue::find;
use support::server::describe;
use support::{ServerBuilder, TestServer};

const TOKEN: &str = "s3nd-token-0123456789abcdef0123456789";

/// Messages stay queued for inspection: the only route out is a smarthost where nothing
/// listens, retried after an hour. (tests/http_delivery.rs covers real delivery.)
fn deferring() -> ServerBuilder {
    let dead = format!("127.0.0.1:{}", support::peers::free_port());
    ServerBuilder::new().list("delivery.smarthost", &[&dead]).set("delivery.retry_initial", "1h").set("delivery.retry_max", "1h")
}

fn server() -> TestServer {
    deferring().list("http.tokens", &[TOKEN]).start()
}

/// `curl ARGS -w '\n%{http_code}'` → (status, body).
fn curl(args: &[&str], stdin: &[u8]) -> (u16, String) {
    let mut c = Command::new(require_tool("curl"));
    c.args(["-sS", "-w", "\n%{http_code}"]).args(args);
    let r = run(&mut c, stdin);
    let (body, code) = r.stdout.rsplit_once('\n').unwrap_or_else(|| panic!("curl output: {}", r.all()));
    (code.trim().parse().unwrap_or_else(|_| panic!("curl: {}", r.all())), body.to_string())
}

/// The message as stored in the queue (`postern queue show ID --raw`).
fn stored(server: &TestServer, id: &str) -> Vec<u8> {
    let out = server.cli(&["queue", "show", id, "--raw"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    out.stdout
}

/// Python's email package (policy=default) summary of a message: headers, defects and
/// every leaf part with its decoded content in base64.
const PARSE: &str = r#"
import base64, email, json, sys
from email import policy
msg = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
parts, defects = [], [str(d) for d in msg.defects]
for p in msg.walk():
    defects += [str(d) for d in p.defects]
    if p.is_multipart():
        parts.append({"type": p.get_content_type()})
        continue
    data = p.get_payload(decode=True)
    parts.append({"type": p.get_content_type(), "filename": p.get_filename(),
        "disposition": p.get_content_disposition(), "b64": base64.b64encode(data).decode(),
        "text": p.get_content() if p.get_content_maintype() == "text" else None})
h = lambda n: str(msg[n]) if msg[n] is not None else None
print(json.dumps({"subject": h("subject"), "from": h("from"), "to": h("to"), "cc": h("cc"),
    "bcc": h("bcc"), "reply_to": h("reply-to"), "message_id": h("message-id"), "date": h("date"),
    "received": h("received"), "x_campaign": h("x-campaign"), "defects": defects, "parts": parts}))
"#;

fn parse_with_python(raw: &[u8]) -> Value {
    let mut c = Command::new(require_python(&["email"]));
    c.args(["-c", PARSE]);
    let r = run(&mut c, raw);
    r.assert_ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

/// POSTs JSON with urllib; prints the status line then the body.
const URLLIB_POST: &str = r#"
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], data=sys.stdin.buffer.read(), method="POST",
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + sys.argv[2]})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"#;

fn urllib_post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut c = Command::new(require_python(&["urllib.request"]));
    c.args(["-c", URLLIB_POST, url, token]);
    let r = run(&mut c, body.to_string().as_bytes());
    r.assert_ok();
    let (status, body) = r.stdout.split_once('\n').unwrap();
    (status.trim().parse().unwrap(), serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.all())))
}

#[test]
fn seed_002_curl_command_gets_202_and_the_message_is_queued() {
    let server = server();
    let url = format!("http://{}/send", server.addr("http"));
    let payload = r#"{"to":"user@example.net","from":"App <app@example.com>","subject":"Hello","text":"Hi there","html":"<p>Hi there</p>"}"#;
    let auth = format!("Authorization: Bearer {TOKEN}");
    let (status, body) = curl(&["-X", "POST", &url, "-H", &auth, "-H", "Content-Type: application/json", "-d", payload], b"");
    assert_eq!(status, 202, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["ok"].as_bool(), v["queued"].as_bool()), (Some(true), Some(true)), "{body}");
    let id = v["id"].as_str().unwrap();

    let queue = server.queue_json();
    let m = find(&queue, id);
    assert_eq!(m.sender(), "app@example.com");
    assert_eq!(m.rcpt_addresses(), ["user@example.net"]);

    let parsed = parse_with_python(&stored(&server, id));
    assert_eq!(parsed["defects"], json!([]), "{parsed:#}");
    assert_eq!(parsed["subject"], "Hello");
    assert_eq!(parsed["from"], "App <app@example.com>");
    assert_eq!(parsed["parts"][0]["type"], "multipart/alternative", "{parsed:#}");
    assert_eq!(parsed["parts"][1]["text"].as_str().map(str::trim_end), Some("Hi there"));
    assert_eq!(parsed["parts"][2]["type"], "text/html");
    assert!(parsed["received"].as_str().unwrap().contains("with HTTP"), "{parsed:#}");
    assert!(parsed["message_id"].as_str().unwrap().ends_with("@mx.test>"), "{parsed:#}");
    assert!(parsed["date"].is_string());
}

#[test]
fn v1_send_with_urllib_round_trips_attachments_and_encoded_words() {
    let server = server();
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&binary);
    let payload = json!({
        "from": {"email": "news@example.com", "name": "Zoë Ångström"},
        "to": ["a@example.net", "Bé <b@example.net>"],
        "cc": "c@example.org",
        "bcc": [{"email": "hidden@example.org"}],
        "replyTo": "replies@example.com",
        "subject": "Grüße, ✓ done — a long subject line that needs folding across more than one line of header",
        "text": "plain text ü\nsecond line",
        "html": "<p>html ü</p>",
        "headers": {"X-Campaign": "spring-42"},
        "attachments": [
            {"filename": "data.bin", "contentType": "application/octet-stream", "content": b64},
            {"filename": "résumé.txt", "contentType": "text/plain", "content": "aGVsbG8gd29ybGQK"}
        ]
    });
    let url = format!("http://{}/v1/send", server.addr("http"));
    let (status, answer) = urllib_post(&url, TOKEN, &payload);
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap();

    let m = find(&server.queue_json(), id).clone();
    assert_eq!(m.rcpt_addresses(), ["a@example.net", "b@example.net", "c@example.org", "hidden@example.org"]);

    let raw = stored(&server, id);
    assert!(!String::from_utf8_lossy(&raw).contains("hidden@example.org"), "Bcc leaked into the message");
    let p = parse_with_python(&raw);
    assert_eq!(p["defects"], json!([]), "{p:#}");
    assert_eq!(p["subject"], payload["subject"]);
    assert_eq!(p["from"], "Zoë Ångström <news@example.com>");
    assert_eq!(p["to"], "a@example.net, Bé <b@example.net>");
    assert_eq!(p["cc"], "c@example.org");
    assert_eq!(p["bcc"], Value::Null);
    assert_eq!(p["reply_to"], "replies@example.com");
    assert_eq!(p["x_campaign"], "spring-42");
    let types: Vec<&str> = p["parts"].as_array().unwrap().iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/octet-stream", "text/plain"]);
    assert_eq!(p["parts"][2]["text"].as_str().map(|t| t.replace("\r\n", "\n")), Some("plain text ü\nsecond line".into()));
    assert_eq!(p["parts"][4]["filename"], "data.bin");
    assert_eq!(p["parts"][4]["disposition"], "attachment");
    assert_eq!(p["parts"][4]["b64"], b64, "binary attachment changed in transit");
    assert_eq!(p["parts"][5]["filename"], "résumé.txt");
    assert_eq!(p["parts"][5]["b64"], "aGVsbG8gd29ybGQK");
}

#[test]
fn raw_message_with_envelope_in_query_and_headers() {
    let server = server();
    let http = server.addr("http");
    let msg = b"From: app@example.com\nTo: x@example.net\nSubject: raw\n\nline one\nline two\n";
    let url = format!("http://{http}/v1/messages?mail_from=bounces%40example.com&rcpt_to=x@example.net,y@example.net");
    let auth = format!("Authorization: Bearer {TOKEN}");
    let (status, body) = curl(
        &[&url, "-H", &auth, "-H", "Content-Type: message/rfc822", "-H", "X-Postern-Rcpt-To: z@example.org", "--data-binary", "@-"],
        msg,
    );
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let m = find(&server.queue_json(), &id).clone();
    assert_eq!(m.sender(), "bounces@example.com");
    assert_eq!(m.rcpt_addresses(), ["x@example.net", "y@example.net", "z@example.org"]);
    let raw = String::from_utf8(stored(&server, &id)).unwrap();
    assert!(raw.starts_with("Received: from "), "{raw}");
    assert!(raw.ends_with("From: app@example.com\r\nTo: x@example.net\r\nSubject: raw\r\n\r\nline one\r\nline two\r\n"), "{raw:?}");
    assert_eq!(show_json(&server, &id)["message"]["smtputf8"], false);

    // UTF-8 in a raw header (RFC 6532) asks for SMTPUTF8 downstream.
    let (status, body) = curl(&[&url, "-H", &auth, "--data-binary", "@-"], "Subject: Grüße\n\nbody\n".as_bytes());
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(show_json(&server, &id)["message"]["smtputf8"], true);
}

fn show_json(server: &TestServer, id: &str) -> Value {
    let out = server.cli(&["queue", "show", id, "--json"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn trusted_network_may_send_without_tokens() {
    // No http.tokens: loopback is in relay.trusted_networks (the test default), so it may send.
    let server = deferring().start();
    let url = format!("http://{}/v1/send", server.addr("http"));
    let (status, body) = curl(
        &[&url, "-H", "Content-Type: application/json", "-d", r#"{"from":"a@example.com","to":"b@example.net","text":"x"}"#],
        b"",
    );
    assert_eq!(status, 202, "{body}");
}

#[test]
fn health_and_metrics() {
    let server = server();
    let http = server.addr("http");
    let (status, body) = curl(&[&format!("http://{http}/health")], b"");
    assert_eq!((status, body.as_str()), (200, "ok"));

    let url = format!("http://{http}/send");
    let auth = format!("Authorization: Bearer {TOKEN}");
    for _ in 0..2 {
        let (s, b) = curl(&[&url, "-H", &auth, "-H", "Content-Type: application/json", "-d", r#"{"from":"a@example.com","to":"b@example.net","text":"x"}"#], b"");
        assert_eq!(s, 202, "{b}");
    }
    let (status, text) = curl(&[&format!("http://{http}/metrics")], b"");
    assert_eq!(status, 200, "{text}");
    for needle in [
        "# TYPE postern_messages_accepted_total counter",
        "postern_queue_messages 2",
        "postern_smtp_sessions 0",
        "postern_http_requests_total{route=\"/send\",status=\"202\"} 2",
        "# TYPE postern_queue_oldest_age_seconds gauge",
    ] {
        assert!(text.lines().any(|l| l == needle || (needle.starts_with('#') && l.starts_with(needle))), "missing {needle:?}:\n{text}");
    }
}

/// `postern health` needs a fixed http.bind (it reads the config, not the log).
fn health_server(tls: bool) -> TestServer {
    let bind = format!("127.0.0.1:{}", support::peers::free_port());
    deferring().set("http.bind", bind).set("http.tls", tls).start()
}

#[test]
fn health_command_follows_the_daemon() {
    let mut server = health_server(false);
    let up = server.cli(&["health"], b"");
    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    server.stop();
    let down = server.cli(&["health"], b"");
    assert_eq!(down.status.code(), Some(1), "{}", describe(&down));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"), "{}", describe(&down));
}

#[test]
fn https_api_and_health_over_tls() {
    let server = health_server(true);
    let up = server.cli(&["health"], b"");
    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    let http = server.addr("http");
    let cert = server.cert_path();
    let resolve = format!("localhost:{}:127.0.0.1", http.port());
    let url = format!("https://localhost:{}/health", http.port());
    let (status, body) = curl(&["--cacert", cert.to_str().unwrap(), "--resolve", &resolve, &url], b"");
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _) = curl(&[&format!("http://{http}/health")], b"");
    assert_eq!(status, 0, "plain HTTP must not be answered on a TLS listener");

    let url = format!("https://localhost:{}/v1/send", http.port());
    let json = r#"{"from":"a@example.com","to":"b@example.net","subject":"over tls","text":"x"}"#;
    let (status, body) = curl(&["--cacert", cert.to_str().unwrap(), "--resolve", &resolve, &url, "-H", "Content-Type: application/json", "-d", json], b"");
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let raw = String::from_utf8(stored(&server, &id)).unwrap();
    assert!(raw.contains("with HTTP id ") && raw.contains("(using TLSv1."), "Received does not record TLS:\n{raw}");
}
