//! Delivery status notifications we send (RFC 3464 / RFC 3461 / RFC 6522): a complete
//! `multipart/report` message with a human-readable explanation in the spirit of Postfix's,
//! the machine-readable `message/delivery-status`, and the original message (or its headers).
//!
//! Owns: the DSN wire format. Must not touch: the queue or transports; the caller decides
//! when a DSN is due (NOTIFY), sends it with the null reverse-path `<>`, and never bounces a
//! message whose own sender is `<>`.
use crate::proto::smtp::command::Ret;
use crate::proto::smtp::reply::Status;
use std::fmt::Write as _;
use std::time::SystemTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Default for `DsnInput::return_limit`: like Postfix's `bounce_size_limit`.
pub const DEFAULT_RETURN_LIMIT: usize = 50_000;
/// Longest line we emit, well under RFC 5322's 998.
const HARD_LINE: usize = 900;
/// Where text and header fields are wrapped when they can be.
const SOFT_LINE: usize = 76;

/// RFC 3464 §2.3.3 action values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnAction {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl DsnAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DsnAction::Failed => "failed",
            DsnAction::Delayed => "delayed",
            DsnAction::Delivered => "delivered",
            DsnAction::Relayed => "relayed",
            DsnAction::Expanded => "expanded",
        }
    }

    /// Case-insensitive; ignores an RFC 3464 comment such as `failed (bad mailbox)`.
    pub fn parse(s: &str) -> Option<DsnAction> {
        let word = s.split(['(', ' ', '\t']).next().unwrap_or("");
        match word.trim().to_ascii_lowercase().as_str() {
            "failed" => Some(DsnAction::Failed),
            "delayed" => Some(DsnAction::Delayed),
            "delivered" => Some(DsnAction::Delivered),
            "relayed" => Some(DsnAction::Relayed),
            "expanded" => Some(DsnAction::Expanded),
            _ => None,
        }
    }
}

/// One recipient's line of the report.
#[derive(Debug, Clone)]
pub struct DsnRecipient {
    pub final_recipient: String,
    /// ORCPT as received, `addr-type;address` (xtext-decoded); a bare address means rfc822.
    pub original_recipient: Option<String>,
    pub action: DsnAction,
    pub status: Status,
    /// Host that gave the reply (`mx1.example.net`; a `dns;` prefix is accepted).
    pub remote_mta: Option<String>,
    /// The remote reply (`550 5.1.1 no such user`) or our own reason (`connection refused`).
    pub diagnostic: Option<String>,
    pub last_attempt: Option<SystemTime>,
    /// For `delayed`: when we give up.
    pub will_retry_until: Option<SystemTime>,
}

/// Everything a report is built from.
#[derive(Debug, Clone)]
pub struct DsnInput<'a> {
    /// Our hostname: Reporting-MTA, From: MAILER-DAEMON@host, Message-ID.
    pub reporting_mta: String,
    /// ENVID from MAIL FROM, xtext-decoded.
    pub envelope_id: Option<String>,
    /// The original envelope sender, who receives the report (never empty: see module doc).
    pub sender: String,
    pub arrival_date: SystemTime,
    /// The original message as queued (CRLF or LF line ends).
    pub original: &'a [u8],
    /// RET from MAIL FROM. Only failure reports honour FULL/absent (RFC 3461 §4.3);
    /// delay and success reports carry the headers only.
    pub ret: Option<Ret>,
    /// Larger originals are returned as headers only (keeps the MIME structure intact).
    pub return_limit: usize,
    pub recipients: Vec<DsnRecipient>,
    /// Date of the report itself.
    pub date: SystemTime,
}

/// Builds the report message: RFC 5322, CRLF line ends, no line over 900 octets.
pub fn build_dsn(input: &DsnInput<'_>) -> Vec<u8> {
    let kind = Kind::of(&input.recipients);
    let original = Returned::choose(input, kind);
    let host = clean(&input.reporting_mta);
    let boundary = boundary(&host, original.content());
    let notice = notice_text(input, kind, &host);
    let eight_bit = !notice.is_ascii() || original.content().iter().any(|b| *b >= 0x80);

    let mut out = String::with_capacity(4096);
    field(
        &mut out,
        "From",
        &format!("Mail Delivery System <MAILER-DAEMON@{host}>"),
    );
    field(&mut out, "To", &format!("<{}>", clean(&input.sender)));
    field(&mut out, "Subject", kind.subject());
    field(&mut out, "Date", &rfc2822(input.date));
    field(
        &mut out,
        "Message-ID",
        &format!("<{}@{host}>", unique_token()),
    );
    field(&mut out, "Auto-Submitted", "auto-replied");
    field(&mut out, "MIME-Version", "1.0");
    let ctype = format!("multipart/report; report-type=delivery-status; boundary=\"{boundary}\"");
    field(&mut out, "Content-Type", &ctype);
    if eight_bit {
        field(&mut out, "Content-Transfer-Encoding", "8bit");
    }
    out.push_str("\r\nThis is a MIME-encapsulated message.\r\n");

    let ctype = match notice.is_ascii() {
        true => "text/plain; charset=us-ascii",
        false => "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit",
    };
    part_head(&mut out, &boundary, "Notification", ctype);
    out.push_str(&notice);
    part_head(
        &mut out,
        &boundary,
        "Delivery report",
        "message/delivery-status",
    );
    out.push_str(&delivery_status(input, &host));

    if let Some((description, ctype)) = original.describe(kind) {
        part_head(&mut out, &boundary, description, ctype);
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(original.content());
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    bytes
}

/// What the report is mostly about; picks the subject and the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Delay,
    Success,
}

impl Kind {
    fn of(recipients: &[DsnRecipient]) -> Kind {
        if recipients.iter().any(|r| r.action == DsnAction::Failed) {
            Kind::Failure
        } else if recipients.iter().any(|r| r.action == DsnAction::Delayed) {
            Kind::Delay
        } else {
            Kind::Success
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Kind::Failure => "Undelivered Mail Returned to Sender",
            Kind::Delay => "Delayed Mail (still being retried)",
            Kind::Success => "Successful Mail Delivery Report",
        }
    }
}

/// The copy of the original that goes into the third part.
enum Returned {
    Full(Vec<u8>),
    Headers(Vec<u8>),
    Nothing,
}

impl Returned {
    fn choose(input: &DsnInput<'_>, kind: Kind) -> Returned {
        let message = crlf(input.original);
        if message.is_empty() {
            return Returned::Nothing;
        }
        let full = kind == Kind::Failure
            && input.ret != Some(Ret::Hdrs)
            && message.len() <= input.return_limit
            && message.split(|b| *b == b'\n').all(|l| l.len() < HARD_LINE);
        if full {
            return Returned::Full(message);
        }
        let end = memchr::memmem::find(&message, b"\r\n\r\n").map_or(message.len(), |p| p + 2);
        Returned::Headers(wrap_long_lines(&message[..end]))
    }

    fn content(&self) -> &[u8] {
        match self {
            Returned::Full(m) | Returned::Headers(m) => m,
            Returned::Nothing => b"",
        }
    }

    /// Content-Description and Content-Type (with the 8bit label when needed) of the part.
    fn describe(&self, kind: Kind) -> Option<(&'static str, &'static str)> {
        let eight_bit = self.content().iter().any(|b| *b >= 0x80);
        let ctype = match (self, eight_bit) {
            (Returned::Nothing, _) => return None,
            (Returned::Full(_), false) => "message/rfc822",
            (Returned::Full(_), true) => "message/rfc822\r\nContent-Transfer-Encoding: 8bit",
            (Returned::Headers(_), false) => "text/rfc822-headers",
            (Returned::Headers(_), true) => {
                "text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit"
            }
        };
        let description = match (self, kind) {
            (Returned::Full(_), _) => "Undelivered Message",
            (_, Kind::Failure) => "Undelivered Message Headers",
            (_, Kind::Delay) => "Delayed Message Headers",
            (_, Kind::Success) => "Message Headers",
        };
        Some((description, ctype))
    }
}

/// The human-readable part, one paragraph per situation, then one line per recipient.
fn notice_text(input: &DsnInput<'_>, kind: Kind, host: &str) -> String {
    let mut t = format!("This is the mail system at host {host}.\r\n\r\n");
    match kind {
        Kind::Failure => t.push_str(
            "Your message could not be delivered to one or more recipients.\r\n\
             The reasons are listed below, and your message is attached.\r\n",
        ),
        Kind::Delay => {
            t.push_str(
                "####################################################################\r\n\
                 # THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n\
                 ####################################################################\r\n\r\n\
                 Your message has not been delivered yet to the recipients below.\r\n",
            );
            let until = input
                .recipients
                .iter()
                .filter_map(|r| r.will_retry_until)
                .max();
            if let Some(until) = until {
                let _ = write!(t, "Delivery will be retried until {}.\r\n", rfc2822(until));
            }
        }
        Kind::Success => t.push_str(
            "Your message was delivered to the destinations listed below.\r\n\
             If it was delivered to a mailbox you will receive no further\r\n\
             notifications; otherwise other systems may still report errors.\r\n",
        ),
    }
    t.push_str(
        "\r\nFor further assistance, please send mail to postmaster, and\r\n\
         include this report.\r\n\r\n                   The mail system\r\n\r\n",
    );
    for r in &input.recipients {
        fold_words(&mut t, "", &recipient_line(r), "    ");
        t.push_str("\r\n");
    }
    t
}

/// Postfix-style `<rcpt>: host mx said: 550 ...`; the address may be UTF-8 here.
fn recipient_line(r: &DsnRecipient) -> String {
    let text = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let mut line = format!("<{}>:", text(r.final_recipient.trim()));
    let host = r.remote_mta.as_deref().map(|h| clean(strip_type(h)));
    let done = !matches!(r.action, DsnAction::Failed | DsnAction::Delayed);
    match (&host, done) {
        (Some(h), false) => line += &format!(" host {h} said:"),
        (Some(h), true) => line += &format!(" {} via {h}:", r.action.as_str()),
        (None, true) => line += &format!(" {}:", r.action.as_str()),
        (None, false) => {}
    }
    match &r.diagnostic {
        Some(d) => line + " " + &clean(strip_type(d)),
        None => format!("{line} status {}", r.status),
    }
}

/// The `message/delivery-status` body: per-message fields, then one group per recipient.
fn delivery_status(input: &DsnInput<'_>, host: &str) -> String {
    let mut s = String::new();
    field(&mut s, "Reporting-MTA", &format!("dns; {host}"));
    if let Some(envid) = input.envelope_id.as_deref().filter(|e| !e.is_empty()) {
        field(&mut s, "Original-Envelope-Id", &clean(envid));
    }
    field(
        &mut s,
        "X-Postern-Sender",
        &format!("rfc822; {}", clean(&input.sender)),
    );
    field(&mut s, "Arrival-Date", &rfc2822(input.arrival_date));
    for r in &input.recipients {
        s.push_str("\r\n");
        field(
            &mut s,
            "Final-Recipient",
            &typed_address(&r.final_recipient),
        );
        if let Some(orcpt) = r.original_recipient.as_deref().filter(|o| !o.is_empty()) {
            let value = match orcpt.split_once(';') {
                Some((kind, addr)) => format!("{}; {}", clean(kind.trim()), clean(addr.trim())),
                None => typed_address(orcpt),
            };
            field(&mut s, "Original-Recipient", &value);
        }
        field(&mut s, "Action", r.action.as_str());
        field(&mut s, "Status", &status_for(r).to_string());
        if let Some(mta) = &r.remote_mta {
            field(
                &mut s,
                "Remote-MTA",
                &format!("dns; {}", clean(strip_type(mta))),
            );
        }
        if let Some(diag) = &r.diagnostic {
            field(&mut s, "Diagnostic-Code", &diagnostic_code(diag));
        }
        if let Some(t) = r.last_attempt {
            field(&mut s, "Last-Attempt-Date", &rfc2822(t));
        }
        if let (DsnAction::Delayed, Some(t)) = (r.action, r.will_retry_until) {
            field(&mut s, "Will-Retry-Until", &rfc2822(t));
        }
    }
    s
}

/// Status class must agree with the action (RFC 3464 §2.3.4); a mismatch is a caller bug
/// that we repair rather than send a self-contradicting report.
fn status_for(r: &DsnRecipient) -> Status {
    let class = match r.action {
        DsnAction::Failed => 5,
        DsnAction::Delayed => 4,
        _ => 2,
    };
    if r.status.0 == class {
        r.status
    } else {
        Status(class, 0, 0)
    }
}

/// `smtp; 550 5.1.1 ...` for a remote reply, `X-Postern; ...` for our own reasons.
fn diagnostic_code(diag: &str) -> String {
    if let Some((kind, rest)) = diag.split_once(';')
        && !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return format!("{}; {}", kind, clean(rest.trim()));
    }
    let d = clean(diag);
    let is_reply = d.len() >= 4 && d.as_bytes()[..3].iter().all(u8::is_ascii_digit);
    if is_reply {
        format!("smtp; {d}")
    } else {
        format!("X-Postern; {d}")
    }
}

/// `rfc822; user@example.net`, or RFC 6533 `utf-8;` with `\x{HEX}` for non-ASCII.
fn typed_address(addr: &str) -> String {
    let addr = addr.trim();
    if addr.is_ascii() {
        return format!("rfc822; {}", clean(addr));
    }
    let mut s = String::from("utf-8; ");
    for c in addr.chars() {
        if c.is_ascii_graphic() && !matches!(c, '+' | '=' | '\\') {
            s.push(c);
        } else {
            let _ = write!(s, "\\x{{{:X}}}", c as u32);
        }
    }
    s
}

/// `dns; host` -> `host`, `smtp; 550 ...` -> `550 ...`.
fn strip_type(value: &str) -> &str {
    let v = value.trim();
    for prefix in ["dns;", "smtp;"] {
        if v.get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
        {
            return v[prefix.len()..].trim();
        }
    }
    v
}

/// Printable ASCII only: header and status fields must not carry CR/LF or raw 8-bit text.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\t' | '\r' | '\n' => ' ',
            _ => '?',
        })
        .collect();
    out.truncate(out.trim_end().len());
    out
}

/// Writes `Name: value` as a header field folded at spaces.
fn field(out: &mut String, name: &str, value: &str) {
    fold_words(out, &format!("{name}:"), value, " ");
    out.push_str("\r\n");
}

/// Appends `start` and the words of `text`, wrapped near SOFT_LINE with `indent` opening
/// each continuation line (a header fold when it is whitespace); no line passes HARD_LINE.
fn fold_words(out: &mut String, start: &str, text: &str, indent: &str) {
    let mut line = start.to_string();
    let mut has_word = false;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if has_word && line.len() + 1 + word.len() > SOFT_LINE {
            out.push_str(&line);
            out.push_str("\r\n");
            line = indent.to_string();
        }
        if !line.is_empty() && !line.ends_with(' ') {
            line.push(' ');
        }
        let mut rest = word;
        while line.len() + rest.len() > HARD_LINE {
            let take = floor_char(rest, HARD_LINE.saturating_sub(line.len()).max(1));
            out.push_str(&line);
            out.push_str(&rest[..take]);
            out.push_str("\r\n");
            line = indent.to_string();
            rest = &rest[take..];
        }
        line.push_str(rest);
        has_word = true;
    }
    out.push_str(&line);
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    if i == 0 {
        s.chars().next().map_or(0, char::len_utf8)
    } else {
        i
    }
}

fn part_head(out: &mut String, boundary: &str, description: &str, ctype: &str) {
    let _ = write!(
        out,
        "\r\n--{boundary}\r\nContent-Description: {description}\r\nContent-Type: {ctype}\r\n\r\n"
    );
}

/// Bare LF and bare CR become CRLF; the result ends with CRLF unless empty.
fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = crate::proto::smtp::data::to_crlf(input);
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Header lines longer than HARD_LINE get folded by force (the part is informational).
fn wrap_long_lines(headers: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() + 16);
    for line in headers.split_inclusive(|b| *b == b'\n') {
        let mut rest = line;
        while rest.len() > HARD_LINE {
            out.extend_from_slice(&rest[..HARD_LINE]);
            out.extend_from_slice(b"\r\n ");
            rest = &rest[HARD_LINE..];
        }
        out.extend_from_slice(rest);
    }
    out
}

/// A boundary that does not occur in the attached content.
fn boundary(host: &str, content: &[u8]) -> String {
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .take(40)
        .collect();
    loop {
        let b = format!("{}/{host}", unique_token());
        if memchr::memmem::find(content, b.as_bytes()).is_none() {
            return b;
        }
    }
}

fn unique_token() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{now:x}.{:016x}", rand::random::<u64>())
}

fn rfc2822(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc2822)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_get_a_type() {
        assert_eq!(diagnostic_code("550 5.1.1 no"), "smtp; 550 5.1.1 no");
        assert_eq!(diagnostic_code("smtp;550 x"), "smtp; 550 x");
        assert_eq!(
            diagnostic_code("connect to mx: refused"),
            "X-Postern; connect to mx: refused"
        );
        assert_eq!(DsnAction::parse("Failed (x)"), Some(DsnAction::Failed));
        assert_eq!(DsnAction::parse("bogus"), None);
        assert_eq!(typed_address(" a@b "), "rfc822; a@b");
        assert_eq!(strip_type("DNS; mx.example"), "mx.example");
        assert_eq!(clean("a\r\nb\u{e9}\t"), "a  b?");
    }
}
