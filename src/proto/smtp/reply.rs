//! SMTP replies: the one place that holds every text postern puts on the wire.
//!
//! Owns: the `Reply` type, its wire encoding, the client-side reply parser and the
//! catalogue of named replies (`Reply::ok()`, `Reply::relay_denied(..)`, ...).
//! Must not touch: I/O, session state. Other modules pick a constructor, never a text.
use std::fmt;

use memchr::memchr;

/// Enhanced status code (RFC 3463): class.subject.detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u8, pub u16, pub u16);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: Option<Status>,
    /// One entry per line; never contains CR or LF.
    pub lines: Vec<String>,
}

/// Why bytes from a server are not a reply (client side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line is not `DDD[ -]text`")]
    Syntax,
    #[error("reply code {0} is outside 200..=599")]
    InvalidCode(u16),
    #[error("multi-line reply mixes codes {0} and {1}")]
    InconsistentCode(u16, u16),
    #[error("reply line longer than {MAX_REPLY_LINE} octets")]
    LineTooLong,
    #[error("reply has more than {MAX_REPLY_LINES} lines")]
    TooManyLines,
}

/// Longest reply line (with CRLF) the client accepts; RFC 5321 says 512, servers exceed it.
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one reply the client accepts (bounds memory against a hostile server).
pub const MAX_REPLY_LINES: usize = 1000;
/// Replaces CR and LF so a line can never break the framing (texts may quote client input).
fn clean_line(s: String) -> String {
    if s.bytes().any(|b| b == b'\r' || b == b'\n') {
        s.replace(['\r', '\n'], " ")
    } else {
        s
    }
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, status: Option<Status>, text: impl Into<String>) -> Reply {
        Reply::multiline(code, status, vec![text.into()])
    }

    /// A multi-line reply; an empty `lines` becomes one empty line.
    pub fn multiline(code: u16, status: Option<Status>, lines: Vec<String>) -> Reply {
        let mut lines: Vec<String> = lines.into_iter().map(clean_line).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply {
            code,
            status,
            lines,
        }
    }

    /// Wire form: `250-a\r\n250 b\r\n`, each line prefixed by the enhanced status if set.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.len() + 16).sum());
        self.write_wire(&mut out);
        out
    }

    /// Appends the wire form to `out` (no intermediate allocation per line).
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let last = self.lines.len().saturating_sub(1);
        // A reply always has at least one line on the wire.
        const EMPTY: &[String] = &[String::new()];
        let lines = Some(&self.lines[..])
            .filter(|l| !l.is_empty())
            .unwrap_or(EMPTY);
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            // Writing into a Vec cannot fail.
            let _ = match (self.status, line.is_empty()) {
                (Some(st), true) => write!(out, "{:03}{sep}{st}", self.code),
                (Some(st), false) => write!(out, "{:03}{sep}{st} {line}", self.code),
                (None, true) if i == last => write!(out, "{:03}", self.code),
                (None, _) => write!(out, "{:03}{sep}{line}", self.code),
            };
            out.extend_from_slice(b"\r\n");
        }
    }

    /// 2xx and 3xx.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 4xx: try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: do not retry.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// All lines joined by a space (for logs and DSNs).
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for Reply {
    /// One line for logs: `550 5.7.1 text text2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.code)?;
        if let Some(st) = self.status {
            write!(f, " {st}")?;
        }
        for line in &self.lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

/// Parses one complete reply from the start of `buf` (client side).
///
/// `Ok(None)` means "need more bytes". Lines may end in CRLF or, liberally, bare LF.
/// The enhanced status is taken from the first line when well formed and of the same
/// class as the code; it is then stripped from every line that repeats it.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code = 0u16;
    let mut status = None;
    let mut lines = Vec::new();
    loop {
        let rest = &buf[pos..];
        let Some(lf) = memchr(b'\n', &rest[..rest.len().min(MAX_REPLY_LINE)]) else {
            if rest.len() >= MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        let raw = &rest[..lf];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        pos += lf + 1;
        let (line_code, more, text) = split_line(raw)?;
        if lines.is_empty() {
            code = line_code;
            status = parse_status(text, code);
        } else if line_code != code {
            return Err(ReplyError::InconsistentCode(code, line_code));
        }
        lines.push(strip_status(text, status));
        if !more {
            let lines = lines
                .into_iter()
                .map(|t| String::from_utf8_lossy(t).into_owned());
            return Ok(Some((
                Reply {
                    code,
                    status,
                    lines: lines.collect(),
                },
                pos,
            )));
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
    }
}

/// `DDD-text` / `DDD text` / `DDD` into (code, continues, text).
fn split_line(raw: &[u8]) -> Result<(u16, bool, &[u8]), ReplyError> {
    if raw.len() < 3 || !raw[..3].iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::Syntax);
    }
    let code = raw[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if !(200..600).contains(&code) {
        return Err(ReplyError::InvalidCode(code));
    }
    match raw.get(3) {
        None => Ok((code, false, &[])),
        Some(b' ') => Ok((code, false, &raw[4..])),
        Some(b'-') => Ok((code, true, &raw[4..])),
        Some(_) => Err(ReplyError::Syntax),
    }
}

/// `X.Y.Z` (1-3 digits each, X matching the code's class) followed by SP or end.
fn parse_status(text: &[u8], code: u16) -> Option<Status> {
    let end = memchr(b' ', text).unwrap_or(text.len());
    let mut parts = text[..end].split(|&b| b == b'.');
    let mut num = |max: usize| -> Option<u16> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > max || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(p).ok()?.parse().ok()
    };
    let (class, subject, detail) = (num(1)?, num(3)?, num(3)?);
    if parts.next().is_some() || class != code / 100 {
        return None;
    }
    Some(Status(class as u8, subject, detail))
}

fn strip_status(text: &[u8], status: Option<Status>) -> &[u8] {
    let Some(st) = status else { return text };
    let end = memchr(b' ', text).unwrap_or(text.len());
    if parse_status(&text[..end], u16::from(st.0) * 100) == Some(st) {
        text.get(end + 1..).unwrap_or(&[])
    } else {
        text
    }
}

/// Declares catalogue entries with a fixed text: `name => code [class, subject, detail] "text"`.
macro_rules! fixed_replies {
    ($( $(#[$doc:meta])* $name:ident => $code:literal [$c:literal, $s:literal, $d:literal] $text:literal; )*) => {
        impl Reply {
            $( $(#[$doc])* pub fn $name() -> Reply {
                Reply::new($code, Some(Status($c, $s, $d)), $text)
            } )*
        }
    };
}

// The catalogue: every fixed text postern sends.
fixed_replies! {
    /// Generic success (EHLO-less acknowledgements, BDAT chunks).
    ok => 250 [2, 0, 0] "Ok";
    sender_ok => 250 [2, 1, 0] "Ok";
    recipient_ok => 250 [2, 1, 5] "Ok";
    reset_ok => 250 [2, 0, 0] "Ok";
    noop_ok => 250 [2, 0, 0] "Ok";
    bye => 221 [2, 0, 0] "Bye";
    vrfy => 252 [2, 5, 0] "Cannot VRFY user, but will accept message";
    help => 214 [2, 0, 0] "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH";
    starttls_ready => 220 [2, 0, 0] "Ready to start TLS";
    tls_not_available => 454 [4, 7, 0] "TLS not available due to temporary reason";
    already_tls => 503 [5, 5, 1] "Error: TLS already active";
    /// STARTTLS is mandatory on this listener before MAIL/AUTH.
    starttls_required => 530 [5, 7, 0] "Must issue a STARTTLS command first";
    auth_success => 235 [2, 7, 0] "Authentication successful";
    auth_failed => 535 [5, 7, 8] "Authentication credentials invalid";
    auth_required => 530 [5, 7, 0] "Authentication required";
    auth_needs_tls => 538 [5, 7, 11] "Encryption required for requested authentication mechanism";
    auth_mech_unsupported => 504 [5, 5, 4] "Unrecognized authentication type";
    auth_already => 503 [5, 5, 1] "Error: already authenticated";
    /// AUTH where the listener offers none.
    auth_not_enabled => 503 [5, 5, 1] "Error: authentication not enabled";
    /// AUTH during a mail transaction (RFC 4954 §4).
    auth_in_transaction => 503 [5, 5, 1] "Error: MAIL transaction in progress";
    auth_cancelled => 501 [5, 0, 0] "Authentication cancelled";
    auth_too_many_failures => 421 [4, 7, 0] "Too many authentication failures";
    /// SASL response that is not base64 (RFC 4954 §4).
    invalid_base64 => 501 [5, 5, 2] "Invalid base64 data";
    /// SASL response that decodes but has the wrong shape (e.g. PLAIN without two NULs).
    auth_malformed => 501 [5, 5, 2] "Invalid authentication data";
    sender_not_allowed => 553 [5, 7, 1] "Sender address rejected: not owned by authenticated user";
    too_many_recipients => 452 [4, 5, 3] "Too many recipients";
    message_too_big => 552 [5, 3, 4] "Message size exceeds fixed limit";
    line_too_long => 500 [5, 5, 2] "Line too long";
    /// A command line ended by a bare LF or holding a bare CR.
    bare_newline_command => 500 [5, 5, 2] "Error: bare <CR> or <LF> in command";
    bare_newline => 550 [5, 6, 0] "Message contains bare CR or LF (see RFC 5321 section 2.3.8)";
    need_mail => 503 [5, 5, 1] "Error: need MAIL command";
    /// The directory could not be asked at the end of DATA (alias expansion).
    lookup_failure => 451 [4, 3, 0] "Temporary lookup failure";
    /// The directory could not be asked during AUTH (Postfix + Dovecot's reply).
    auth_temporary_failure => 454 [4, 7, 0] "Temporary authentication failure";
    /// MAIL in plaintext where `tls.inbound = "encrypt"` (Postfix's text).
    starttls_first => 530 [5, 7, 0] "Must issue a STARTTLS command first";
    need_rcpt => 503 [5, 5, 1] "Error: need RCPT command";
    need_ehlo => 503 [5, 5, 1] "Error: send HELO/EHLO first";
    /// MAIL while a transaction is open.
    nested_mail => 503 [5, 5, 1] "Error: nested MAIL command";
    /// DATA/BDAT when every RCPT was rejected.
    no_valid_recipients => 554 [5, 5, 1] "Error: no valid recipients";
    bdat_without_mail => 503 [5, 5, 1] "Error: need MAIL command before BDAT";
    bdat_without_rcpt => 503 [5, 5, 1] "Error: need RCPT command before BDAT";
    /// RCPT once BDAT chunks have started (RFC 3030 §2: the envelope is complete).
    rcpt_after_bdat => 503 [5, 5, 1] "Error: RCPT after BDAT";
    /// DATA after BDAT chunks in the same transaction (RFC 3030 §2).
    data_after_bdat => 503 [5, 5, 1] "Error: DATA not allowed after BDAT";
    /// BDAT chunks announced without CHUNKING or after a failed chunk.
    bdat_not_allowed => 503 [5, 5, 1] "Error: BDAT not allowed now";
    unknown_command => 500 [5, 5, 1] "Error: command not recognized";
    /// Command recognized but switched off (EXPN).
    not_implemented => 502 [5, 5, 1] "Error: command not implemented";
    invalid_utf8 => 500 [5, 5, 2] "Error: command is not valid UTF-8";
    smtputf8_required => 553 [5, 6, 7] "SMTPUTF8 is required for non-ASCII addresses";
    /// BODY=8BITMIME/BINARYMIME or SMTPUTF8 that the listener did not advertise.
    extension_not_offered => 555 [5, 5, 4] "Error: extension not offered";
    /// Client sent commands before the greeting or across a non-pipelinable command.
    protocol_sync => 554 [5, 5, 0] "Error: SMTP protocol synchronization";
    too_many_errors => 421 [4, 7, 0] "Too many errors, closing connection";
    timeout => 421 [4, 4, 2] "Timeout exceeded, closing connection";
    too_many_connections => 421 [4, 7, 0] "Too many connections";
    rate_limited => 421 [4, 7, 0] "Rate limit exceeded, try again later";
    /// Per-transaction rate limit (the session stays open).
    rate_limited_transient => 450 [4, 7, 1] "Rate limit exceeded, try again later";
    shutting_down => 421 [4, 3, 2] "Service shutting down";
    local_error => 451 [4, 3, 0] "Temporary failure, try again later";
    insufficient_storage => 452 [4, 3, 1] "Insufficient system storage";
    /// SPF hard fail on the smtp listener (RFC 7372).
    spf_fail => 550 [5, 7, 23] "SPF validation failed";
    /// DMARC policy reject (RFC 7372).
    dmarc_reject => 550 [5, 7, 1] "Message rejected per DMARC policy";
    /// DNS trouble while checking SPF/DKIM/DMARC.
    auth_check_temp => 451 [4, 7, 5] "Temporary failure checking sender authentication";
}

impl Reply {
    /// `220 host ESMTP postern` (no enhanced status on greetings, RFC 2034 §3).
    pub fn greeting(host: &str) -> Reply {
        Reply::new(220, None, format!("{host} ESMTP postern"))
    }

    /// Multi-line 250 EHLO reply: `host Hello name` then one line per extension.
    pub fn ehlo(host: &str, greeting_name: &str, extensions: &[String]) -> Reply {
        let mut lines = Vec::with_capacity(extensions.len() + 1);
        lines.push(format!("{host} Hello {greeting_name}"));
        lines.extend(extensions.iter().cloned());
        Reply::multiline(250, None, lines)
    }

    pub fn helo(host: &str) -> Reply {
        Reply::new(250, None, host)
    }

    /// After the message is durably queued (DESIGN.md contract).
    pub fn queued(id: &str) -> Reply {
        Reply::new(250, Some(Status(2, 0, 0)), format!("Ok: queued as {id}"))
    }

    /// Intermediate BDAT chunk accepted.
    pub fn chunk_ok(size: u64) -> Reply {
        Reply::new(
            250,
            Some(Status(2, 0, 0)),
            format!("{size} octets received"),
        )
    }

    pub fn start_data() -> Reply {
        Reply::new(354, None, "End data with <CR><LF>.<CR><LF>")
    }

    /// `334 challenge` (challenge already base64, may be empty).
    pub fn auth_continue(challenge: &str) -> Reply {
        Reply::new(334, None, challenge)
    }

    /// LOGIN mechanism: base64 of `Username:`.
    pub fn auth_login_username() -> Reply {
        Reply::auth_continue("VXNlcm5hbWU6")
    }

    /// LOGIN mechanism: base64 of `Password:`.
    pub fn auth_login_password() -> Reply {
        Reply::auth_continue("UGFzc3dvcmQ6")
    }

    pub fn relay_denied(rcpt: impl fmt::Display) -> Reply {
        Reply::new(
            554,
            Some(Status(5, 7, 1)),
            format!("<{rcpt}>: Relay access denied"),
        )
    }

    /// Unknown local recipient.
    /// Quota exceeded at RCPT (RFC 3463 5.2.2).
    pub fn mailbox_full(rcpt: impl fmt::Display) -> Reply {
        Reply::new(552, Some(Status(5, 2, 2)), format!("<{rcpt}>: Recipient address rejected: Mailbox full"))
    }

    /// The directory could not answer for this recipient (Postfix's reply).
    /// MAIL FROM an address the authenticated login does not own (`relay.sender_login`).
    pub fn sender_not_owned(sender: impl fmt::Display, login: &str) -> Reply {
        Reply::new(553, Some(Status(5, 7, 1)), format!("<{sender}>: Sender address rejected: not owned by user {login}"))
    }

    /// The directory could not say whether the login owns the sender address.
    pub fn sender_lookup_unavailable(sender: impl fmt::Display) -> Reply {
        Reply::new(451, Some(Status(4, 3, 0)), format!("<{sender}>: Sender address rejected: Temporary lookup failure"))
    }

    pub fn directory_unavailable(rcpt: impl fmt::Display) -> Reply {
        Reply::new(451, Some(Status(4, 3, 0)), format!("<{rcpt}>: Temporary lookup failure"))
    }

    pub fn mailbox_unknown(rcpt: impl fmt::Display) -> Reply {
        let text = format!("<{rcpt}>: Recipient address rejected: User unknown");
        Reply::new(550, Some(Status(5, 1, 1)), text)
    }

    /// Bad command arguments.
    pub fn syntax(msg: &str) -> Reply {
        Reply::new(501, Some(Status(5, 5, 4)), format!("Syntax error: {msg}"))
    }

    /// Bad MAIL FROM address (RFC 3463 X.1.7).
    pub fn bad_sender_syntax(msg: &str) -> Reply {
        Reply::new(
            501,
            Some(Status(5, 1, 7)),
            format!("Bad sender address syntax: {msg}"),
        )
    }

    /// Bad RCPT TO address (RFC 3463 X.1.3).
    pub fn bad_recipient_syntax(msg: &str) -> Reply {
        let text = format!("Bad recipient address syntax: {msg}");
        Reply::new(501, Some(Status(5, 1, 3)), text)
    }

    pub fn unknown_parameter(name: &str) -> Reply {
        Reply::new(
            555,
            Some(Status(5, 5, 4)),
            format!("Unsupported option: {name}"),
        )
    }

    /// Known parameter, bad or repeated value.
    pub fn bad_parameter(name: &str) -> Reply {
        Reply::new(501, Some(Status(5, 5, 4)), format!("Bad parameter: {name}"))
    }

    pub fn duplicate_parameter(name: &str) -> Reply {
        Reply::new(
            501,
            Some(Status(5, 5, 4)),
            format!("Duplicate parameter: {name}"),
        )
    }

    /// Generic policy rejection with a reason that contains no configuration secrets.
    pub fn policy_rejected(reason: &str) -> Reply {
        Reply::new(550, Some(Status(5, 7, 1)), reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_single_and_multi() {
        assert_eq!(Reply::ok().to_wire(), b"250 2.0.0 Ok\r\n");
        let r = Reply::multiline(250, None, vec!["a".into(), "b".into()]);
        assert_eq!(r.to_wire(), b"250-a\r\n250 b\r\n");
        let r = Reply::multiline(550, Some(Status(5, 1, 1)), vec!["a".into(), "b".into()]);
        assert_eq!(r.to_wire(), b"550-5.1.1 a\r\n550 5.1.1 b\r\n");
        assert_eq!(Reply::new(250, None, "").to_wire(), b"250\r\n");
    }

    #[test]
    fn catalogue_texts() {
        let cases = [
            (Reply::queued("ABC123"), "250 2.0.0 Ok: queued as ABC123"),
            (
                Reply::greeting("mx.example"),
                "220 mx.example ESMTP postern",
            ),
            (Reply::start_data(), "354 End data with <CR><LF>.<CR><LF>"),
            (
                Reply::relay_denied("a@b.example"),
                "554 5.7.1 <a@b.example>: Relay access denied",
            ),
            (
                Reply::auth_failed(),
                "535 5.7.8 Authentication credentials invalid",
            ),
            (Reply::auth_success(), "235 2.7.0 Authentication successful"),
            (Reply::auth_required(), "530 5.7.0 Authentication required"),
            (
                Reply::auth_too_many_failures(),
                "421 4.7.0 Too many authentication failures",
            ),
            (Reply::starttls_ready(), "220 2.0.0 Ready to start TLS"),
            (
                Reply::too_many_recipients(),
                "452 4.5.3 Too many recipients",
            ),
            (
                Reply::message_too_big(),
                "552 5.3.4 Message size exceeds fixed limit",
            ),
            (Reply::need_rcpt(), "503 5.5.1 Error: need RCPT command"),
            (
                Reply::unknown_command(),
                "500 5.5.1 Error: command not recognized",
            ),
            (
                Reply::timeout(),
                "421 4.4.2 Timeout exceeded, closing connection",
            ),
            (Reply::shutting_down(), "421 4.3.2 Service shutting down"),
            (
                Reply::insufficient_storage(),
                "452 4.3.1 Insufficient system storage",
            ),
            (Reply::auth_continue("VXNlcm5hbWU6"), "334 VXNlcm5hbWU6"),
        ];
        for (reply, text) in cases {
            assert_eq!(reply.to_wire(), format!("{text}\r\n").into_bytes());
        }
        let e = Reply::ehlo("mx", "client", &["PIPELINING".into(), "SIZE 10".into()]);
        assert_eq!(
            e.to_wire(),
            b"250-mx Hello client\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
    }

    #[test]
    fn classes_and_text() {
        assert!(Reply::ok().is_positive() && Reply::start_data().is_positive());
        assert!(Reply::local_error().is_transient() && !Reply::local_error().is_permanent());
        assert!(Reply::auth_failed().is_permanent());
        let r = Reply::multiline(250, None, vec!["a".into(), "b".into()]);
        assert_eq!(r.text(), "a b");
        // Client text quoted in a reply cannot inject a second reply line.
        let r = Reply::relay_denied("x\r\n250 ok");
        assert_eq!(r.to_wire().iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn parse_partial_then_complete() {
        assert_eq!(parse_reply(b"250-a\r\n250 b"), Ok(None));
        assert_eq!(parse_reply(b""), Ok(None));
        let (r, n) = parse_reply(b"250-a\r\n250 b\r\nNEXT").unwrap().unwrap();
        assert_eq!(
            (r.code, r.lines.clone(), n),
            (250, vec!["a".to_string(), "b".to_string()], 14)
        );
        let (r, _) = parse_reply(b"220\n").unwrap().unwrap();
        assert_eq!((r.code, r.lines), (220, vec![String::new()]));
    }

    #[test]
    fn parse_status_only_when_class_matches() {
        let (r, _) = parse_reply(b"550 5.1.1 <x>: no\r\n").unwrap().unwrap();
        assert_eq!(
            (r.status, r.text()),
            (Some(Status(5, 1, 1)), "<x>: no".to_string())
        );
        let (r, _) = parse_reply(b"550 4.1.1 no\r\n").unwrap().unwrap();
        assert_eq!((r.status, r.text()), (None, "4.1.1 no".to_string()));
        let (r, _) = parse_reply(b"250 2.0 x\r\n").unwrap().unwrap();
        assert_eq!(r.status, None);
        let (r, _) = parse_reply(b"250 2.1.5\r\n").unwrap().unwrap();
        assert_eq!((r.status, r.text()), (Some(Status(2, 1, 5)), String::new()));
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [&b"hello\r\n"[..], b"25\r\n", b"250x\r\n", b"25a b\n"] {
            assert_eq!(parse_reply(bad), Err(ReplyError::Syntax));
        }
        assert_eq!(parse_reply(b"199 x\r\n"), Err(ReplyError::InvalidCode(199)));
        assert_eq!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::InconsistentCode(250, 251))
        );
        let long = vec![b'2'; MAX_REPLY_LINE];
        assert_eq!(parse_reply(&long), Err(ReplyError::LineTooLong));
        assert_eq!(parse_reply(&long[..MAX_REPLY_LINE - 1]), Ok(None));
    }

    fn arb_reply() -> impl Strategy<Value = Reply> {
        let status = proptest::option::of((2u8..=5, 0u16..1000, 0u16..1000));
        let lines = proptest::collection::vec("[a-zA-Z<>@:][ -~]{0,40}", 1..5);
        (2u16..=5, 0u16..100, status, lines).prop_map(|(c, rest, st, lines)| {
            let code = c * 100 + rest;
            let status = st.map(|(_, s, d)| Status(c as u8, s, d));
            Reply::multiline(code, status, lines)
        })
    }

    proptest! {
        #[test]
        fn wire_roundtrip(r in arb_reply(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut wire = r.to_wire();
            let n = wire.len();
            prop_assert_eq!(parse_reply(&wire[..n - 1]), Ok(None));
            wire.extend_from_slice(&tail);
            prop_assert_eq!(parse_reply(&wire), Ok(Some((r, n))));
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_reply(&buf);
        }
    }
}
