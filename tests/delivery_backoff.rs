//! Per-destination behaviour end to end. Backoff: once the only MX of a domain fails (it
//! accepts TCP and hangs up at once), the domain's other queued messages wait for the
//! backoff instead of each connecting, still get delay notices and bounces with the real
//! reason, and an operator's `queue retry` overrides the wait. Connections: reused for
//! consecutive messages, closed when idle, at most `concurrency_per_destination` at once.
mod support;

use std::time::{Duration, Instant};
use support::dns::Dnsmasq;
use support::mx::*;
use support::queue::queue_raw;
use support::rcv::{Receiver, SmtpSink};
use support::server::{log_lines, wait_log};

const MESSAGES: usize = 20;

#[test]
fn messages_to_a_failing_destination_wait_instead_of_each_connecting() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let dead = Slammer::start(MX1, port);
    let server = builder(&dns, port).start();

    // The first message finds out that the destination is down.
    let first = relay_many(&server, SENDER, "first@one.test", 1, 1);
    let backing_off = wait_log(&server, &["destination backing off", "destination=one.test"], Duration::from_secs(20));
    // The rest arrive while it backs off.
    let rest = relay_many(&server, SENDER, "u{n}@one.test", 1, MESSAGES - 1);
    let before = dead.connections();
    let watch = Duration::from_secs(8);
    let start = Instant::now();
    std::thread::sleep(watch);
    let during = dead.connections() - before;
    let windows = log_lines(&server, &["destination backing off", "destination=one.test"]).len();
    // retry_initial 1s, retry_max 2s: one probe per window (at most 5 in 8 s), never one
    // per message (20 per window).
    assert!(
        (1..=6).contains(&during),
        "{during} connections in {:?} for {MESSAGES} messages (backoff windows logged: {windows}):\n{}",
        start.elapsed(),
        server.log_text()
    );
    let waiting = log_lines(&server, &["status=deferred", "is backing off after failures"]);
    println!("waiting: {}", waiting.first().map_or("", String::as_str));
    assert!(!waiting.is_empty(), "messages waited for the backoff without connecting");
    let q = queue_raw(&server);
    assert_eq!(q.len(), MESSAGES, "all queued");
    assert!(q.iter().all(|m| m["state"] == "deferred"), "{q:#?}");

    // The MX comes back: everything goes out, once.
    drop(dead);
    std::thread::sleep(Duration::from_millis(100));
    let mx = Receiver::start_on(MX1, port, &[]);
    let got = mx.wait_messages(MESSAGES, Duration::from_secs(30), &server);
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    let mut rcpts: Vec<String> = got.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    rcpts.sort();
    let mut expected: Vec<String> = (0..MESSAGES - 1).map(|n| format!("u{n}@one.test")).collect();
    expected.push("first@one.test".into());
    expected.sort();
    assert_eq!(rcpts, expected, "each message delivered exactly once");
    assert_eq!(first.len() + rest.len(), MESSAGES);
    println!("backoff: {during} connections in {watch:?} for {MESSAGES} messages; first: {backing_off}");
}

/// Messages that only ever waited behind the backoff (never tried themselves) still get
/// their delay notice and, at expiry, a bounce that says what was wrong with the MX.
#[test]
fn waiting_messages_get_delay_notices_and_bounces_with_the_real_reason() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let _dead = Slammer::start(MX1, port);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port)
        .set("delivery.delay_notice", "3s")
        .set("delivery.lifetime", "8s")
        .set("delivery.retry_max", "4s")
        .start();
    relay_many(&server, SENDER, "first@one.test", 1, 1);
    wait_log(&server, &["destination backing off", "destination=one.test"], Duration::from_secs(20));
    relay_many(&server, SENDER, "w{n}@one.test", 1, 4);

    // 5 delay notices, then 5 bounces.
    let got = sender_mx.wait_messages(10, Duration::from_secs(40), &server);
    let mut delayed = Vec::new();
    let mut failed = Vec::new();
    for m in &got {
        let dsn = parse_dsn(&m.content());
        for r in dsn["recipients"].as_array().unwrap() {
            let who = r["final-recipient"].as_str().unwrap_or_default().to_string();
            match r["action"].as_str() {
                Some("delayed") => delayed.push(who),
                Some("failed") => {
                    let diag = r["diagnostic-code"].as_str().unwrap_or_default();
                    assert!(diag.contains("mx1.dest.test[127.0.0.2]"), "the bounce names the MX's failure: {dsn:#}");
                    failed.push(who)
                }
                other => panic!("unexpected action {other:?}: {dsn:#}"),
            }
        }
    }
    delayed.sort();
    failed.sort();
    let expected = ["first", "w0", "w1", "w2", "w3"].map(|l| format!("rfc822; {l}@one.test"));
    assert_eq!(delayed, expected, "one delay notice each");
    assert_eq!(failed, expected, "one bounce each");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

/// Consecutive messages to one MX share a connection (Postfix: connection cache).
#[test]
fn consecutive_messages_reuse_the_connection() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &[]);
    let server = builder(&dns, port).start();
    for n in 0..5 {
        relay_many(&server, SENDER, &format!("r{n}@one.test"), 1, 1);
        mx.wait_messages(n + 1, Duration::from_secs(20), &server);
    }
    assert_eq!(mx.connections(), 1, "five messages, one session");
    let relays = log_lines(&server, &["status=sent", "relay=mx1.dest.test[127.0.0.2]"]);
    assert_eq!(relays.len(), 5);
}

/// `postern queue retry ID` tries at once even while the destination backs off (Postfix's
/// `postqueue -f` flushes dead destinations too): once the MX is back, no need to wait.
#[test]
fn operator_retry_overrides_the_backoff() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let dead = Slammer::start(MX1, port);
    let server = builder(&dns, port).set("delivery.retry_initial", "10m").set("delivery.retry_max", "1h").start();
    let (_, id) = relay_many(&server, SENDER, "late@one.test", 1, 1).remove(0);
    wait_log(&server, &["destination backing off", "destination=one.test"], Duration::from_secs(20));
    drop(dead);
    std::thread::sleep(Duration::from_millis(100));
    let mx = Receiver::start_on(MX1, port, &[]);

    let out = server.cli(&["queue", "retry", &id], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = mx.wait_messages(1, Duration::from_secs(10), &server);
    assert_eq!(got[0].rcpt_tos, ["late@one.test"]);
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

/// A cached connection is not kept open forever: once idle longer than the reuse window
/// (10 s) it is closed, so a remote MX is not left holding idle sessions.
#[test]
fn idle_cached_connection_is_closed() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &[]);
    let server = builder(&dns, port).start();
    relay_many(&server, SENDER, "idle@one.test", 1, 1);
    mx.wait_messages(1, Duration::from_secs(20), &server);
    let ip = MX1.parse().unwrap();
    assert_eq!(established_to(ip, port), 1, "the session is cached for the next message");
    let start = Instant::now();
    while established_to(ip, port) > 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "idle connection still open after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("idle connection closed after {:?}", start.elapsed());
}

/// `delivery.concurrency_per_destination` caps the simultaneous sessions to one domain.
#[test]
fn concurrency_per_destination_is_capped() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let sink = SmtpSink::start_on(MX1, port, &["-w", "1"]); // one second per message
    let server = builder(&dns, port).set("delivery.concurrency_per_destination", 3).start();
    relay_many(&server, SENDER, "c{n}@one.test", 4, 12);
    let ip = MX1.parse().unwrap();
    let (mut max, start) = (0, Instant::now());
    while sink.recipients().len() < 12 {
        assert!(start.elapsed() < Duration::from_secs(30), "{} of 12 delivered", sink.recipients().len());
        max = max.max(established_to(ip, port));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(max, 3, "at most 3 sessions at once, and all 3 used");
    assert!(start.elapsed() >= Duration::from_secs(3), "12 messages at 1 s each over 3 sessions take 4 s");
}
