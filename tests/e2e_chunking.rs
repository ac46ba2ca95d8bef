//! CHUNKING (RFC 3030) over a real socket: BDAT chunks make one message; RCPT after a
//! chunk is refused with one "Error:" (it used to say "Error: Error:"); bare LF in BDAT
//! content is stored as CRLF under the default `limits.bare_newline`, refused with
//! `reject`.
mod support;

use support::{Dialog, TestServer};

fn bdat(d: &mut Dialog, chunk: &[u8], last: bool) -> support::Reply {
    let head = format!("BDAT {}{}\r\n", chunk.len(), if last { " LAST" } else { "" });
    d.send(&[head.as_bytes(), chunk].concat());
    d.read_reply()
}

#[test]
fn rcpt_after_bdat_and_normalized_chunks() {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<a@example.org>", 250);
    d.expect("RCPT TO:<b@example.com>", 250);
    bdat(&mut d, b"Subject: chunks\n\nfirst\n", false).assert(250, "2.0.0");
    let r = d.cmd("RCPT TO:<c@example.com>");
    assert_eq!((r.code, r.text()), (503, "5.5.1 Error: RCPT after BDAT".to_string()));
    let r = bdat(&mut d, b"second\r", true);
    r.assert(250, "2.0.0");
    let id = support::queued_id(&r.text()).unwrap();
    d.expect("QUIT", 221);
    let raw = server.cli(&["queue", "show", "--raw", &id], b"");
    let stored = String::from_utf8_lossy(&raw.stdout).into_owned();
    assert!(stored.ends_with("Subject: chunks\r\n\r\nfirst\r\nsecond\r\n"), "{stored:?}");
    assert!(!stored.replace("\r\n", "").contains(['\r', '\n']), "{stored:?}");
}

#[test]
fn bare_lf_in_bdat_is_refused_when_rejecting() {
    let server = TestServer::builder().park_delivery().set("limits.bare_newline", "reject").start();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<a@example.org>", 250);
    d.expect("RCPT TO:<b@example.com>", 250);
    bdat(&mut d, b"Subject: x\n\nbody\n", true).assert(550, "5.6.0");
    d.expect("QUIT", 221);
    assert!(server.queue_json().is_empty());
}
