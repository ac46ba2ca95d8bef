//! The webhook transport against a real HTTP server (Python http.server,
//! tests/peers/webhook_api.py): seed 000's Postfix -> pipe -> curl flow without Postfix.
//! Mail for a domain routed to `transport = "webhook"` is POSTed as message/rfc822 with the
//! envelope headers and a Bearer token; failures are retried, nothing is lost.
mod support;

use std::time::Duration;
use support::queue::wait_queue_empty;
use support::routing::{WebhookApi, mailboxes, queue_id, route, smtplib_send, start_with_files};
use support::{ServerBuilder, TestServer};
use toml::Value;

const TOKEN: &str = "hook-token-0123456789abcdef0123456789";

/// example.com (Maildir) and api.example.com (webhook) are local; `support@example.com` is
/// an alias of `inbound@api.example.com`; `owner@example.com` is a mailbox.
fn server(api_url: &str, token: &str, extra: &[(&str, Value)]) -> TestServer {
    let mut r = vec![
        ("match", Value::from("api.example.com")),
        ("transport", Value::from("webhook")),
        ("url", Value::from(api_url)),
        ("token", Value::from(token)),
        ("timeout", Value::from("5s")),
    ];
    r.extend(extra.iter().cloned());
    let b = ServerBuilder::new()
        .list("relay.local_domains", &["example.com", "api.example.com"])
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "4s")
        .set("route", Value::Array(vec![route(&r)]));
    start_with_files(b, "\"support@example.com\" = \"inbound@api.example.com\"\n", &mailboxes(&["owner@example.com"]))
}

/// A message whose bytes would suffer from any rewriting: dot-stuffing, 8-bit, long lines.
fn tricky_message() -> Vec<u8> {
    let mut m = b"From: Sender <sender@origin.test>\r\nTo: support@example.com\r\nSubject: webhook test\r\n".to_vec();
    m.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    m.extend_from_slice(".leading dot\r\n..two dots\r\nCaf\u{e9} \u{2603}\r\n\ttab line  \r\n".as_bytes());
    for i in 0..300 {
        m.extend_from_slice(format!("{i:04} {}\r\n", "x".repeat(70)).as_bytes());
    }
    m.extend_from_slice(b"last line\r\n");
    m
}

#[test]
fn ok_200_delivers_once_byte_for_byte_with_envelope_headers() {
    let api = WebhookApi::start(&["--token", TOKEN]);
    let server = server(&api.url("/v1/email?src=postern"), TOKEN, &[]);
    let msg = tricky_message();
    let reply = smtplib_send(&server, "sender@origin.test", &["support@example.com"], &msg).unwrap();
    let id = queue_id(&reply);
    let reqs = api.wait_requests(1, Duration::from_secs(30), &server);
    wait_queue_empty(&server, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    let reqs_after = api.requests();
    assert_eq!(reqs_after.len(), 1, "delivered exactly once: {reqs_after:#?}");
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str(), r.status), ("POST", "/v1/email?src=postern", 200));
    assert_eq!(r.header("content-type"), "message/rfc822");
    assert_eq!(r.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(r.header("x-postern-mail-from"), "sender@origin.test");
    assert_eq!(r.header("x-postern-rcpt-to"), "inbound@api.example.com");
    assert_eq!(r.header("x-postern-queue-id"), id);
    // The body is the queued message: our Received header, then the client's bytes exactly.
    let body = r.body();
    assert!(body.starts_with(b"Received: from client.test"), "{}", String::from_utf8_lossy(&body[..200]));
    let split = body.windows(msg.len()).rposition(|w| w == msg.as_slice()).expect("client bytes inside");
    assert_eq!(split + msg.len(), body.len(), "nothing after the message");
    let received = std::str::from_utf8(&body[..split]).unwrap();
    assert_eq!(received.matches("\r\n").count(), received.lines().count(), "only CRLF lines before");
    assert!(received.lines().skip(1).all(|l| l.starts_with(['\t', ' '])), "one Received header:\n{received}");
    assert!(server.log_text().contains("webhook http://"), "delivery logged with the URL");
}

#[test]
fn retries_after_503_three_times_and_delivers_once() {
    let api = WebhookApi::start(&["--token", TOKEN, "--statuses", "503,503,503,200"]);
    let server = server(&api.url("/hook"), TOKEN, &[]);
    let msg = b"Subject: retry me\r\n\r\nbody\r\n";
    smtplib_send(&server, "sender@origin.test", &["inbound@api.example.com"], msg).unwrap();
    let reqs = api.wait_requests(4, Duration::from_secs(60), &server);
    wait_queue_empty(&server, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    let reqs_after = api.requests();
    assert_eq!(reqs_after.len(), 4, "no request after the 200: {reqs_after:#?}");
    let statuses: Vec<u16> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 503, 200]);
    assert!(reqs.iter().all(|r| r.body() == reqs[0].body()), "every attempt sends the same bytes");
    assert!(reqs[0].body().ends_with(msg));
    let log = server.log_text();
    assert!(log.contains("HTTP 503 Service Unavailable"), "deferral reason logged:\n{log}");
    assert!(log.contains("destination backing off"), "the endpoint is backed off:\n{log}");
}

#[test]
fn wrong_token_gets_401_and_the_message_stays_deferred() {
    let api = WebhookApi::start(&["--token", TOKEN]);
    let server = server(&api.url("/hook"), "not-the-right-token-0123456789abcdef", &[]);
    let reply = smtplib_send(&server, "sender@origin.test", &["inbound@api.example.com"], b"Subject: t\r\n\r\nx\r\n").unwrap();
    let id = queue_id(&reply);
    let q = server.wait_queue(Duration::from_secs(30), |q| {
        q.iter().any(|m| m.id == id && m.recipients[0].state == "Pending" && api.requests().len() >= 2)
    });
    let m = support::queue::find(&q, &id);
    assert_eq!(m.rcpt_addresses(), ["inbound@api.example.com"]);
    let raw = server.cli(&["queue", "list", "--json"], b"");
    let json: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let rcpt = &json.as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap()["recipients"][0];
    assert!(rcpt["attempts"].as_u64().unwrap() >= 1, "{rcpt}");
    assert!(rcpt["last_error"].as_str().unwrap().contains("HTTP 401 Unauthorized"), "{rcpt}");
    assert!(api.requests().iter().all(|r| r.status == 401));
}

#[test]
fn permanent_status_bounces_to_the_sender() {
    let api = WebhookApi::start(&["--token", TOKEN, "--statuses", "410"]);
    let b_route = [("permanent_status", Value::Array(vec![Value::from(410), Value::from(422)]))];
    let server = server(&api.url("/gone"), TOKEN, &b_route);
    // The sender is a local mailbox, so the bounce can be read back.
    smtplib_send(&server, "owner@example.com", &["inbound@api.example.com"], b"Subject: gone\r\n\r\nx\r\n").unwrap();
    let dsn = support::routing::wait_maildir(&server, "owner@example.com", 1);
    let raw = String::from_utf8_lossy(&dsn[0].raw()).into_owned();
    assert!(raw.contains("Status: 5.0.0") && raw.contains("HTTP 410 Gone"), "{raw}");
    assert_eq!(dsn[0].return_path.as_deref(), Some("<>"));
    wait_queue_empty(&server, Duration::from_secs(10));
    assert_eq!(api.requests().len(), 1, "not retried");
}

#[test]
fn https_endpoint_verified_with_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    support::config::write_test_cert(dir.path());
    let cert = dir.path().join(support::config::CERT_FILE);
    let key = dir.path().join(support::config::KEY_FILE);
    let api = WebhookApi::start(&["--token", TOKEN, "--tls", cert.to_str().unwrap(), key.to_str().unwrap()]);
    let url = format!("https://localhost:{}/secure", api.addr.port());
    let server = server(&url, TOKEN, &[("ca_file", Value::from(cert.to_str().unwrap()))]);
    smtplib_send(&server, "sender@origin.test", &["x@api.example.com"], b"Subject: tls\r\n\r\nx\r\n").unwrap();
    let reqs = api.wait_requests(1, Duration::from_secs(30), &server);
    assert_eq!((reqs[0].path.as_str(), reqs[0].status), ("/secure", 200));
    wait_queue_empty(&server, Duration::from_secs(10));
}

#[test]
fn https_endpoint_with_an_untrusted_certificate_is_deferred() {
    let dir = tempfile::tempdir().unwrap();
    support::config::write_test_cert(dir.path());
    let cert = dir.path().join(support::config::CERT_FILE);
    let key = dir.path().join(support::config::KEY_FILE);
    let api = WebhookApi::start(&["--tls", cert.to_str().unwrap(), key.to_str().unwrap()]);
    let server = server(&format!("https://localhost:{}/x", api.addr.port()), TOKEN, &[]);
    let reply = smtplib_send(&server, "sender@origin.test", &["x@api.example.com"], b"Subject: t\r\n\r\nx\r\n").unwrap();
    let id = queue_id(&reply);
    let q = server.wait_queue(Duration::from_secs(30), |q| q.iter().any(|m| m.id == id));
    assert_eq!(support::queue::find(&q, &id).recipients[0].state, "Pending");
    server.wait_queue(Duration::from_secs(30), |_| server.log_text().contains("TLS handshake with localhost failed"));
    assert!(api.requests().is_empty(), "nothing was sent over an unverified connection");
}

#[test]
fn api_down_across_a_crash_nothing_is_lost() {
    let port = support::peers::free_port();
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), format!("{TOKEN}\n")).unwrap();
    let url = format!("http://127.0.0.1:{port}/hook");
    let r = route(&[
        ("match", Value::from("api.example.com")),
        ("transport", Value::from("webhook")),
        ("url", Value::from(url.as_str())),
        ("token_file", Value::from(token_file.path().to_str().unwrap())),
    ]);
    let b = ServerBuilder::new()
        .list("relay.local_domains", &["api.example.com"])
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .set("route", Value::Array(vec![r]));
    let mut server = start_with_files(b, "", "");
    let reply = smtplib_send(&server, "sender@origin.test", &["in@api.example.com"], b"Subject: keep me\r\n\r\nx\r\n").unwrap();
    let id = queue_id(&reply);
    server.wait_queue(Duration::from_secs(20), |q| q.iter().any(|m| m.id == id) && server.log_text().contains("cannot connect to 127.0.0.1"));
    server.kill9();
    let api = WebhookApi::start(&["--token", TOKEN, "--port", &port.to_string()]);
    server.spawn();
    let reqs = api.wait_requests(1, Duration::from_secs(30), &server);
    assert_eq!(reqs[0].header("x-postern-queue-id"), id);
    assert_eq!(reqs[0].header("authorization"), format!("Bearer {TOKEN}"), "token read from token_file");
    wait_queue_empty(&server, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(api.requests().len(), 1);
}
