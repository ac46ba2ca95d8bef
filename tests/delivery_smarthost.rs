//! Smarthost delivery end to end through a private Postfix (STARTTLS with a certificate
//! from a test CA, AUTH PLAIN/LOGIN via Cyrus SASL) relaying into smtp-sink: the message
//! arrives; a wrong password defers it, visible in the queue with Postfix's reply, until
//! the right one is configured; a dead first smarthost fails over to the second.
mod support;

use std::time::Duration;
use support::mx::*;
use support::peers::free_port;
use support::postfix::{PASS, PostfixRelay, USER as PF_USER};
use support::queue::wait_queued;
use support::server::{log_lines, wait_log};
use support::{ServerBuilder, TestServer};

const WAIT: Duration = Duration::from_secs(60);

/// A server relaying everything through `smarthosts`, verifying TLS against Postfix's CA.
fn server(pf: &PostfixRelay, smarthosts: &[&str], password: &str) -> ServerBuilder {
    TestServer::builder()
        .list("delivery.smarthost", smarthosts)
        .set("delivery.smarthost_username", PF_USER)
        .set("delivery.smarthost_password", password)
        .set("delivery.tls", "verify")
        .set("delivery.tls_ca_file", pf.ca().to_str().unwrap())
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .set("delivery.mta_sts", false)
        .user(USER, PASSWORD)
}

#[track_caller]
fn assert_relayed(pf: &PostfixRelay, subject: &str, rcpt: &str) {
    let dump = pf.wait_relayed(&format!("Subject: {subject}"), WAIT).unwrap_or_else(|| {
        panic!("nothing relayed to the sink; Postfix log:\n{}", pf.maillog());
    });
    // smtp-sink writes the envelope as X-Mail-Args / X-Rcpt-Args.
    assert!(dump.contains(&format!("X-Mail-Args: <{SENDER}>")), "envelope sender at the sink:\n{dump}");
    assert!(dump.contains(&format!("X-Rcpt-Args: <{rcpt}>")), "envelope recipient at the sink:\n{dump}");
    assert!(dump.contains("by pf-relay.localdomain (Postfix) with ESMTPSA"), "TLS + AUTH per Postfix:\n{dump}");
    assert!(dump.contains(&format!("From: Alice <{SENDER}>")), "{dump}");
    let log = pf.maillog();
    assert!(log.contains(&format!("sasl_method=PLAIN, sasl_username={PF_USER}")), "postern logged in:\n{log}");
    assert!(log.contains("TLS connection established from"), "over TLS:\n{log}");
}

#[test]
fn relayed_through_postfix_with_starttls_and_auth() {
    let pf = PostfixRelay::with_tls_auth();
    let smarthost = format!("[127.0.0.1]:{}", pf.addr.port());
    let server = server(&pf, &[&smarthost], PASS).start();
    let id = submit(&server, SENDER, &["bob@far.test"], &message(SENDER, "bob@far.test", "via postfix", "relayed"));

    assert_relayed(&pf, "via postfix", "bob@far.test");
    let line = wait_log(&server, &[&id, "status=sent"], Duration::from_secs(10));
    assert!(line.contains(&format!("relay=127.0.0.1[127.0.0.1]:{}", pf.addr.port())), "{line}");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

#[test]
fn wrong_password_defers_and_keeps_the_message() {
    let pf = PostfixRelay::with_tls_auth();
    let smarthost = format!("[127.0.0.1]:{}", pf.addr.port());
    let mut server = server(&pf, &[&smarthost], "not-the-password").start();
    let id = submit(&server, SENDER, &["bob@far.test"], &message(SENDER, "bob@far.test", "auth first", "x"));

    let m = wait_queued(&server, &id, WAIT, |m| m["recipients"][0]["attempts"].as_u64() >= Some(2));
    assert_eq!(m["state"], "deferred", "{m:#}");
    assert_eq!(m["recipients"][0]["state"], "Pending", "{m:#}");
    let err = m["recipients"][0]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("SASL authentication failed") && err.contains("535 5.7.8"), "queue list shows why: {m:#}");
    assert!(pf.sink().dumps(0).is_empty(), "nothing got through");
    assert!(log_lines(&server, &["sender notified"]).is_empty(), "a login problem is not the sender's: no bounce");

    // Fixed configuration, same queue: the message goes out.
    let cfg = std::fs::read_to_string(server.config_path()).unwrap().replace("not-the-password", PASS);
    std::fs::write(server.config_path(), cfg).unwrap();
    server.restart();
    assert_relayed(&pf, "auth first", "bob@far.test");
    server.wait_queue(Duration::from_secs(10), |q| q.is_empty());
}

#[test]
fn dead_first_smarthost_fails_over_to_the_second() {
    let pf = PostfixRelay::with_tls_auth();
    let dead = format!("[127.0.0.1]:{}", free_port());
    let live = format!("[127.0.0.1]:{}", pf.addr.port());
    let server = server(&pf, &[&dead, &live], PASS).start();
    let id = submit(&server, SENDER, &["carol@far.test"], &message(SENDER, "carol@far.test", "second choice", "x"));

    assert_relayed(&pf, "second choice", "carol@far.test");
    let line = wait_log(&server, &[&id, "status=sent"], Duration::from_secs(10));
    assert!(line.contains(&format!(":{}", pf.addr.port())), "{line}");
    let next = log_lines(&server, &["trying next host", "destination=[smarthost]", "Connection refused"]);
    assert_eq!(next.len(), 1, "{}", server.log_text());
    assert!(log_lines(&server, &[&id, "status=deferred"]).is_empty(), "no deferral: the second took it");
}
