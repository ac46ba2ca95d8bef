//! SMTP commands (RFC 5321 §4.1) with the ESMTP parameters postern supports.
//!
//! Owns: parsing a command line into `Command` (liberal like Postfix with
//! strict_rfc821_envelopes=no), MAIL/RCPT parameters with xtext, the error-to-reply
//! mapping, and encoding commands for the outbound client.
//! Must not touch: session state (sequence checks live in `inbound`), I/O.
use std::fmt::Write as _;

use super::address::{
    AddressError, ForwardPath, ReversePath, parse_forward_path, parse_reverse_path,
};
use super::reply::Reply;
use super::xtext::{decode as xtext_decode, encode as xtext_encode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail {
        from: ReversePath,
        params: MailParams,
    },
    Rcpt {
        to: ForwardPath,
        params: RcptParams,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    StartTls,
    /// `AUTH mech [initial-response]`; mechanism upper-cased.
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

/// DSN RET (RFC 3461).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ret {
    Full,
    Hdrs,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    pub body: Option<Body>,
    pub smtputf8: bool,
    pub ret: Option<Ret>,
    /// DSN ENVID, xtext-decoded.
    pub envid: Option<String>,
    /// AUTH= parameter (RFC 4954), xtext-decoded; `<>` stays `<>`.
    pub auth: Option<String>,
}

/// DSN NOTIFY (RFC 3461): `NEVER` is all flags false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    pub notify: Option<Notify>,
    /// DSN ORCPT as `addr-type;address`, xtext-decoded.
    pub orcpt: Option<String>,
}

/// Why a command line was refused; `reply()` gives the SMTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("command not recognized")]
    UnknownCommand,
    #[error("command is not valid UTF-8")]
    InvalidUtf8,
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    #[error("bad sender address: {0}")]
    BadSender(AddressError),
    #[error("bad recipient address: {0}")]
    BadRecipient(AddressError),
    #[error("unsupported parameter {0}")]
    UnknownParameter(String),
    #[error("bad value for parameter {0}")]
    InvalidParameter(&'static str),
    #[error("parameter {0} given twice")]
    DuplicateParameter(&'static str),
    #[error("non-ASCII address without SMTPUTF8")]
    NeedsSmtputf8,
}

impl ParseError {
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::UnknownCommand => Reply::unknown_command(),
            ParseError::InvalidUtf8 => Reply::invalid_utf8(),
            ParseError::Syntax(msg) => Reply::syntax(msg),
            ParseError::BadSender(e) => Reply::bad_sender_syntax(&e.to_string()),
            ParseError::BadRecipient(e) => Reply::bad_recipient_syntax(&e.to_string()),
            ParseError::UnknownParameter(name) => Reply::unknown_parameter(name),
            ParseError::InvalidParameter(name) => Reply::bad_parameter(name),
            ParseError::DuplicateParameter(name) => Reply::duplicate_parameter(name),
            ParseError::NeedsSmtputf8 => Reply::smtputf8_required(),
        }
    }
}

/// Parses one command line (without its CRLF), accepting UTF-8 recipients.
///
/// Use [`parse_with`] in a session so RCPT honours the transaction's SMTPUTF8 flag.
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    parse_with(line, true)
}

/// Parses one command line (without its CRLF).
///
/// `smtputf8` says whether the open transaction declared SMTPUTF8: it decides whether a
/// RCPT may carry a non-ASCII address. MAIL decides from its own SMTPUTF8 parameter.
pub fn parse_with(line: &[u8], smtputf8: bool) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::InvalidUtf8)?;
    if line.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::Syntax("control character in command"));
    }
    let line = line.trim_matches(|c| c == ' ' || c == '\t');
    let (verb, arg) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim_start_matches([' ', '\t'])),
        None => (line, ""),
    };
    // Upper-case the verb on the stack: no allocation per command.
    let mut buf = [0u8; 8];
    let up = buf
        .get_mut(..verb.len())
        .ok_or(ParseError::UnknownCommand)?;
    up.copy_from_slice(verb.as_bytes());
    up.make_ascii_uppercase();
    let bare = |c: Command| {
        if arg.is_empty() {
            Ok(c)
        } else {
            Err(ParseError::Syntax("no arguments allowed"))
        }
    };
    let required = |what: &'static str| {
        if arg.is_empty() {
            Err(ParseError::Syntax(what))
        } else {
            Ok(arg.to_owned())
        }
    };
    match &*up {
        b"EHLO" => required("EHLO needs a hostname").map(Command::Ehlo),
        b"HELO" => required("HELO needs a hostname").map(Command::Helo),
        b"MAIL" => parse_mail(arg),
        b"RCPT" => parse_rcpt(arg, smtputf8),
        b"DATA" => bare(Command::Data),
        b"BDAT" => parse_bdat(arg),
        b"RSET" => bare(Command::Rset),
        b"NOOP" => Ok(Command::Noop),
        b"QUIT" => bare(Command::Quit),
        b"VRFY" => required("VRFY needs an argument").map(Command::Vrfy),
        b"EXPN" => required("EXPN needs an argument").map(Command::Expn),
        b"HELP" => Ok(Command::Help((!arg.is_empty()).then(|| arg.to_owned()))),
        b"STARTTLS" => bare(Command::StartTls),
        b"AUTH" => parse_auth(arg),
        _ => Err(ParseError::UnknownCommand),
    }
}

/// Strips a case-insensitive `FROM:`/`TO:` and the spaces Postfix tolerates after it.
fn strip_keyword<'a>(arg: &'a str, kw: &str) -> Option<&'a str> {
    let head = arg.get(..kw.len())?;
    head.eq_ignore_ascii_case(kw)
        .then(|| arg[kw.len()..].trim_start_matches([' ', '\t']))
}

/// Splits `<path> params` (or a bare path, like Postfix) respecting quoted local parts.
fn split_path(s: &str) -> Result<(&str, &str), ParseError> {
    let b = s.as_bytes();
    let bracketed = b.first() == Some(&b'<');
    let (mut i, mut quoted) = (0, false);
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'>' if bracketed && !quoted => break,
            b' ' | b'\t' if !bracketed && !quoted => return Ok((&s[..i], &s[i..])),
            _ => {}
        }
        i += 1;
    }
    let end = (i + 1).min(s.len());
    let rest = &s[end..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(ParseError::Syntax("text after the path"));
    }
    Ok((&s[..end], rest))
}

fn parse_mail(arg: &str) -> Result<Command, ParseError> {
    let rest = strip_keyword(arg, "FROM:").ok_or(ParseError::Syntax("use MAIL FROM:<address>"))?;
    let (path, params) = split_path(rest)?;
    let params = parse_mail_params(params)?;
    let from = parse_reverse_path(path, params.smtputf8).map_err(|e| match e {
        AddressError::NeedsSmtputf8 => ParseError::NeedsSmtputf8,
        e => ParseError::BadSender(e),
    })?;
    Ok(Command::Mail { from, params })
}

fn parse_rcpt(arg: &str, smtputf8: bool) -> Result<Command, ParseError> {
    let rest = strip_keyword(arg, "TO:").ok_or(ParseError::Syntax("use RCPT TO:<address>"))?;
    let (path, params) = split_path(rest)?;
    let params = parse_rcpt_params(params)?;
    let to = parse_forward_path(path, smtputf8).map_err(|e| match e {
        AddressError::NeedsSmtputf8 => ParseError::NeedsSmtputf8,
        e => ParseError::BadRecipient(e),
    })?;
    Ok(Command::Rcpt { to, params })
}

fn parse_bdat(arg: &str) -> Result<Command, ParseError> {
    let mut words = arg.split_ascii_whitespace();
    let size = words
        .next()
        .ok_or(ParseError::Syntax("BDAT needs a chunk size"))?;
    let size = parse_number(size).ok_or(ParseError::Syntax("bad BDAT chunk size"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::Syntax("use BDAT <size> [LAST]")),
    };
    if words.next().is_some() {
        return Err(ParseError::Syntax("use BDAT <size> [LAST]"));
    }
    Ok(Command::Bdat { size, last })
}

fn parse_auth(arg: &str) -> Result<Command, ParseError> {
    let mut words = arg.split_ascii_whitespace();
    let mech = words
        .next()
        .ok_or(ParseError::Syntax("AUTH needs a mechanism"))?;
    let mech_ok = mech.len() <= 20
        && mech
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !mech_ok {
        return Err(ParseError::Syntax("bad AUTH mechanism name"));
    }
    let initial = words.next().map(|w| {
        if w == "=" {
            String::new()
        } else {
            w.to_owned()
        }
    });
    if words.next().is_some() {
        return Err(ParseError::Syntax(
            "use AUTH <mechanism> [initial-response]",
        ));
    }
    Ok(Command::Auth {
        mechanism: mech.to_ascii_uppercase(),
        initial,
    })
}

/// Decimal digits only (no sign, no spaces), at most 20 of them.
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

const MAIL_KEYS: [&str; 6] = ["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"];
const RCPT_KEYS: [&str; 2] = ["NOTIFY", "ORCPT"];

/// Iterates `KEY[=VALUE]` words, checking esmtp-keyword and esmtp-value syntax.
fn split_params(s: &str) -> impl Iterator<Item = Result<(&str, Option<&str>), ParseError>> {
    s.split_ascii_whitespace().map(|word| {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        let key_ok = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !key_ok {
            return Err(ParseError::Syntax("bad parameter keyword"));
        }
        if value.is_some_and(|v| v.is_empty() || v.contains('=')) {
            return Err(ParseError::Syntax("bad parameter value"));
        }
        Ok((key, value))
    })
}

/// Maps a keyword to its canonical spelling, or reports it as unknown.
fn keyword(key: &str, known: &[&'static str]) -> Result<&'static str, ParseError> {
    let name = known.iter().find(|k| k.eq_ignore_ascii_case(key));
    name.copied()
        .ok_or_else(|| ParseError::UnknownParameter(key.to_owned()))
}

fn set<T>(slot: &mut Option<T>, value: Option<T>, name: &'static str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::DuplicateParameter(name));
    }
    *slot = Some(value.ok_or(ParseError::InvalidParameter(name))?);
    Ok(())
}

fn parse_mail_params(s: &str) -> Result<MailParams, ParseError> {
    let mut p = MailParams::default();
    for item in split_params(s) {
        let (key, value) = item?;
        let name = keyword(key, &MAIL_KEYS)?;
        let Some(v) = value else {
            if name != "SMTPUTF8" {
                return Err(ParseError::InvalidParameter(name));
            }
            if p.smtputf8 {
                return Err(ParseError::DuplicateParameter(name));
            }
            p.smtputf8 = true;
            continue;
        };
        match name {
            "SIZE" => set(&mut p.size, parse_number(v), name)?,
            "BODY" => set(&mut p.body, Body::parse(v), name)?,
            "RET" => set(&mut p.ret, Ret::parse(v), name)?,
            // RFC 3461 §4.4: at most 100 characters, as we would send it on.
            "ENVID" => set(
                &mut p.envid,
                xtext_decode(v).filter(|d| v.len() <= 100 && super::xtext::encoded_len(d) <= 100),
                name,
            )?,
            "AUTH" => set(&mut p.auth, xtext_decode(v), name)?,
            _ => return Err(ParseError::InvalidParameter(name)),
        }
    }
    Ok(p)
}

fn parse_rcpt_params(s: &str) -> Result<RcptParams, ParseError> {
    let mut p = RcptParams::default();
    for item in split_params(s) {
        let (key, value) = item?;
        let name = keyword(key, &RCPT_KEYS)?;
        let v = value.ok_or(ParseError::InvalidParameter(name))?;
        match name {
            "NOTIFY" => set(&mut p.notify, Notify::parse(v), name)?,
            // RFC 3461 §4.2: at most 500 characters, as we would send it on.
            "ORCPT" => set(
                &mut p.orcpt,
                parse_orcpt(v).filter(|o| {
                    let (kind, addr) = o.split_once(';').unwrap_or(("", o));
                    v.len() <= 500 && kind.len() + 1 + super::xtext::encoded_len(addr) <= 500
                }),
                name,
            )?,
            _ => return Err(ParseError::InvalidParameter(name)),
        }
    }
    Ok(p)
}

/// `addr-type;xtext` with an atom addr-type; returns `addr-type;decoded`.
fn parse_orcpt(v: &str) -> Option<String> {
    let (kind, addr) = v.split_once(';')?;
    let kind_ok = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    kind_ok.then(|| xtext_decode(addr).map(|a| format!("{kind};{a}")))?
}

/// Case-insensitive keyword table lookup.
fn lookup<T: Copy>(v: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find_map(|&(k, t)| k.eq_ignore_ascii_case(v).then_some(t))
}

impl Body {
    fn parse(v: &str) -> Option<Body> {
        lookup(
            v,
            &[
                ("7BIT", Body::SevenBit),
                ("8BITMIME", Body::EightBitMime),
                ("BINARYMIME", Body::BinaryMime),
            ],
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

impl Ret {
    fn parse(v: &str) -> Option<Ret> {
        lookup(v, &[("FULL", Ret::Full), ("HDRS", Ret::Hdrs)])
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        }
    }
}

impl Notify {
    /// `NEVER` alone, or a comma list of distinct SUCCESS, FAILURE, DELAY.
    fn parse(v: &str) -> Option<Notify> {
        if v.eq_ignore_ascii_case("NEVER") {
            return Some(Notify::default());
        }
        let mut n = Notify::default();
        for word in v.split(',') {
            let flag = match word.to_ascii_uppercase().as_str() {
                "SUCCESS" => &mut n.success,
                "FAILURE" => &mut n.failure,
                "DELAY" => &mut n.delay,
                _ => return None,
            };
            if std::mem::replace(flag, true) {
                return None;
            }
        }
        Some(n)
    }

    fn write(self, s: &mut String) {
        let flags = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ];
        let mut first = true;
        for (_, name) in flags.iter().filter(|(on, _)| *on) {
            s.push_str(if first { "" } else { "," });
            s.push_str(name);
            first = false;
        }
        if first {
            s.push_str("NEVER");
        }
    }
}

impl Command {
    /// Wire form with CRLF, for the outbound client. Parses back to `self`.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::with_capacity(64);
        // Writing into a String cannot fail.
        let _ = self.write(&mut s);
        s.push_str("\r\n");
        s.into_bytes()
    }

    fn write(&self, s: &mut String) -> std::fmt::Result {
        match self {
            Command::Ehlo(h) => write!(s, "EHLO {h}"),
            Command::Helo(h) => write!(s, "HELO {h}"),
            Command::Mail { from, params } => {
                write!(s, "MAIL FROM:{from}")?;
                params.write(s)
            }
            Command::Rcpt { to, params } => {
                write!(s, "RCPT TO:{to}")?;
                params.write(s);
                Ok(())
            }
            Command::Data => write!(s, "DATA"),
            Command::Bdat { size, last: false } => write!(s, "BDAT {size}"),
            Command::Bdat { size, last: true } => write!(s, "BDAT {size} LAST"),
            Command::Rset => write!(s, "RSET"),
            Command::Noop => write!(s, "NOOP"),
            Command::Quit => write!(s, "QUIT"),
            Command::Vrfy(a) => write!(s, "VRFY {a}"),
            Command::Expn(a) => write!(s, "EXPN {a}"),
            Command::Help(None) => write!(s, "HELP"),
            Command::Help(Some(a)) => write!(s, "HELP {a}"),
            Command::StartTls => write!(s, "STARTTLS"),
            Command::Auth {
                mechanism,
                initial: None,
            } => write!(s, "AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial: Some(i),
            } if i.is_empty() => {
                write!(s, "AUTH {mechanism} =")
            }
            Command::Auth {
                mechanism,
                initial: Some(i),
            } => write!(s, "AUTH {mechanism} {i}"),
        }
    }
}

impl MailParams {
    fn write(&self, s: &mut String) -> std::fmt::Result {
        if let Some(size) = self.size {
            write!(s, " SIZE={size}")?;
        }
        if let Some(body) = self.body {
            write!(s, " BODY={}", body.as_str())?;
        }
        if self.smtputf8 {
            s.push_str(" SMTPUTF8");
        }
        if let Some(ret) = self.ret {
            write!(s, " RET={}", ret.as_str())?;
        }
        for (name, value) in [(" ENVID=", &self.envid), (" AUTH=", &self.auth)] {
            if let Some(v) = value {
                s.push_str(name);
                xtext_encode(v, s);
            }
        }
        Ok(())
    }
}

impl RcptParams {
    fn write(&self, s: &mut String) {
        if let Some(n) = self.notify {
            s.push_str(" NOTIFY=");
            n.write(s);
        }
        if let Some(orcpt) = &self.orcpt {
            s.push_str(" ORCPT=");
            match orcpt.split_once(';') {
                Some((kind, addr)) => {
                    s.push_str(kind);
                    s.push(';');
                    xtext_encode(addr, s);
                }
                None => xtext_encode(orcpt, s),
            }
        }
    }
}
