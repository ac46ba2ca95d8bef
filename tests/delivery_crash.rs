//! At-least-once delivery across a crash: 1,000 messages (each to its own recipient) are
//! accepted from 8 concurrent smtplib clients while postern delivers them to a slow
//! smtp-sink (the MX of dest.test); postern is killed with SIGKILL while deliveries are in
//! flight, restarted on the same queue, and every recipient must reach the sink at least
//! once. Duplicates are allowed (a delivery whose result was not yet recorded is repeated),
//! losses are not.
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::dns::Dnsmasq;
use support::mx::*;
use support::queue::queue_raw;
use support::rcv::SmtpSink;
use support::server::log_lines;

const MESSAGES: usize = 1000;
const CLIENTS: usize = 8;

#[test]
fn kill_9_during_delivery_loses_nothing() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    // One second per DATA: deliveries pile up in flight (100 connections at a time).
    let sink = SmtpSink::start_on(MX1, port, &["-w", "1"]);
    let mut server = builder(&dns, port)
        .set("delivery.concurrency", 100)
        .set("delivery.concurrency_per_destination", 100)
        .start();

    let queued = relay_many(&server, SENDER, "u{n}@dest.test", CLIENTS, MESSAGES);
    let ids: BTreeMap<&str, usize> = queued.iter().map(|(n, id)| (id.as_str(), *n)).collect();
    assert_eq!(ids.len(), MESSAGES, "unique queue ids");
    // Kill once some deliveries are complete and the next ones are in flight.
    let start = Instant::now();
    while sink.recipients().len() < 200 {
        assert!(start.elapsed() < Duration::from_secs(60), "deliveries did not start:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = sink.recipients().len();
    let in_flight = established_to(MX1.parse().unwrap(), port);
    server.kill9();
    let at_kill = sink.recipients().len();
    // Read offline (the daemon is gone); "done" ones were delivered but not yet removed.
    let pending_at_kill = queue_raw(&server).iter().filter(|m| m["state"] != "done").count();
    println!("at kill -9: {before}..{at_kill} delivered, {in_flight} sessions open to the sink, {pending_at_kill} messages still queued");
    assert!(at_kill < MESSAGES, "the kill came too late to test anything ({at_kill} delivered)");
    assert!(in_flight > 0, "deliveries were in flight when postern was killed");
    assert!(pending_at_kill > 0);

    server.spawn();
    let start = Instant::now();
    let expected: Vec<String> = (0..MESSAGES).map(|n| format!("u{n}@dest.test")).collect();
    let missing = loop {
        let got = sink.recipients();
        let missing: Vec<&String> = expected.iter().filter(|r| !got.contains(r)).collect();
        if missing.is_empty() || start.elapsed() > Duration::from_secs(120) {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(missing.is_empty(), "{} recipients lost after the restart: {:?}\n{}", missing.len(), &missing[..missing.len().min(20)], server.log_text());
    server.wait_queue(Duration::from_secs(30), |q| q.is_empty());
    let got = sink.recipients();
    let duplicates = got.len() - MESSAGES;
    let restarted = log_lines(&server, &["scheduler started"]);
    assert_eq!(restarted.len(), 2, "{restarted:?}");
    assert!(restarted[1].contains(&format!("pending={pending_at_kill}")), "every queued message rescheduled: {}", restarted[1]);
    println!(
        "after restart: {} deliveries for {MESSAGES} recipients ({duplicates} duplicates) in {:?}; {}",
        got.len(),
        start.elapsed(),
        restarted[1]
    );
}
