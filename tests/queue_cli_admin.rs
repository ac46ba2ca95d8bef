//! `postern queue` against a running daemon with deferred messages: list shows them with
//! their last error (receiver down); hold, release, retry, retry --all [--domain] and
//! delete act (an aiosmtpd receiver that answers 450 to `temp*` recipients, so every
//! attempt is visible as a new 450); the same admin routes answer over HTTP with an
//! admin token.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::peers::{free_port, require_tool};
use support::queue::{QueuedMessage, find};
use support::server::describe;
use support::{Dialog, ServerBuilder, TestServer, rcv};

const WAIT: Duration = Duration::from_secs(30);
const ADMIN: &str = "adm1n-token-0123456789abcdef012345678";

/// A daemon relaying everything to `smarthost`, retrying only after an hour unless told.
fn server_via(smarthost: &str) -> ServerBuilder {
    ServerBuilder::new()
        .list("delivery.smarthost", &[smarthost])
        .set("delivery.retry_initial", "1h")
        .set("delivery.retry_max", "1h")
        .set("delivery.timeout", "10s")
}

fn send(server: &TestServer, rcpts: &[&str]) -> String {
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("sender@example.com", rcpts, "Subject: admin test\r\n\r\nbody\r\n")
}

/// The full JSON of one queued message (`queue show --json`).
fn full(server: &TestServer, id: &str) -> serde_json::Value {
    let out = server.cli(&["queue", "show", id, "--json"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn attempts_of(server: &TestServer, id: &str) -> u64 {
    let m = full(server, id);
    m["message"]["recipients"].as_array().unwrap().iter().map(|r| r["attempts"].as_u64().unwrap()).max().unwrap()
}

#[track_caller]
fn wait_attempts(server: &TestServer, id: &str, n: u64) {
    let start = Instant::now();
    while attempts_of(server, id) < n {
        assert!(start.elapsed() < WAIT, "{id} never reached {n} attempts: {:#}", full(server, id));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[track_caller]
fn ok(server: &TestServer, args: &[&str]) -> String {
    let out = server.cli(args, b"");
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn receiver_down_list_shows_last_errors_like_mailq() {
    let server = server_via(&format!("127.0.0.1:{}", free_port())).start();
    let a = send(&server, &["one@remote.test"]);
    let b = send(&server, &["two@other.test", "three@other.test"]);
    let q = server.wait_queue(WAIT, |q| q.len() == 2 && q.iter().all(|m| m.recipients.iter().all(|r| r.state == "Pending")));
    let start = Instant::now();
    while [&a, &b].iter().any(|id| full(&server, id)["message"]["state"] != "deferred") {
        assert!(start.elapsed() < WAIT, "not deferred: {q:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mailq = ok(&server, &["queue", "list"]);
    assert!(mailq.starts_with("-Queue ID-"), "{mailq}");
    assert!(mailq.contains(&a) && mailq.contains(&b), "{mailq}");
    assert!(mailq.contains("two@other.test") && mailq.contains("three@other.test"), "{mailq}");
    assert!(mailq.contains("Kbytes in 2 Requests."), "{mailq}");
    let errors: Vec<&str> = mailq.lines().filter(|l| l.trim_start().starts_with('(')).collect();
    assert_eq!(errors.len(), 3, "one last error per recipient:\n{mailq}");
    assert!(errors.iter().any(|l| l.contains("Connection refused")), "{mailq}");

    let deferred: Vec<QueuedMessage> = serde_json::from_str(&ok(&server, &["queue", "list", "--json", "--state", "deferred"])).unwrap();
    assert_eq!(deferred.len(), 2);
    let other: Vec<QueuedMessage> = serde_json::from_str(&ok(&server, &["queue", "list", "--json", "--domain", "OTHER.test"])).unwrap();
    assert_eq!(other.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [b.as_str()]);
    let held: Vec<QueuedMessage> = serde_json::from_str(&ok(&server, &["queue", "list", "--json", "--state", "held"])).unwrap();
    assert!(held.is_empty());
    let shown = ok(&server, &["queue", "show", &a]);
    assert!(shown.contains("last error:") && shown.contains("Subject: admin test"), "{shown}");
}

#[test]
fn hold_release_retry_retry_all_and_delete_act() {
    let receiver = rcv::Receiver::start(&[]);
    let server = server_via(&receiver.addr.to_string()).start();
    let a = send(&server, &["temp1@remote.test"]);
    let b = send(&server, &["temp2@other.test"]);
    wait_attempts(&server, &a, 1);
    wait_attempts(&server, &b, 1);
    let mailq = ok(&server, &["queue", "list"]);
    assert!(mailq.contains("450 4.2.0"), "the receiver's 450 is the last error:\n{mailq}");

    // hold: marked with `!` like mailq, and a retry does not deliver it while held
    ok(&server, &["queue", "hold", &a]);
    assert_eq!(full(&server, &a)["message"]["state"], "held");
    assert!(ok(&server, &["queue", "list"]).contains(&format!("{a}!")));
    ok(&server, &["queue", "retry", &a]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(attempts_of(&server, &a), 1, "a held message was attempted");

    // release: the retry above made it due, so it is attempted at once
    ok(&server, &["queue", "release", &a]);
    wait_attempts(&server, &a, 2);
    assert_eq!(full(&server, &a)["message"]["held"], false);

    // retry one; retry --all --domain touches only that domain; retry --all touches all
    ok(&server, &["queue", "retry", &a]);
    wait_attempts(&server, &a, 3);
    let out = server.cli(&["queue", "retry", "--all", "--domain", "other.test"], b"");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stderr).contains(&b), "{}", describe(&out));
    wait_attempts(&server, &b, 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(attempts_of(&server, &a), 3, "retry --domain other.test touched {a}");
    ok(&server, &["queue", "retry", "--all"]);
    wait_attempts(&server, &a, 4);
    wait_attempts(&server, &b, 3);

    // delete; deleting again is "no such message" (EX_NOINPUT)
    ok(&server, &["queue", "delete", &b]);
    let queue = server.queue_json();
    assert!(queue.iter().all(|m| m.id != b), "{b} still queued: {queue:#?}");
    let again = server.cli(&["queue", "delete", &b], b"");
    assert_eq!(again.status.code(), Some(66), "{}", describe(&again));
    assert!(receiver.messages().is_empty(), "nothing should have been delivered");
}

#[test]
fn retry_after_the_receiver_comes_back_delivers() {
    let port = free_port();
    let server = server_via(&format!("127.0.0.1:{port}")).start();
    let id = send(&server, &["back@remote.test"]);
    server.wait_queue(WAIT, |q| q.iter().any(|m| m.id == id) && full(&server, &id)["message"]["state"] == "deferred");
    let sink_dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sink_dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut sink = Command::new(require_tool("smtp-sink"))
        .args(["-u", "nobody", "-d"])
        .arg(sink_dir.path().join("msg."))
        .arg(format!("127.0.0.1:{port}"))
        .arg("16")
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(&server, &["queue", "retry", &id]);
    let delivered = Instant::now();
    while server.queue_json().iter().any(|m| m.id == id) && delivered.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = sink.kill();
    let _ = sink.wait();
    assert!(server.queue_json().iter().all(|m| m.id != id), "{:#}", full(&server, &id));
}

#[test]
fn actions_need_the_daemon_and_list_works_without_it() {
    let mut server = server_via(&format!("127.0.0.1:{}", free_port())).start();
    let id = send(&server, &["x@remote.test"]);
    server.stop();
    let listed = server.queue_json();
    assert_eq!(find(&listed, &id).rcpt_addresses(), ["x@remote.test"]);
    let shown = ok(&server, &["queue", "show", &id]);
    assert!(shown.contains("Subject: admin test") && shown.contains("x@remote.test"), "{shown}");
    let raw = ok(&server, &["queue", "show", &id, "--raw"]);
    assert!(raw.starts_with("Received: ") && raw.ends_with("\r\n\r\nbody\r\n"), "{raw:?}");
    let hold = server.cli(&["queue", "hold", &id], b"");
    assert_eq!(hold.status.code(), Some(75), "{}", describe(&hold));
    assert!(String::from_utf8_lossy(&hold.stderr).contains("not running"), "{}", describe(&hold));
    let bad = server.cli(&["queue", "retry", "nope"], b"");
    assert_eq!(bad.status.code(), Some(64), "{}", describe(&bad));
    let missing = server.cli(&["queue", "show", "AAAAAAAAAAAAAAAA"], b"");
    assert_eq!(missing.status.code(), Some(66), "{}", describe(&missing));
}

#[test]
fn admin_routes_over_http_with_an_admin_token() {
    let receiver = rcv::Receiver::start(&[]);
    let server = server_via(&receiver.addr.to_string()).list("http.admin_tokens", &[ADMIN]).start();
    let id = send(&server, &["temp@remote.test"]);
    wait_attempts(&server, &id, 1);
    let http = server.addr("http");
    let curl = |args: &[&str]| -> (u16, serde_json::Value) {
        let mut c = Command::new(require_tool("curl"));
        c.args(["-sS", "-w", "\n%{http_code}", "-H", &format!("Authorization: Bearer {ADMIN}")]).args(args);
        let r = support::peers::run(&mut c, b"");
        let (body, code) = r.stdout.rsplit_once('\n').unwrap();
        (code.trim().parse().unwrap(), serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
    };
    let (s, page) = curl(&[&format!("http://{http}/v1/queue?domain=remote.test&state=deferred&limit=10")]);
    assert_eq!(s, 200);
    assert_eq!((page["total"].as_u64(), page["limit"].as_u64()), (Some(1), Some(10)), "{page}");
    assert_eq!(page["messages"][0]["id"], id.as_str());
    assert!(page["messages"][0]["recipients"][0]["last_error"].as_str().unwrap().contains("450"), "{page}");
    // The typed outcome of the attempt, as `postern queue list --json` shows it.
    let listed: serde_json::Value = serde_json::from_str(&ok(&server, &["queue", "list", "--json"])).unwrap();
    let outcome = &listed[0]["recipients"][0]["outcome"];
    assert_eq!((outcome["kind"].as_str(), outcome["code"].as_u64(), outcome["status"].as_str()), (Some("deferred"), Some(450), Some("4.2.0")), "{listed:#}");
    assert!(outcome["host"].as_str().unwrap().contains(&receiver.addr.ip().to_string()), "{outcome}");
    assert!(outcome["text"].as_str().unwrap().contains("450"), "{outcome}");
    let (s, none) = curl(&[&format!("http://{http}/v1/queue?domain=elsewhere.test")]);
    assert_eq!((s, none["total"].as_u64()), (200, Some(0)));
    let (s, done) = curl(&["-X", "POST", &format!("http://{http}/v1/queue/{id}/hold")]);
    assert_eq!((s, done["action"].as_str()), (200, Some("hold")));
    let (s, one) = curl(&[&format!("http://{http}/v1/queue/{id}")]);
    assert_eq!((s, one["message"]["state"].as_str()), (200, Some("held")));
    assert!(one["headers"].as_str().unwrap().contains("Subject: admin test"), "{one}");
    let (s, _) = curl(&["-X", "POST", &format!("http://{http}/v1/queue/{id}/release")]);
    assert_eq!(s, 200);
    let (s, retried) = curl(&["-X", "POST", &format!("http://{http}/v1/queue/retry?domain=remote.test")]);
    assert_eq!((s, retried["ids"][0].as_str()), (200, Some(id.as_str())));
    wait_attempts(&server, &id, 2);
    let (s, _) = curl(&["-X", "POST", &format!("http://{http}/v1/queue/{id}/retry")]);
    assert_eq!(s, 200);
    wait_attempts(&server, &id, 3);
    let (s, _) = curl(&["-X", "DELETE", &format!("http://{http}/v1/queue/{id}")]);
    assert_eq!(s, 200);
    let (s, gone) = curl(&[&format!("http://{http}/v1/queue/{id}")]);
    assert_eq!((s, gone["ok"].as_bool()), (404, Some(false)));
}
