//! Temporary failures end to end: the real daemon delivers to aiosmtpd receivers on the MX
//! addresses dnsmasq names, which fail first (421 greeting, 451 after DATA, a connection
//! dropped mid-DATA, silence until the timeout), and to a DNS server that is not there.
//! Each is retried and delivered exactly once, or stays queued; none is bounced. A dead
//! primary MX sends the mail to the secondary at once.
mod support;

use std::time::Duration;
use support::TestServer;
use support::dns::Dnsmasq;
use support::mx::*;
use support::peers::free_udp_tcp_port;
use support::queue::wait_queued;
use support::rcv::Receiver;
use support::server::{log_lines, wait_log};

const WAIT: Duration = Duration::from_secs(30);

/// The message arrived once and stays alone: a retry after success would show up here.
#[track_caller]
fn assert_delivered_once(rcv: &Receiver, server: &TestServer, rcpt: &str, sent: &[u8]) {
    let got = rcv.wait_messages(1, WAIT, server);
    std::thread::sleep(Duration::from_secs(3)); // longer than retry_max: no second copy
    let got_later = rcv.messages();
    assert_eq!(got_later.len(), 1, "delivered exactly once: {got:#?}");
    let m = &got_later[0];
    assert_eq!((m.mail_from.as_str(), m.rcpt_tos.as_slice()), (SENDER, &[rcpt.to_string()][..]));
    assert!(m.content().ends_with(sent), "message arrived complete");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
    assert!(log_lines(server, &["sender notified"]).is_empty(), "no DSN for a temporary failure:\n{}", server.log_text());
}

#[test]
fn greeting_421_then_data_451_then_accepted() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &["--greet-421", "1", "--data-451", "1"]);
    let server = builder(&dns, port).start();
    let sent = message(SENDER, "bob@one.test", "retry me", "third time lucky");
    let id = submit(&server, SENDER, &["bob@one.test"], &sent);

    assert_delivered_once(&mx, &server, "bob@one.test", &sent);
    let deferred = log_lines(&server, &[&id, "status=deferred"]);
    assert_eq!(deferred.len(), 2, "two deferrals before success:\n{}", server.log_text());
    assert!(deferred[0].contains("refused to talk to me: 421 4.3.2") && deferred[0].contains("dsn=4.3.2"), "{}", deferred[0]);
    assert!(deferred[1].contains("said: 451 4.3.0") && deferred[1].contains("(in reply to end of DATA command)"), "{}", deferred[1]);
    let sent_line = log_lines(&server, &[&id, "status=sent"]);
    assert_eq!(sent_line.len(), 1, "{sent_line:?}");
    assert!(mx.connections() >= 2, "the retries reconnected after the 421");
    println!("retry log lines:\n{}\n{}\n{}", deferred[0], deferred[1], sent_line[0]);
}

#[test]
fn connection_dropped_mid_data_is_retried() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &["--drop-data", "--drop-count", "1"]);
    let server = builder(&dns, port).start();
    let body = "x".repeat(70) + "\r\n";
    let sent = message(SENDER, "bob@one.test", "dropped once", &body.repeat(500));
    let id = submit(&server, SENDER, &["bob@one.test"], &sent);

    assert_delivered_once(&mx, &server, "bob@one.test", &sent);
    let deferred = log_lines(&server, &[&id, "status=deferred"]);
    assert_eq!(deferred.len(), 1, "{}", server.log_text());
    assert!(deferred[0].contains("lost connection with mx1.dest.test[127.0.0.2]"), "{}", deferred[0]);
    assert_eq!(mx.connections(), 2, "one broken session, one new one");
}

#[test]
fn silent_server_times_out_and_is_retried_until_it_answers() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let silent = Receiver::start_on(MX1, port, &["--silent"]);
    let server = builder(&dns, port).set("delivery.timeout", "2s").start();
    let sent = message(SENDER, "bob@one.test", "waits for an answer", "patience");
    let id = submit(&server, SENDER, &["bob@one.test"], &sent);

    let first = wait_log(&server, &[&id, "status=deferred", "timed out"], WAIT);
    assert!(first.contains("while receiving the initial server greeting"), "{first}");
    let m = wait_queued(&server, &id, WAIT, |m| {
        m["recipients"][0]["attempts"].as_u64() >= Some(2) && m["state"] == "deferred"
    });
    let err = m["recipients"][0]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("timed out"), "queue list shows why: {m:#}");
    assert!(silent.connections() >= 2, "each retry connected again");

    let mx = silent.replace(&[]);
    assert_delivered_once(&mx, &server, "bob@one.test", &sent);
}

#[test]
fn dead_resolver_defers_and_retries_never_bounces() {
    let dead_dns = free_udp_tcp_port();
    let port = mx_port();
    let server = TestServer::builder()
        .set("delivery.resolver", format!("127.0.0.1:{dead_dns}"))
        .set("delivery.smtp_port", i64::from(port))
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .set("delivery.mta_sts", false)
        .user(USER, PASSWORD)
        .start();
    let id = submit(&server, SENDER, &["bob@dest.test"], &message(SENDER, "bob@dest.test", "no dns", "x"));

    let m = wait_queued(&server, &id, Duration::from_secs(60), |m| m["recipients"][0]["attempts"].as_u64() >= Some(2));
    assert_eq!(m["state"], "deferred", "{m:#}");
    assert_eq!(m["recipients"][0]["state"], "Pending", "{m:#}");
    let err = m["recipients"][0]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("name=dest.test type=MX") && err.contains("try again"), "{m:#}");
    let deferred = log_lines(&server, &[&id, "status=deferred", "dsn=4.4.3"]);
    assert!(deferred.len() >= 2, "retried:\n{}", server.log_text());
    assert_eq!(server.queue_json().len(), 1, "no bounce was queued");
    assert!(log_lines(&server, &["bounced"]).is_empty() && log_lines(&server, &["sender notified"]).is_empty());
    println!("{}", deferred[0]);
}

#[test]
fn refused_dns_answer_defers_and_retries() {
    // dnsmasq has no upstream: names outside its zones get REFUSED, a server failure.
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let server = builder(&dns, port).start();
    let id = submit(&server, SENDER, &["bob@elsewhere.example"], &message(SENDER, "bob@elsewhere.example", "refused", "x"));
    let m = wait_queued(&server, &id, WAIT, |m| m["recipients"][0]["attempts"].as_u64() >= Some(2));
    assert_eq!(m["recipients"][0]["state"], "Pending", "{m:#}");
    let err = m["recipients"][0]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("name=elsewhere.example type=MX"), "{m:#}");
    assert!(log_lines(&server, &["sender notified"]).is_empty(), "{}", server.log_text());
}

#[test]
fn primary_mx_down_secondary_used_at_once() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port(); // nothing listens on 127.0.0.2: connection refused
    let mx2 = Receiver::start_on(MX2, port, &[]);
    let server = builder(&dns, port).start();
    let sent = message(SENDER, "carol@dest.test", "via the backup", "hello");
    let id = submit(&server, SENDER, &["carol@dest.test"], &sent);

    let got = mx2.wait_messages(1, WAIT, &server);
    assert_eq!(got[0].rcpt_tos, ["carol@dest.test"]);
    assert!(got[0].content().ends_with(&sent));
    let line = wait_log(&server, &[&id, "status=sent"], Duration::from_secs(5));
    assert!(line.contains("relay=mx2.dest.test[127.0.0.3]"), "{line}");
    let next = log_lines(&server, &["trying next host", "connect to mx1.dest.test[127.0.0.2]"]);
    assert_eq!(next.len(), 1, "{}", server.log_text());
    assert!(log_lines(&server, &[&id, "status=deferred"]).is_empty(), "no deferral: the secondary took it");
}
