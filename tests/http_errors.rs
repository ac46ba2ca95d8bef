//! Every error status of the HTTP API, produced by real curl requests, each answered with
//! `{"ok":false,"error":"..."}`: 401, 400 (address, sender allowlist, header injection),
//! 404, 405, 413, 415 and 429.

mod support;

use serde_json::Value;
use std::process::Command;
use support::peers::{require_tool, run};
use support::{ServerBuilder, TestServer};

const TOKEN: &str = "s3nd-token-0123456789abcdef0123456789";
const ADMIN: &str = "adm1n-token-0123456789abcdef012345678";

/// (status, headers, body) of `curl -i`-less call; headers via -D.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    #[track_caller]
    fn error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}\n{}", self.headers, self.body);
        let v: Value = serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body));
        assert_eq!(v["ok"], false, "{}", self.body);
        let text = v["error"].as_str().unwrap_or_else(|| panic!("no error text: {}", self.body));
        assert!(text.contains(needle), "error {text:?} does not mention {needle:?}");
    }
}

fn curl(args: &[&str], stdin: &[u8]) -> Answer {
    let dir = tempfile::tempdir().unwrap();
    let hdr = dir.path().join("headers");
    let mut c = Command::new(require_tool("curl"));
    c.args(["-sS", "-w", "\n%{http_code}", "-D"]).arg(&hdr).args(args);
    let r = run(&mut c, stdin);
    let (body, code) = r.stdout.rsplit_once('\n').unwrap_or_else(|| panic!("curl output: {}", r.all()));
    let status = code.trim().parse().unwrap_or_else(|_| panic!("curl: {}", r.all()));
    Answer { status, headers: std::fs::read_to_string(hdr).unwrap_or_default(), body: body.to_string() }
}

fn bearer(t: &str) -> String {
    format!("Authorization: Bearer {t}")
}

fn send(server: &TestServer, auth: Option<&str>, json: &str) -> Answer {
    let url = format!("http://{}/v1/send", server.addr("http"));
    let mut args = vec![url.as_str(), "-H", "Content-Type: application/json", "--data-binary", "@-"];
    let header;
    if let Some(t) = auth {
        header = bearer(t);
        args.extend(["-H", header.as_str()]);
    }
    curl(&args, json.as_bytes())
}

/// Accepted messages stay queued (nothing listens at the smarthost), so "nothing was
/// queued" can be checked.
fn deferring() -> ServerBuilder {
    let dead = format!("127.0.0.1:{}", support::peers::free_port());
    ServerBuilder::new().list("delivery.smarthost", &[&dead]).set("delivery.retry_initial", "1h").set("delivery.retry_max", "1h")
}

fn server() -> TestServer {
    deferring()
        .list("http.tokens", &[TOKEN])
        .list("http.admin_tokens", &[ADMIN])
        .list("relay.allowed_sender_domains", &["example.com"])
        .set("http.body_limit", 4096)
        .set("http.rate_limit", 0)
        .start()
}

const GOOD: &str = r#"{"from":"a@example.com","to":"b@example.net","subject":"s","text":"x"}"#;

#[test]
fn unauthorized_without_or_with_a_wrong_token_and_across_scopes() {
    let server = server();
    let a = send(&server, None, GOOD);
    a.error(401, "missing bearer token");
    assert!(a.headers.to_ascii_lowercase().contains("www-authenticate: bearer"), "{}", a.headers);
    send(&server, Some("wrong-token-0123456789abcdef0123456789"), GOOD).error(401, "invalid bearer token");
    send(&server, Some(&TOKEN[..TOKEN.len() - 1]), GOOD).error(401, "invalid bearer token");
    send(&server, Some(ADMIN), GOOD).error(401, "invalid bearer token");
    assert_eq!(send(&server, Some(TOKEN), GOOD).status, 202);

    let queue = format!("http://{}/v1/queue", server.addr("http"));
    curl(&[&queue], b"").error(401, "missing bearer token");
    curl(&[&queue, "-H", &bearer(TOKEN)], b"").error(401, "invalid bearer token");
    let ok = curl(&[&queue, "-H", &bearer(ADMIN)], b"");
    assert_eq!(ok.status, 200, "{}", ok.body);
    let page: Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(page["total"], 1, "{page}");
}

#[test]
fn untrusted_client_without_tokens_is_refused() {
    let server = deferring().list("relay.trusted_networks", &[]).start();
    send(&server, None, GOOD).error(401, "relay.trusted_networks");
    let queue = format!("http://{}/v1/queue", server.addr("http"));
    curl(&[&queue], b"").error(401, "http.admin_tokens");
}

#[test]
fn bad_addresses_and_disallowed_sender() {
    let server = server();
    let t = Some(TOKEN);
    send(&server, t, r#"{"from":"a@example.com","to":"not-an-address","text":"x"}"#).error(400, "invalid address");
    send(&server, t, r#"{"from":"a@example.com","to":"b@exa mple.net","text":"x"}"#).error(400, "invalid address");
    send(&server, t, r#"{"from":"a@","to":"b@example.net","text":"x"}"#).error(400, "in from");
    send(&server, t, r#"{"from":"a@evil.test","to":"b@example.net","text":"x"}"#).error(400, "allowed_sender_domains");
    send(&server, t, r#"{"from":"a@example.com","text":"x"}"#).error(400, "recipient");
    send(&server, t, r#"{"from":"a@example.com","#).error(400, "invalid JSON");
    let raw = format!("http://{}/v1/messages?mail_from=a@evil.test&rcpt_to=b@example.net", server.addr("http"));
    curl(&[&raw, "-H", &bearer(TOKEN), "--data-binary", "Subject: x\n\nbody\n"], b"").error(400, "allowed_sender_domains");
    let raw = format!("http://{}/v1/messages?mail_from=a@example.com", server.addr("http"));
    curl(&[&raw, "-H", &bearer(TOKEN), "--data-binary", "Subject: x\n\nbody\n"], b"").error(400, "rcpt_to is required");
}

#[test]
fn header_injection_attempts_are_rejected() {
    let server = server();
    let attempts = [
        r#"{"from":"a@example.com","to":"b@example.net","subject":"hi\r\nBcc: victim@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","subject":"hi\nBcc: victim@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","subject":"hi\rBcc: victim@evil.test","text":"x"}"#,
        r#"{"from":{"email":"a@example.com","name":"A\r\nBcc: victim@evil.test"},"to":"b@example.net","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net\r\nBcc: victim@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","replyTo":"r@example.com\nBcc: victim@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","headers":{"X-Tag":"1\r\nBcc: victim@evil.test"},"text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","headers":{"X-Tag\r\nBcc":"victim@evil.test"},"text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","text":"x","attachments":[{"filename":"a.txt\r\nBcc: victim@evil.test","content":""}]}"#,
        r#"{"from":"a@example.com","to":"b@example.net","text":"x","attachments":[{"contentType":"text/plain\r\nBcc: v@evil.test","content":""}]}"#,
    ];
    for json in attempts {
        send(&server, Some(TOKEN), json).error(400, "header injection");
    }
    assert_eq!(server.queue_json().len(), 0, "an injection attempt was queued");
    assert_eq!(send(&server, Some(TOKEN), GOOD).status, 202);
    assert_eq!(server.queue_json().len(), 1, "the control request was not queued");
}

#[test]
fn too_large_bodies_get_413_declared_or_chunked() {
    let server = server();
    let big = format!(r#"{{"from":"a@example.com","to":"b@example.net","text":"{}"}}"#, "x".repeat(5000));
    send(&server, Some(TOKEN), &big).error(413, "larger than 4096 bytes");
    let url = format!("http://{}/v1/send", server.addr("http"));
    let chunked = curl(
        &[&url, "-H", &bearer(TOKEN), "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-"],
        big.as_bytes(),
    );
    chunked.error(413, "larger than 4096 bytes");
    assert_eq!(send(&server, Some(TOKEN), GOOD).status, 202, "a small request still works");
}

/// Python's urllib writes the whole body before it reads the answer: without draining,
/// the early 413 reached it as a BrokenPipeError (reproduced with a 2 MB body).
#[test]
fn urllib_reads_the_413_of_a_large_body() {
    let server = server();
    let script = r#"
import sys, urllib.request, urllib.error
url, token = sys.argv[1], sys.argv[2]
body = b'{"from":"a@example.com","to":"b@example.net","text":"' + b"x" * 2_000_000 + b'"}'
req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
try:
    urllib.request.urlopen(req, timeout=30)
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"#;
    let url = format!("http://{}/v1/send", server.addr("http"));
    let out = run(Command::new(support::peers::require_python(&[])).args(["-c", script, &url, TOKEN]), b"");
    out.assert_ok();
    assert!(out.stdout.starts_with("413 "), "{}", out.all());
    assert!(out.stdout.contains("larger than 4096 bytes"), "{}", out.all());
    assert_eq!(send(&server, Some(TOKEN), GOOD).status, 202, "the server still answers");
}

#[test]
fn not_found_method_and_media_type() {
    let server = server();
    let http = server.addr("http");
    curl(&[&format!("http://{http}/v1/nope")], b"").error(404, "no such endpoint");
    curl(&[&format!("http://{http}/v1/send")], b"").error(405, "method not allowed");
    let form = curl(&[&format!("http://{http}/v1/send"), "-H", &bearer(TOKEN), "-d", "from=a@example.com"], b"");
    form.error(415, "application/json");
    let admin = bearer(ADMIN);
    curl(&[&format!("http://{http}/v1/queue/AAAAAAAAAAAAAAAA"), "-H", &admin], b"").error(404, "");
    curl(&[&format!("http://{http}/v1/queue/not-an-id"), "-H", &admin], b"").error(400, "not a queue id");
    curl(&[&format!("http://{http}/v1/queue?state=sleeping"), "-H", &admin], b"").error(400, "state");
}

#[test]
fn rate_limit_per_ip_answers_429_with_retry_after() {
    let server = deferring().list("http.tokens", &[TOKEN]).set("http.rate_limit", 3).start();
    for i in 0..3 {
        assert_eq!(send(&server, Some(TOKEN), GOOD).status, 202, "request {i}");
    }
    let limited = send(&server, Some(TOKEN), GOOD);
    limited.error(429, "at most 3 requests per minute");
    assert!(limited.headers.to_ascii_lowercase().contains("retry-after: "), "{}", limited.headers);
    let health = curl(&[&format!("http://{}/health", server.addr("http"))], b"");
    assert_eq!(health.status, 200, "health checks are not rate limited");
    send(&server, Some("wrong-token-0123456789abcdef0123456789"), GOOD).error(429, "rate limit");
}

#[test]
fn unknown_local_recipient_is_refused_like_at_rcpt() {
    let mut builder = deferring().set("http.tokens", toml::Value::Array(vec![TOKEN.into()]));
    builder = builder.set("mailboxes.file", "mailboxes.toml");
    let server = builder.prepare();
    std::fs::write(server.dir().join("mailboxes.toml"), "[[mailbox]]\naddress = \"alice@example.com\"\n").unwrap();
    let mut server = server;
    server.spawn();
    send(&server, Some(TOKEN), r#"{"from":"a@example.com","to":"nobody@example.com","text":"x"}"#).error(400, "5.1.1");
    let ok = send(&server, Some(TOKEN), r#"{"from":"a@example.com","to":"alice@example.com","text":"x"}"#);
    assert_eq!(ok.status, 202, "{}", ok.body);
}
