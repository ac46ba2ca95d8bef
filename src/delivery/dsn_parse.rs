//! Reading delivery status notifications that come back to us (RFC 3464 / RFC 6533):
//! per-recipient Final-Recipient / Action / Status from a `multipart/report` bounce, for
//! SRS bounce routing and suppression. Takes untrusted bytes: never panics (proptest below,
//! fuzzed), bounded work per input.
use super::dsn::DsnAction;
use crate::proto::smtp::reply::Status;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use std::borrow::Cow;

/// More recipient groups than this in one report are ignored (no MTA sends that many).
const MAX_RECIPIENTS: usize = 1000;

/// What a bounce says, field values trimmed, address types stripped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedDsn {
    /// `Reporting-MTA` without its `dns;` type.
    pub reporting_mta: Option<String>,
    pub envelope_id: Option<String>,
    pub arrival_date: Option<String>,
    pub recipients: Vec<ParsedRecipient>,
    /// Message-ID of the returned message (from message/rfc822 or text/rfc822-headers).
    pub original_message_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRecipient {
    /// The address of `Final-Recipient` (`rfc822; a@b` -> `a@b`; `utf-8` decoded).
    pub final_recipient: String,
    pub original_recipient: Option<String>,
    /// `None` when the field is missing or not one of the five RFC 3464 actions.
    pub action: Option<DsnAction>,
    pub status: Option<Status>,
    pub remote_mta: Option<String>,
    /// `Diagnostic-Code` as written, type included (`smtp; 550 5.1.1 ...`).
    pub diagnostic: Option<String>,
}

/// `None` unless the message has a (global-)delivery-status part with at least one
/// recipient group carrying a Final-Recipient.
pub fn parse_dsn(message: &[u8]) -> Option<ParsedDsn> {
    // mail-parser 0.11 can panic on some nested message/rfc822 parts (found by fuzzing,
    // fuzz/known-crashes/dsn); a hostile bounce must not take the caller down with it.
    std::panic::catch_unwind(|| parse(message)).unwrap_or(None)
}

fn parse(message: &[u8]) -> Option<ParsedDsn> {
    let parsed = MessageParser::default().parse(message)?;
    let status_body = parsed
        .parts
        .iter()
        .find(|p| is_type(p, "message", &["delivery-status", "global-delivery-status"]))?;
    let text = String::from_utf8_lossy(status_body.contents());
    let mut groups = field_groups(&text).into_iter();
    let per_message = groups.next()?;
    let recipients: Vec<ParsedRecipient> = groups
        .filter_map(|g| recipient(&g))
        .take(MAX_RECIPIENTS)
        .collect();
    if recipients.is_empty() {
        return None;
    }
    Some(ParsedDsn {
        reporting_mta: get(&per_message, "reporting-mta").map(|v| strip_type(&v)),
        envelope_id: get(&per_message, "original-envelope-id"),
        arrival_date: get(&per_message, "arrival-date"),
        recipients,
        original_message_id: original_message_id(&parsed),
    })
}

fn is_type(part: &mail_parser::MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|s| subtypes.iter().any(|w| w.eq_ignore_ascii_case(s)))
    })
}

fn recipient(group: &[(String, String)]) -> Option<ParsedRecipient> {
    let final_recipient = address(&get(group, "final-recipient")?);
    if final_recipient.is_empty() {
        return None;
    }
    Some(ParsedRecipient {
        final_recipient,
        original_recipient: get(group, "original-recipient").map(|v| address(&v)),
        action: get(group, "action").and_then(|a| DsnAction::parse(&a)),
        status: get(group, "status").and_then(|s| parse_status(&s)),
        remote_mta: get(group, "remote-mta").map(|v| strip_type(&v)),
        diagnostic: get(group, "diagnostic-code"),
    })
}

fn original_message_id(parsed: &Message<'_>) -> Option<String> {
    for part in parsed.parts.iter() {
        let id = match &part.body {
            PartType::Message(m) => m.message_id().map(str::to_string),
            _ if is_type(part, "text", &["rfc822-headers"]) => MessageParser::default()
                .parse_headers(part.contents())
                .and_then(|m| m.message_id().map(str::to_string)),
            _ => None,
        };
        if id.is_some() {
            return id;
        }
    }
    None
}

/// Splits the delivery-status body into blank-line separated groups of unfolded fields.
fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups = vec![Vec::new()];
    for line in text.lines() {
        let groups_len = groups.len();
        let group: &mut Vec<(String, String)> = &mut groups[groups_len - 1];
        if line.trim().is_empty() {
            if !group.is_empty() {
                if groups.len() > MAX_RECIPIENTS + 1 {
                    break;
                }
                groups.push(Vec::new());
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            group.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// First value of a field; empty values count as absent.
fn get(group: &[(String, String)], name: &str) -> Option<String> {
    group
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

/// `rfc822; <a@b>` -> `a@b`; `utf-8; j\x{F6}rg@b` -> `jörg@b`; no type: the value itself.
fn address(value: &str) -> String {
    let (kind, addr) = value.split_once(';').unwrap_or(("rfc822", value));
    let addr = addr
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if kind.trim().eq_ignore_ascii_case("utf-8") {
        decode_utf8_xtext(addr).into_owned()
    } else {
        addr.to_string()
    }
}

/// RFC 6533 `\x{HEX}` escapes; malformed ones are kept as they are.
fn decode_utf8_xtext(s: &str) -> Cow<'_, str> {
    if !s.contains("\\x{") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("\\x{") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 3..];
        let decoded = after.find('}').and_then(|end| {
            let c = u32::from_str_radix(&after[..end], 16)
                .ok()
                .and_then(char::from_u32)?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\\x{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn strip_type(value: &str) -> String {
    match value.split_once(';') {
        Some((_, v)) => v.trim().to_string(),
        None => value.trim().to_string(),
    }
}

/// `5.1.1` (a comment may follow) -> Status; class must be 2, 4 or 5 (RFC 3463).
fn parse_status(value: &str) -> Option<Status> {
    let token = value
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()?;
    let mut it = token.split('.');
    let class: u8 = it.next()?.parse().ok()?;
    let subject: u16 = it.next()?.parse().ok()?;
    let detail: u16 = it.next()?.parse().ok()?;
    let ok = it.next().is_none() && matches!(class, 2 | 4 | 5) && subject < 1000 && detail < 1000;
    ok.then_some(Status(class, subject, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::dsn::{DsnInput, DsnRecipient, build_dsn};
    use proptest::prelude::*;
    use std::time::SystemTime;

    fn built() -> Vec<u8> {
        let rcpt = |addr: &str, action, status, diag: Option<&str>| DsnRecipient {
            final_recipient: addr.into(),
            original_recipient: Some(format!("rfc822;{}", addr.to_uppercase())),
            action,
            status,
            remote_mta: Some("mx1.example.net".into()),
            diagnostic: diag.map(str::to_string),
            last_attempt: None,
            will_retry_until: None,
        };
        build_dsn(&DsnInput {
            reporting_mta: "mail.example.com".into(),
            envelope_id: Some("env-42".into()),
            sender: "alice@example.com".into(),
            arrival_date: SystemTime::UNIX_EPOCH,
            original: b"From: alice@example.com\r\nMessage-ID: <orig-1@example.com>\r\n\r\nhi\r\n",
            ret: None,
            return_limit: 50_000,
            recipients: vec![
                rcpt(
                    "bob@example.net",
                    DsnAction::Failed,
                    Status(5, 1, 1),
                    Some("550 5.1.1 no such user"),
                ),
                rcpt(
                    "j\u{f6}rg@example.net",
                    DsnAction::Delayed,
                    Status(4, 4, 1),
                    None,
                ),
            ],
            date: SystemTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn reads_back_what_build_dsn_writes() {
        let dsn = parse_dsn(&built()).expect("a DSN");
        assert_eq!(dsn.reporting_mta.as_deref(), Some("mail.example.com"));
        assert_eq!(dsn.envelope_id.as_deref(), Some("env-42"));
        assert_eq!(
            dsn.original_message_id.as_deref(),
            Some("orig-1@example.com")
        );
        let [bob, jorg] = &dsn.recipients[..] else {
            panic!("{dsn:?}")
        };
        assert_eq!(bob.final_recipient, "bob@example.net");
        assert_eq!(bob.original_recipient.as_deref(), Some("BOB@EXAMPLE.NET"));
        assert_eq!(bob.action, Some(DsnAction::Failed));
        assert_eq!(bob.status, Some(Status(5, 1, 1)));
        assert_eq!(bob.remote_mta.as_deref(), Some("mx1.example.net"));
        assert_eq!(
            bob.diagnostic.as_deref(),
            Some("smtp; 550 5.1.1 no such user")
        );
        assert_eq!(jorg.final_recipient, "j\u{f6}rg@example.net");
        assert_eq!(jorg.action, Some(DsnAction::Delayed));
        assert_eq!(jorg.status, Some(Status(4, 4, 1)));
    }

    #[test]
    fn reads_a_foreign_style_bounce() {
        // Folded fields, comments, odd case, LF line ends: as other MTAs send them.
        let msg = "From: MAILER-DAEMON@mx.example.org\nTo: a@example.com\nMIME-Version: 1.0\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"XX\"\n\n\
            --XX\nContent-Type: text/plain\n\nsorry\n\
            --XX\nContent-Type: message/delivery-status\n\n\
            reporting-mta: dns;mx.example.org\n\n\
            final-recipient: RFC822; <c@example.org>\n\
            ACTION: failed (permanent)\nStatus: 5.2.2 (mailbox full)\n\
            Diagnostic-Code: smtp; 552-5.2.2 over quota\n  552 5.2.2 try later\n\n\
            --XX\nContent-Type: text/rfc822-headers\n\nMessage-ID: <x@y>\nSubject: s\n\n--XX--\n";
        let dsn = parse_dsn(msg.as_bytes()).expect("a DSN");
        assert_eq!(dsn.reporting_mta.as_deref(), Some("mx.example.org"));
        assert_eq!(dsn.original_message_id.as_deref(), Some("x@y"));
        let r = &dsn.recipients[0];
        assert_eq!(r.final_recipient, "c@example.org");
        assert_eq!(r.action, Some(DsnAction::Failed));
        assert_eq!(r.status, Some(Status(5, 2, 2)));
        assert_eq!(
            r.diagnostic.as_deref(),
            Some("smtp; 552-5.2.2 over quota 552 5.2.2 try later")
        );
    }

    #[test]
    fn non_reports_are_none() {
        assert_eq!(parse_dsn(b""), None);
        assert_eq!(parse_dsn(b"Subject: hi\r\n\r\nbody\r\n"), None);
        let no_rcpt = b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n";
        assert_eq!(parse_dsn(no_rcpt), None);
        assert_eq!(parse_status("6.0.0"), None);
        assert_eq!(parse_status("5.1"), None);
        assert_eq!(decode_utf8_xtext("a\\x{ZZ}b\\x{"), "a\\x{ZZ}b\\x{");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            check_invariants(parse_dsn(&bytes));
        }

        #[test]
        fn never_panics_on_mangled_reports(
            cuts in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12)
        ) {
            let mut msg = built();
            for (at, byte) in cuts {
                let at = at % (msg.len() + 1);
                if byte % 3 == 0 { msg.truncate(at) } else { msg.insert(at, byte) }
            }
            check_invariants(parse_dsn(&msg));
        }
    }

    /// A report we return always names its recipients.
    fn check_invariants(dsn: Option<ParsedDsn>) {
        if let Some(dsn) = dsn {
            assert!(!dsn.recipients.is_empty() && dsn.recipients.len() <= MAX_RECIPIENTS);
            assert!(dsn.recipients.iter().all(|r| !r.final_recipient.is_empty()));
        }
    }
}
