//! DSNs from `build_dsn` read by two parsers nobody here wrote: mail-parser and Python's
//! `email` package (tests/peers/dsn_check.py), plus our own `parse_dsn` for the round trip.
mod support;

use support::peers;

use mail_parser::{MessageParser, MimeHeaders};
use postern::delivery::dsn::{DsnAction, DsnInput, DsnRecipient, build_dsn};
use postern::delivery::dsn_parse::parse_dsn;
use postern::proto::smtp::command::Ret;
use postern::proto::smtp::reply::Status;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, SystemTime};

const ORIGINAL: &[u8] = b"From: Alice <alice@example.com>\r\n\
To: bob@example.net, carol@example.org\r\n\
Subject: quarterly report\r\n\
Message-ID: <orig-77@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Numbers attached, caf\xc3\xa9 later.\r\n";

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn recipients() -> Vec<DsnRecipient> {
    vec![
        DsnRecipient {
            final_recipient: "bob@example.net".into(),
            original_recipient: Some("rfc822;Bob@Example.NET".into()),
            action: DsnAction::Failed,
            status: Status(5, 1, 1),
            remote_mta: Some("mx1.example.net".into()),
            diagnostic: Some(
                "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown".into(),
            ),
            last_attempt: Some(t(1_790_000_100)),
            will_retry_until: None,
        },
        DsnRecipient {
            final_recipient: "carol@example.org".into(),
            original_recipient: None,
            action: DsnAction::Failed,
            status: Status(5, 4, 4),
            remote_mta: None,
            diagnostic: Some(
                "Host or domain name not found. Name service error for name=example.org type=MX"
                    .into(),
            ),
            last_attempt: None,
            will_retry_until: None,
        },
    ]
}

fn input(ret: Option<Ret>, recipients: Vec<DsnRecipient>) -> DsnInput<'static> {
    DsnInput {
        reporting_mta: "mail.example.com".into(),
        envelope_id: Some("QX-1234".into()),
        sender: "alice@example.com".into(),
        arrival_date: t(1_790_000_000),
        original: ORIGINAL,
        ret,
        return_limit: 50_000,
        recipients,
        date: t(1_790_000_200),
    }
}

fn python_view(dsn: &[u8]) -> Value {
    let py = peers::require_python(&["email"]);
    let run = peers::run(Command::new(py).arg(peers::peer_file("dsn_check.py")), dsn);
    run.assert_ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn failure_dsn_parses_in_mail_parser() {
    let dsn = build_dsn(&input(None, recipients()));
    eprintln!("{}", String::from_utf8_lossy(&dsn));
    assert_wire_clean(&dsn);
    let msg = MessageParser::default().parse(&dsn).expect("parses");
    let ct = msg.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(msg.subject(), Some("Undelivered Mail Returned to Sender"));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("MAILER-DAEMON@mail.example.com"));
    assert_eq!(from.name(), Some("Mail Delivery System"));
    assert_eq!(
        msg.to().unwrap().first().unwrap().address(),
        Some("alice@example.com")
    );
    assert_eq!(
        msg.header("Auto-Submitted").and_then(|h| h.as_text()),
        Some("auto-replied")
    );
    assert!(msg.message_id().unwrap().ends_with("@mail.example.com"));
    assert!(msg.date().is_some());

    let types: Vec<String> = msg.parts[1..]
        .iter()
        .filter_map(|p| {
            p.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        })
        .collect();
    assert_eq!(
        types[..3],
        ["text/plain", "message/delivery-status", "message/rfc822"]
    );
    let notice = msg.body_text(0).unwrap();
    assert!(
        notice.contains("<bob@example.net>: host mx1.example.net said: 550 5.1.1"),
        "{notice}"
    );
    let status = String::from_utf8_lossy(msg.parts[2].contents()).into_owned();
    assert!(
        status.contains("Final-Recipient: rfc822; bob@example.net\r\n"),
        "{status}"
    );
    assert!(status.contains("Original-Recipient: rfc822; Bob@Example.NET\r\n"));
    assert!(status.contains("Diagnostic-Code: X-Postern; Host or domain name not found."));
    let returned = msg.parts[3].message().expect("nested message");
    assert_eq!(returned.subject(), Some("quarterly report"));
    assert_eq!(returned.message_id(), Some("orig-77@example.com"));
    assert_eq!(
        returned.body_text(0).unwrap().trim(),
        "Numbers attached, caf\u{e9} later."
    );
}

#[test]
fn failure_dsn_parses_in_python_email() {
    let dsn = build_dsn(&input(Some(Ret::Full), recipients()));
    let v = python_view(&dsn);
    eprintln!(
        "python email: {}",
        serde_json::to_string(&v["recipients"]).unwrap()
    );
    assert_eq!(v["content_type"], "multipart/report");
    assert_eq!(v["report_type"], "delivery-status");
    assert_eq!(v["defects"], serde_json::json!([]));
    assert_eq!(
        v["parts"],
        serde_json::json!(["text/plain", "message/delivery-status", "message/rfc822"])
    );
    assert_eq!(
        v["headers"]["subject"],
        "Undelivered Mail Returned to Sender"
    );
    assert_eq!(v["headers"]["auto-submitted"], "auto-replied");
    assert_eq!(v["headers"]["to"], "alice@example.com");
    assert_eq!(v["per_message"]["reporting-mta"], "dns; mail.example.com");
    assert_eq!(v["per_message"]["original-envelope-id"], "QX-1234");
    let bob = &v["recipients"][0];
    assert_eq!(bob["final-recipient"], "rfc822; bob@example.net");
    assert_eq!(bob["action"], "failed");
    assert_eq!(bob["status"], "5.1.1");
    assert_eq!(bob["remote-mta"], "dns; mx1.example.net");
    assert_eq!(
        bob["diagnostic-code"],
        "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"
    );
    let carol = &v["recipients"][1];
    assert_eq!(carol["final-recipient"], "rfc822; carol@example.org");
    assert_eq!(carol["status"], "5.4.4");
    assert!(carol.get("remote-mta").is_none());
    assert_eq!(v["returned"]["subject"], "quarterly report");
    assert_eq!(v["returned"]["message_id"], "<orig-77@example.com>");
    assert!(
        v["returned"]["body"]
            .as_str()
            .unwrap()
            .contains("Numbers attached")
    );
}

#[test]
fn ret_hdrs_and_delay_return_headers_only_in_both_parsers() {
    let mut delayed = recipients();
    delayed.truncate(1);
    delayed[0].action = DsnAction::Delayed;
    delayed[0].status = Status(4, 4, 1);
    delayed[0].diagnostic =
        Some("connect to mx1.example.net[127.0.0.2]:25: Connection refused".into());
    delayed[0].will_retry_until = Some(t(1_790_432_000));
    for (case, dsn) in [
        ("RET=HDRS", build_dsn(&input(Some(Ret::Hdrs), recipients()))),
        ("delay", build_dsn(&input(None, delayed))),
    ] {
        let v = python_view(&dsn);
        assert_eq!(v["parts"][2], "text/rfc822-headers", "{case}");
        assert_eq!(v["returned"]["subject"], "quarterly report", "{case}");
        assert_eq!(v["defects"], serde_json::json!([]), "{case}");
        let msg = MessageParser::default().parse(&dsn).unwrap();
        let third = msg.parts[3].content_type().unwrap();
        assert_eq!(third.subtype(), Some("rfc822-headers"), "{case}");
        assert!(
            !String::from_utf8_lossy(&dsn).contains("Numbers attached"),
            "{case}: body left out"
        );
        if case == "delay" {
            assert_eq!(
                v["headers"]["subject"],
                "Delayed Mail (still being retried)"
            );
            assert_eq!(v["recipients"][0]["action"], "delayed");
            assert_eq!(v["recipients"][0]["status"], "4.4.1");
            assert!(
                v["recipients"][0]["will-retry-until"]
                    .as_str()
                    .unwrap()
                    .contains("2026")
            );
            assert!(
                v["text"]
                    .as_str()
                    .unwrap()
                    .contains("THIS IS A WARNING ONLY")
            );
        }
    }
}

#[test]
fn our_parser_reads_back_the_report() {
    let dsn = build_dsn(&input(None, recipients()));
    let parsed = parse_dsn(&dsn).expect("a DSN");
    assert_eq!(parsed.reporting_mta.as_deref(), Some("mail.example.com"));
    assert_eq!(parsed.envelope_id.as_deref(), Some("QX-1234"));
    assert_eq!(
        parsed.original_message_id.as_deref(),
        Some("orig-77@example.com")
    );
    let got: Vec<_> = parsed
        .recipients
        .iter()
        .map(|r| (r.final_recipient.as_str(), r.action, r.status))
        .collect();
    assert_eq!(
        got,
        [
            (
                "bob@example.net",
                Some(DsnAction::Failed),
                Some(Status(5, 1, 1))
            ),
            (
                "carol@example.org",
                Some(DsnAction::Failed),
                Some(Status(5, 4, 4))
            ),
        ]
    );
}

// Wire-format details: CRLF, line lengths, what is returned when.

fn wire_input<'a>(original: &'a [u8], ret: Option<Ret>, actions: &[DsnAction]) -> DsnInput<'a> {
    DsnInput {
        reporting_mta: "mail.example.com".into(),
        envelope_id: Some("env\r\n-1".into()),
        sender: "alice@example.com".into(),
        arrival_date: SystemTime::UNIX_EPOCH,
        original,
        ret,
        return_limit: postern::delivery::dsn::DEFAULT_RETURN_LIMIT,
        recipients: actions
            .iter()
            .map(|&action| DsnRecipient {
                final_recipient: "bob@example.net".into(),
                original_recipient: None,
                action,
                status: Status(5, 1, 1),
                remote_mta: Some("dns; mx1.example.net".into()),
                diagnostic: Some(format!("550 5.1.1 {}", "very long reason ".repeat(80))),
                last_attempt: Some(SystemTime::UNIX_EPOCH),
                will_retry_until: None,
            })
            .collect(),
        date: SystemTime::UNIX_EPOCH,
    }
}

fn text(dsn: &[u8]) -> String {
    String::from_utf8_lossy(dsn).into_owned()
}

#[track_caller]
fn assert_wire_clean(dsn: &[u8]) {
    for line in dsn.split(|b| *b == b'\n') {
        assert!(line.len() < 998, "line of {} octets", line.len());
    }
    for (i, b) in dsn.iter().enumerate() {
        if *b == b'\n' {
            assert!(i > 0 && dsn[i - 1] == b'\r', "bare LF at {i}");
        }
    }
    assert!(dsn.ends_with(b"--\r\n"));
}

#[test]
fn failure_returns_full_message_with_folded_fields() {
    let orig = b"Subject: hi\nFrom: alice@example.com\n\nbody line\n";
    let dsn = build_dsn(&wire_input(orig, None, &[DsnAction::Failed]));
    assert_wire_clean(&dsn);
    let t = text(&dsn);
    assert!(t.contains("Subject: Undelivered Mail Returned to Sender\r\n"));
    assert!(t.contains("Auto-Submitted: auto-replied\r\n"));
    assert!(t.contains("Content-Type: message/rfc822\r\n\r\nSubject: hi\r\n"));
    assert!(t.contains("\r\nbody line\r\n\r\n--"));
    assert!(
        t.contains("Original-Envelope-Id: env -1\r\n"),
        "CR/LF removed from ENVID"
    );
    assert!(t.contains("Remote-MTA: dns; mx1.example.net\r\n"));
    let diag = t
        .split("Diagnostic-Code:")
        .nth(1)
        .unwrap()
        .split("\r\nLast-")
        .next()
        .unwrap();
    assert!(diag.lines().count() > 10 && diag.lines().all(|l| l.len() <= 77));
    assert!(
        diag.replace("\r\n", "")
            .starts_with(" smtp; 550 5.1.1 very long reason very")
    );
    assert!(t.contains("<bob@example.net>: host mx1.example.net said: 550 5.1.1"));
}

#[test]
fn hdrs_big_or_delay_return_headers_only() {
    let orig = b"Subject: hi\r\n\r\nsecret body\r\n";
    for dsn in [
        build_dsn(&wire_input(orig, Some(Ret::Hdrs), &[DsnAction::Failed])),
        build_dsn(&DsnInput {
            return_limit: 10,
            ..wire_input(orig, None, &[DsnAction::Failed])
        }),
        build_dsn(&wire_input(orig, Some(Ret::Full), &[DsnAction::Delayed])),
    ] {
        assert_wire_clean(&dsn);
        let t = text(&dsn);
        assert!(t.contains("Content-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n\r\n--"));
        assert!(!t.contains("secret body"));
    }
    let delay = text(&build_dsn(&wire_input(orig, None, &[DsnAction::Delayed])));
    assert!(delay.contains("Subject: Delayed Mail (still being retried)\r\n"));
    assert!(
        delay.contains("Status: 4.0.0\r\n"),
        "class repaired to match the action"
    );
    let ok = text(&build_dsn(&wire_input(orig, None, &[DsnAction::Delivered])));
    assert!(ok.contains("Subject: Successful Mail Delivery Report\r\n"));
    assert!(ok.contains("<bob@example.net>: delivered via mx1.example.net: 550"));
}

#[test]
fn long_lines_and_8bit_stay_legal() {
    let mut orig = format!("Subject: {}\r\n\r\n", "x".repeat(3000)).into_bytes();
    orig.extend_from_slice("caf\u{e9} {}\r\n".as_bytes());
    orig.extend_from_slice(&[b'y'; 2000]);
    let dsn = build_dsn(&wire_input(&orig, None, &[DsnAction::Failed]));
    assert_wire_clean(&dsn);
    assert!(text(&dsn).contains("Content-Type: text/rfc822-headers\r\n"));
    let mut r = wire_input(b"", None, &[DsnAction::Failed]);
    r.recipients[0].final_recipient = "j\u{f6}rg+x@example.net".into();
    let t = text(&build_dsn(&r));
    assert!(
        t.contains("Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}x@example.net\r\n"),
        "{t}"
    );
    assert!(t.contains("charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"));
    assert!(
        !t.contains("message/rfc822"),
        "empty original: no third part"
    );
}
