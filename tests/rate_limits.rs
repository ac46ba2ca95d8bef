//! Rate limits (issue 6): new connections and MAIL commands per client IP, messages per
//! authenticated user, and deliveries per destination.
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Dialog, TestServer, peers};

#[test]
fn connection_rate_per_ip_answers_421() {
    let server = TestServer::builder().set("limits.connection_rate", "2/m").park_delivery().start();
    Dialog::connect(server.smtp()).cmd("QUIT");
    Dialog::connect(server.smtp()).cmd("QUIT");
    let mut s = std::net::TcpStream::connect(server.smtp()).unwrap();
    let mut buf = String::new();
    std::io::Read::read_to_string(&mut s, &mut buf).unwrap();
    assert!(buf.starts_with("421 4.7.0"), "third connection within a minute: {buf:?}");
}

#[test]
fn message_rate_per_ip_answers_450() {
    let server = TestServer::builder().set("limits.message_rate", "2/m").park_delivery().start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    for _ in 0..2 {
        d.expect("MAIL FROM:<a@example.org>", 250);
        d.expect("RSET", 250);
    }
    d.cmd("MAIL FROM:<a@example.org>").assert(450, "4.7.1");
    d.expect("NOOP", 250); // the session stays usable
}

#[test]
fn sender_rate_per_authenticated_user_answers_450() {
    let server = TestServer::builder().set("limits.sender_rate", "1/h").user("alice", "pw-alice").user("bob", "pw-bob").park_delivery().start();
    let mut a = Dialog::connect_tls(server.submissions(), &server.cert_path());
    a.ehlo();
    a.auth_plain("alice", "pw-alice").assert(235, "2.7.0");
    a.send_mail("alice@example.com", &["carol@example.net"], "Subject: one\r\n\r\nfirst\r\n");
    a.cmd("MAIL FROM:<alice@example.com>").assert(450, "4.7.1");
    // Another user from the same client has a budget of their own.
    let mut b = Dialog::connect_tls(server.submissions(), &server.cert_path());
    b.ehlo();
    b.auth_plain("bob", "pw-bob").assert(235, "2.7.0");
    b.expect("MAIL FROM:<bob@example.com>", 250);
}

#[test]
fn destination_rate_defers_without_counting_an_attempt() {
    peers::require_tool("smtp-sink");
    let port = peers::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Command::new("smtp-sink")
        .args(["-u", "nobody", "-c", &format!("127.0.0.1:{port}"), "64"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let server = TestServer::builder()
        .set("delivery.destination_rate", "1/h")
        .list("delivery.smarthost", &[&format!("[127.0.0.1]:{port}")])
        .start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("a@example.org", &["x@example.net"], "Subject: 1\r\n\r\none\r\n");
    d.send_mail("a@example.org", &["y@example.net"], "Subject: 2\r\n\r\ntwo\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let raw = server.cli(&["queue", "list", "--json"], b"");
        let list: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        let list = list.as_array().unwrap().clone();
        if list.len() == 1 && list[0]["recipients"][0]["last_error"].is_string() {
            break list[0].clone();
        }
        assert!(Instant::now() < deadline, "expected one delivered and one waiting: {list:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let rcpt = &waiting["recipients"][0];
    assert!(rcpt["last_error"].as_str().unwrap().contains("rate limited (1/h)"), "{rcpt}");
    assert_eq!(rcpt["attempts"].as_u64(), Some(0), "a rate-limited wait is not a failed attempt");
    let _ = sink.kill();
}
