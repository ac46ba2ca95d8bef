//! sendmail compatibility: `postern send` and the binary invoked as `sendmail`, fed the
//! way cron, PHP's mail() and seed 002 feed it, submitting over the control socket.
//! Exit codes per sysexits: 0 queued, 64 usage, 65 bad input, 75 daemon down (and the
//! message is not lost: the caller keeps it and a later run queues it).

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use support::server::{describe, postern_bin};
use support::{ServerBuilder, TestServer};

/// Submitted messages stay queued: the smarthost is a port where nothing listens.
fn deferring() -> ServerBuilder {
    let dead = format!("127.0.0.1:{}", support::peers::free_port());
    ServerBuilder::new().list("delivery.smarthost", &[&dead]).set("delivery.retry_initial", "1h").set("delivery.retry_max", "1h")
}

fn stored(server: &TestServer, id: &str) -> String {
    let out = server.cli(&["queue", "show", id, "--raw"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The one message in the queue (asserting there is exactly one).
fn only(server: &TestServer) -> support::QueuedMessage {
    let q = server.queue_json();
    assert_eq!(q.len(), 1, "{q:#?}");
    q[0].clone()
}

/// A `sendmail` symlink to the postern binary.
fn sendmail_link(server: &TestServer) -> PathBuf {
    let link = server.dir().join("bin/sendmail");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    if !link.exists() {
        std::os::unix::fs::symlink(postern_bin(), &link).unwrap();
    }
    link
}

/// Runs `sendmail ARGS` the way mail programs do: no --config, POSTERN_CONFIG instead.
fn sendmail(server: &TestServer, args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(sendmail_link(server));
    c.args(args).current_dir(server.dir()).env("POSTERN_CONFIG", server.config_path());
    let r = support::peers::run(&mut c, stdin);
    Output { status: r.status, stdout: r.stdout.into_bytes(), stderr: r.stderr.into_bytes() }
}

#[test]
fn send_t_oi_f_queues_with_added_headers() {
    let server = deferring().start();
    let out = server.cli(&["send", "-t", "-oi", "-f", "a@example.com"], b"To: x@example.net\nSubject: s\n\nbody");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let m = only(&server);
    assert_eq!(m.sender(), "a@example.com");
    assert_eq!(m.rcpt_addresses(), ["x@example.net"]);
    let raw = stored(&server, &m.id);
    assert!(raw.starts_with("Received: from localhost ([127.0.0.1])\r\n\tby mx.test (postern) with local id "), "{raw}");
    assert!(raw.contains("\r\nFrom: <a@example.com>\r\n") || raw.contains("\r\nFrom: a@example.com\r\n"), "{raw}");
    assert!(raw.contains("\r\nDate: ") && raw.contains("\r\nMessage-ID: <"), "{raw}");
    assert!(raw.ends_with("To: x@example.net\r\nSubject: s\r\n\r\nbody\r\n"), "{raw:?}");
}

#[test]
fn invoked_as_sendmail_with_bcc_full_name_and_dot_handling() {
    let server = deferring().start();
    let input = b"To: to@example.net\nBcc: secret@example.org\nSubject: cron\n\nline one\n.\nnot part of the message\n";
    let out = sendmail(&server, &["-t", "-FCron Daemon", "-f", "cron@example.com"], input);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let m = only(&server);
    assert_eq!(m.rcpt_addresses(), ["to@example.net", "secret@example.org"]);
    let raw = stored(&server, &m.id);
    assert!(!raw.contains("secret@example.org") && !raw.contains("Bcc"), "Bcc kept: {raw}");
    assert!(raw.contains("From: \"Cron Daemon\" <cron@example.com>\r\n") || raw.contains("From: Cron Daemon <cron@example.com>\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\nline one\r\n"), "a lone dot must end the input without -i: {raw:?}");

    // -i: the dot line is data; recipients from the command line; CRLF input stays CRLF
    let out = sendmail(&server, &["-i", "-f", "cron@example.com", "r1@example.net", "r2@example.net"], b"Subject: two\r\n\r\na\r\n.\r\nb\r\n");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let q = server.queue_json();
    let m = q.iter().find(|m| m.rcpt_addresses() == ["r1@example.net", "r2@example.net"]).unwrap_or_else(|| panic!("{q:#?}"));
    assert!(stored(&server, &m.id).ends_with("\r\n\r\na\r\n.\r\nb\r\n"));
}

#[test]
fn daemon_down_exits_75_and_a_later_run_queues_the_message() {
    let mut server = deferring().prepare();
    let input = b"To: x@example.net\nSubject: retry me\n\nbody\n";
    let down = server.cli(&["send", "-t", "-oi", "-f", "a@example.com"], input);
    assert_eq!(down.status.code(), Some(75), "{}", describe(&down));
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains("not running") && err.contains("NOT queued") && err.contains("try again"), "{err}");
    server.spawn();
    assert!(server.queue_json().is_empty(), "nothing may be queued by the failed run");
    let up = server.cli(&["send", "-t", "-oi", "-f", "a@example.com"], input);
    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    assert_eq!(only(&server).rcpt_addresses(), ["x@example.net"]);
}

#[test]
fn usage_and_data_errors() {
    let server = deferring().list("relay.allowed_sender_domains", &["example.com"]).start();
    let code = |args: &[&str], input: &[u8]| {
        let out = sendmail(&server, args, input);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (c, e) = code(&["-bs"], b"");
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("-bs") && e.contains("not supported"), "{e}");
    assert_eq!(code(&["-bd"], b"").0, Some(64));
    assert_eq!(code(&["-bv", "x@example.net"], b"").0, Some(64));
    assert_eq!(code(&["-q15m"], b"").0, Some(64), "unknown flags exit EX_USAGE");
    assert_eq!(code(&[], b"Subject: x\n\nb\n").0, Some(64), "no recipients");
    let (c, e) = code(&["-t", "-f", "a@example.com"], b"Subject: no rcpt\n\nb\n");
    assert_eq!(c, Some(65), "{e}");
    assert_eq!(code(&["-f", "a@example.com", "not an address"], b"Subject: x\n\nb\n").0, Some(65));
    assert_eq!(code(&["-f", "bad sender@", "x@example.net"], b"Subject: x\n\nb\n").0, Some(65));
    assert_eq!(code(&["-i", "-f", "a@example.com", "x@example.net"], b"").0, Some(65), "empty message");
    let (c, e) = code(&["-i", "-f", "a@evil.test", "x@example.net"], b"Subject: x\n\nb\n");
    assert_eq!(c, Some(65), "sender outside relay.allowed_sender_domains: {e}");
    assert!(e.contains("allowed_sender_domains"), "{e}");
    assert!(server.queue_json().is_empty());
}
