//! SMTP smuggling: a DATA section holding a bare-LF/CR "end of data" followed by a second,
//! smuggled transaction. Whatever `limits.bare_newline` says, only the real CRLF.CRLF ends
//! DATA, the smuggled transaction is never executed and the session stays in step:
//! `reject` answers 550 5.6.0 and queues nothing; `normalize` (the default, like Postfix
//! 3.9) queues the one legitimate message with the would-be commands as its content.
//!
//! The sessions run in process (`support::session`): the same listener code, no daemon.

mod support;

use support::session::InProcess;
use support::config::Config;

const SMUGGLED: &str = "MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n";

/// Sends a transaction whose body is `hello` + `ending` + SMUGGLED (which ends in the real
/// CRLF.CRLF) under `mode`, then checks the reply, the session and the queue.
fn smuggling_is_defeated(ending: &str, mode: &str) {
    let mut config = Config::standard();
    config.set("limits.bare_newline", mode);
    let server = InProcess::new(config);
    let mut d = server.connect("smtp", "127.0.0.1:40000");
    d.ehlo();
    d.expect("MAIL FROM:<legit@example.org>", 250);
    d.expect("RCPT TO:<rcpt@example.com>", 250);
    d.expect("DATA", 354);
    d.send(format!("Subject: legit\r\n\r\nhello{ending}{SMUGGLED}").as_bytes());
    let r = d.read_reply();
    let legit = match mode {
        "reject" => {
            assert_eq!(
                (r.code, r.enhanced()),
                (550, Some("5.6.0")),
                "ending {ending:?} was taken as end of data: {r:?}"
            );
            None
        }
        _ => {
            assert_eq!(r.code, 250, "ending {ending:?}: {r:?}");
            Some(support::queued_id(&r.text()).expect("queue id in the 250"))
        }
    };

    // The smuggled commands were data: the next reply answers our next command.
    let id = d.send_mail(
        "after@example.org",
        &["rcpt@example.com"],
        "Subject: after\r\n\r\nfine\r\n",
    );
    d.expect("QUIT", 221);
    assert_eq!(d.read_until_close(), vec![], "extra replies after QUIT");

    let q = server.queued();
    let find = |id: &str| q.iter().find(|m| m.id.to_string() == id).unwrap_or_else(|| panic!("{id} not queued: {q:#?}"));
    assert!(q.iter().all(|m| m.mail_from != "smuggler@evil.test"), "smuggled message queued: {q:#?}");
    assert_eq!(find(&id).mail_from, "after@example.org");
    match legit {
        None => assert_eq!(q.len(), 1, "only the clean message may be queued: {q:#?}"),
        Some(legit) => {
            assert_eq!(q.len(), 2, "{q:#?}");
            let m = find(&legit);
            let rcpts: Vec<&str> = m.recipients.iter().map(|r| r.address.as_str()).collect();
            assert_eq!((m.mail_from.as_str(), rcpts), ("legit@example.org", vec!["rcpt@example.com"]));
            let body = String::from_utf8_lossy(&server.body(&legit)).into_owned();
            assert!(body.contains("MAIL FROM:<smuggler@evil.test>\r\n"), "{body:?}");
            assert!(
                !body.replace("\r\n", "").contains(['\r', '\n']),
                "stored message holds a bare CR or LF: {body:?}"
            );
        }
    }
}

/// Each smuggling ending, in both modes.
fn both_modes(ending: &str) {
    smuggling_is_defeated(ending, "reject");
    smuggling_is_defeated(ending, "normalize");
}

#[test]
fn lf_dot_lf() {
    both_modes("\n.\n");
}

#[test]
fn cr_dot_cr() {
    both_modes("\r.\r");
}

#[test]
fn lf_dot_crlf() {
    both_modes("\n.\r\n");
}

#[test]
fn crlf_dot_lf() {
    both_modes("\r\n.\n");
}

#[test]
fn cr_dot_crlf() {
    both_modes("\r.\r\n");
}

#[test]
fn crlf_dot_cr() {
    both_modes("\r\n.\r");
}

#[test]
fn bare_lf_inside_a_line() {
    both_modes("\r\nline one\nline two\r\n");
}

/// A properly dot-stuffed "." line is content: exactly one message, from the real sender,
/// carrying the would-be smuggled text; no message from the smuggler.
#[test]
fn dot_stuffed_line_is_content() {
    let server = InProcess::standard();
    let mut d = server.connect("smtp", "127.0.0.1:40000");
    d.ehlo();
    let body = format!(
        "Subject: legit\r\n\r\nhello\r\n..\r\n{}",
        SMUGGLED.trim_end_matches(".\r\n")
    );
    let id = d.send_mail("legit@example.org", &["rcpt@example.com"], &body);
    d.expect("QUIT", 221);
    let q = server.queued();
    assert_eq!(q.len(), 1, "{q:#?}");
    assert_eq!((q[0].id.to_string(), q[0].mail_from.as_str()), (id, "legit@example.org"));
    assert!(
        q[0].size as usize >= body.len() - 1,
        "size {} for a {}-byte body",
        q[0].size,
        body.len()
    );
}
