use super::*;

fn opts(extract: bool, ignore_dots: bool) -> Options {
    Options { ignore_dots, extract, full_name: None }
}

fn text(p: &Prepared) -> String {
    String::from_utf8(p.message.clone()).unwrap()
}

#[test]
fn lone_dot_ends_input_unless_i() {
    assert_eq!(cut(b"a\n.\nb\n", false), b"a\r\n");
    assert_eq!(cut(b"a\r\n.\r\nb", false), b"a\r\n");
    assert_eq!(cut(b"a\n.\nb", true), b"a\r\n.\r\nb\r\n");
    assert_eq!(cut(b"a\n..\nb\n", false), b"a\r\n..\r\nb\r\n", "only a lone dot ends it");
    assert_eq!(cut(b"x\ry\n", true), b"x\ry\r\n", "lone CR inside a line is kept");
}

#[test]
fn t_extracts_recipients_and_removes_bcc() {
    let input = b"To: x@d.test, \"Y\" <y@d.test>\nCc: undisclosed: c@d.test;\nBcc: hidden@d.test,\n  h2@d.test\nSubject: s\n\nbody";
    let p = prepare(input, &opts(true, true), &["arg@d.test".into()], "a@d.test", "mx.test").unwrap();
    assert_eq!(p.recipients, ["arg@d.test", "x@d.test", "y@d.test", "c@d.test", "hidden@d.test", "h2@d.test"]);
    let t = text(&p);
    assert!(!t.contains("hidden") && !t.contains("h2@"), "Bcc kept:\n{t}");
    assert!(t.contains("To: x@d.test, \"Y\" <y@d.test>\r\nCc: undisclosed: c@d.test;\r\nSubject: s\r\n\r\nbody\r\n"), "{t}");
    assert!(t.starts_with("From: <a@d.test>\r\n") || t.starts_with("From: a@d.test\r\n"), "{t}");
    assert!(t.contains("\r\nDate: ") && t.contains("\r\nMessage-ID: <") && t.contains("@mx.test>\r\n"), "{t}");
}

#[test]
fn existing_headers_are_kept_and_full_name_is_encoded() {
    let input = b"From: App <app@d.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@d>\nSubject: s\n\nb\n";
    let p = prepare(input, &opts(false, true), &["r@d.test".into()], "bounce@d.test", "mx.test").unwrap();
    assert_eq!(text(&p), String::from_utf8_lossy(&cut(input, true)));
    let o = Options { full_name: Some("Jörg Cron".into()), ..opts(false, true) };
    let p = prepare(b"Subject: s\n\nb\n", &o, &["r@d.test".into()], "cron@d.test", "mx.test").unwrap();
    let from = MessageParser::new().parse(&p.message).unwrap().from().unwrap().first().unwrap().clone();
    assert_eq!((from.name(), from.address()), (Some("Jörg Cron"), Some("cron@d.test")));
}

#[test]
fn missing_blank_line_is_inserted() {
    let p = prepare(b"Subject: s\nthis is the body\n", &opts(false, true), &["r@d.test".into()], "a@d.test", "h").unwrap();
    assert!(text(&p).ends_with("Subject: s\r\n\r\nthis is the body\r\n"), "{}", text(&p));
}

#[test]
fn errors() {
    assert_eq!(prepare(b"Subject: s\n\nb", &opts(false, true), &[], "a@d", "h"), Err(InputError::NoRecipients));
    assert_eq!(prepare(b"Subject: s\n\nb", &opts(true, true), &[], "a@d", "h"), Err(InputError::NoHeaderRecipients));
    assert_eq!(prepare(b"\n", &opts(false, true), &["r@d".into()], "a@d", "h"), Err(InputError::Empty));
    assert_eq!(prepare(b".\nTo: x@d\n", &opts(true, false), &[], "a@d", "h"), Err(InputError::Empty));
    assert_eq!(prepare(b"S: \0\n\n", &opts(false, true), &["r@d".into()], "a@d", "h"), Err(InputError::Nul));
}
