//! MX resolution decisions seen end to end (RFC 5321 §5.1): a domain without MX records is
//! its own implicit MX; a domain that does not exist (NXDOMAIN) bounces 5.1.2 at once; an
//! MX that is this host itself bounces 5.4.6 instead of looping.
mod support;

use std::time::Duration;
use support::dns::Dnsmasq;
use support::mx::*;
use support::rcv::Receiver;
use support::server::{log_lines, wait_log};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn domain_without_mx_is_its_own_mail_exchanger() {
    let dns = Dnsmasq::start(&zone("host-record=amx.test,127.0.0.3\n"));
    let port = mx_port();
    let host = Receiver::start_on(MX2, port, &[]);
    let server = builder(&dns, port).start();
    let sent = message(SENDER, "dave@amx.test", "implicit mx", "x");
    let id = submit(&server, SENDER, &["dave@amx.test"], &sent);
    let got = host.wait_messages(1, WAIT, &server);
    assert_eq!(got[0].rcpt_tos, ["dave@amx.test"]);
    assert!(got[0].content().ends_with(&sent));
    let line = wait_log(&server, &[&id, "status=sent"], Duration::from_secs(5));
    assert!(line.contains("relay=amx.test[127.0.0.3]"), "{line}");
}

#[test]
fn nonexistent_domain_bounces_at_once() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let id = submit(&server, SENDER, &["x@nosuch.test"], &message(SENDER, "x@nosuch.test", "nowhere", "x"));
    let got = sender_mx.wait_messages(1, WAIT, &server);
    let dsn = parse_dsn(&got[0].content());
    let r = &dsn["recipients"][0];
    assert_eq!((r["action"].as_str(), r["status"].as_str()), (Some("failed"), Some("5.1.2")), "{dsn:#}");
    assert!(r["diagnostic-code"].as_str().unwrap_or_default().contains("name=nosuch.test type=MX: Host not found"), "{dsn:#}");
    wait_log(&server, &[&id, "status=bounced", "dsn=5.1.2"], Duration::from_secs(5));
    assert!(log_lines(&server, &[&id, "status=deferred"]).is_empty(), "NXDOMAIN is not retried");
}

#[test]
fn mx_pointing_at_this_host_bounces_instead_of_looping() {
    // The test server's hostname is mx.test.
    let dns = Dnsmasq::start(&zone("mx-host=loop.test,mx.test,10\nhost-record=mx.test,127.0.0.2\n"));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &[]);
    let sender_mx = Receiver::start_on(SENDER_MX, port, &[]);
    let server = builder(&dns, port).start();
    let id = submit(&server, SENDER, &["x@loop.test"], &message(SENDER, "x@loop.test", "loop", "x"));
    let got = sender_mx.wait_messages(1, WAIT, &server);
    let dsn = parse_dsn(&got[0].content());
    assert_eq!(dsn["recipients"][0]["status"], "5.4.6", "{dsn:#}");
    let line = wait_log(&server, &[&id, "status=bounced"], Duration::from_secs(5));
    assert!(line.contains("loops back to myself"), "{line}");
    assert_eq!(mx.connections(), 0, "never connected to itself");
}

/// Recipients of one message are grouped per destination domain: one transaction per
/// domain, all of the domain's recipients in it (even when two domains share an MX).
#[test]
fn recipients_are_grouped_per_destination() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &[]);
    let server = builder(&dns, port).start();
    let rcpts = ["a@dest.test", "b@dest.test", "c@one.test"];
    let sent = message(SENDER, "a@dest.test", "grouped", "x");
    submit(&server, SENDER, &rcpts, &sent);
    let got = mx.wait_messages(2, WAIT, &server);
    let mut envelopes: Vec<Vec<String>> = got.iter().map(|m| m.rcpt_tos.clone()).collect();
    envelopes.sort();
    assert_eq!(envelopes, [vec!["a@dest.test".to_string(), "b@dest.test".into()], vec!["c@one.test".into()]]);
    assert!(got.iter().all(|m| m.content().ends_with(&sent)));
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

/// MTA-STS is on by default; a domain that publishes no policy is delivered as before.
#[test]
fn mta_sts_on_without_a_policy_delivers() {
    let dns = Dnsmasq::start(&zone(""));
    let port = mx_port();
    let mx = Receiver::start_on(MX1, port, &[]);
    let server = builder(&dns, port).without("delivery.mta_sts").start();
    let id = submit(&server, SENDER, &["sts@dest.test"], &message(SENDER, "sts@dest.test", "no policy", "x"));
    mx.wait_messages(1, WAIT, &server);
    let line = wait_log(&server, &[&id, "status=sent"], Duration::from_secs(5));
    assert!(line.contains("delay=0"), "no wait for a policy: {line}");
}
