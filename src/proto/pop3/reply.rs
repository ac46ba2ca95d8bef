//! POP3 replies: the one place that holds every text the POP3 server puts on the wire.
//!
//! Owns: `Reply` (`+OK` / `-ERR`, with RFC 2449 §8 / RFC 3206 response codes), the
//! `Multiline` builder (dot-stuffed lines ending with `.`), and the catalogue of named
//! replies. Must not touch: I/O, session state. Texts follow Dovecot's where clients
//! might match them.
use std::fmt;

/// Extended response codes (RFC 2449 §8, RFC 3206), sent in brackets after `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespCode {
    /// The credentials are the problem (RFC 3206 §4): wrong, or not allowed here.
    Auth,
    /// A temporary problem of the server (RFC 3206 §3): try again later.
    SysTemp,
}

impl fmt::Display for RespCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RespCode::Auth => "AUTH",
            RespCode::SysTemp => "SYS/TEMP",
        })
    }
}

/// A one-line status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    pub code: Option<RespCode>,
    text: String,
}

impl Reply {
    fn ok_text(text: impl Into<String>) -> Reply {
        Reply { ok: true, code: None, text: clean(text.into()) }
    }
    fn err(code: Option<RespCode>, text: impl Into<String>) -> Reply {
        Reply { ok: false, code, text: clean(text.into()) }
    }

    /// `+OK text\r\n` / `-ERR [CODE] text\r\n`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.ok { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code {
            out.extend_from_slice(format!(" [{code}]").as_bytes());
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend_from_slice(self.text.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 16);
        self.write_wire(&mut out);
        out
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    // --- connection ---
    pub fn greeting(hostname: &str) -> Reply {
        Reply::ok_text(format!("{hostname} POP3 ready."))
    }
    pub fn too_many_connections() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Too many connections, try again later.")
    }
    pub fn rate_limited() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Too many connections from your address, try again later.")
    }
    pub fn timeout() -> Reply {
        Reply::err(None, "Disconnected for inactivity.")
    }
    pub fn shutting_down() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Server shutting down.")
    }
    pub fn too_many_errors() -> Reply {
        Reply::err(None, "Too many bad commands, closing connection.")
    }

    // --- syntax and state ---
    pub fn unknown_command() -> Reply {
        Reply::err(None, "Unknown command.")
    }
    pub fn bad_arguments() -> Reply {
        Reply::err(None, "Wrong number of arguments.")
    }
    pub fn bad_number() -> Reply {
        Reply::err(None, "Invalid number.")
    }
    pub fn bad_characters() -> Reply {
        Reply::err(None, "Invalid characters in command.")
    }
    pub fn line_too_long() -> Reply {
        Reply::err(None, "Command line too long.")
    }
    pub fn bare_newline() -> Reply {
        Reply::err(None, "Command lines must end with CRLF.")
    }
    pub fn not_logged_in() -> Reply {
        Reply::err(None, "Log in first.")
    }
    pub fn already_logged_in() -> Reply {
        Reply::err(None, "Already logged in.")
    }

    // --- authorization ---
    pub fn capa() -> Reply {
        Reply::ok_text("Capability list follows.")
    }
    pub fn mechanisms() -> Reply {
        Reply::ok_text("Mechanisms follow.")
    }
    pub fn user_accepted() -> Reply {
        Reply::ok_text("")
    }
    pub fn pass_without_user() -> Reply {
        Reply::err(None, "No USER given.")
    }
    pub fn logged_in() -> Reply {
        Reply::ok_text("Logged in.")
    }
    pub fn plaintext_disallowed() -> Reply {
        Reply::err(Some(RespCode::Auth), "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
    }
    pub fn auth_failed() -> Reply {
        Reply::err(Some(RespCode::Auth), "Authentication failed.")
    }
    /// Past the failure limit: no code, as retyping the password would not help now.
    pub fn auth_throttled() -> Reply {
        Reply::err(None, "Too many authentication failures, try again later.")
    }
    pub fn auth_unavailable() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Temporary authentication failure, try again later.")
    }
    pub fn mailbox_unavailable() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Mailbox unavailable, try again later.")
    }
    pub fn auth_mechanism_unsupported() -> Reply {
        Reply::err(None, "Unsupported authentication mechanism.")
    }
    pub fn apop_unsupported() -> Reply {
        Reply::err(None, "APOP is not supported.")
    }
    pub fn auth_cancelled() -> Reply {
        Reply::err(None, "Authentication cancelled.")
    }
    pub fn auth_malformed() -> Reply {
        Reply::err(None, "Invalid AUTH response.")
    }
    /// RFC 5034 §4: an empty server challenge is `+ ` then CRLF.
    pub fn auth_continue() -> &'static [u8] {
        b"+ \r\n"
    }

    // --- STLS ---
    pub fn stls_ready() -> Reply {
        Reply::ok_text("Begin TLS negotiation now.")
    }
    pub fn already_tls() -> Reply {
        Reply::err(None, "TLS is already active.")
    }
    pub fn stls_not_here() -> Reply {
        Reply::err(None, "STLS is only offered before login on the plain POP3 port.")
    }

    // --- transaction ---
    pub fn stat(count: usize, octets: u64) -> Reply {
        Reply::ok_text(format!("{count} {octets}"))
    }
    pub fn scan_listing(n: usize, octets: u64) -> Reply {
        Reply::ok_text(format!("{n} {octets}"))
    }
    pub fn list_follows(count: usize) -> Reply {
        Reply::ok_text(format!("{count} messages:"))
    }
    pub fn uidl_one(n: usize, uidl: &str) -> Reply {
        Reply::ok_text(format!("{n} {uidl}"))
    }
    pub fn uidl_follows() -> Reply {
        Reply::ok_text("")
    }
    pub fn no_such_message(n: u32) -> Reply {
        Reply::err(None, format!("There's no message {n}."))
    }
    pub fn message_deleted() -> Reply {
        Reply::err(None, "Message is deleted.")
    }
    /// Another session removed it since this one listed it (RFC 2449 has no code for it).
    pub fn message_expunged(n: u32) -> Reply {
        Reply::err(None, format!("Message {n} expunged."))
    }
    pub fn retr(octets: u64) -> Reply {
        Reply::ok_text(format!("{octets} octets"))
    }
    pub fn top() -> Reply {
        Reply::ok_text("")
    }
    pub fn read_failed() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Reading the message failed, try again later.")
    }
    pub fn marked_deleted() -> Reply {
        Reply::ok_text("Marked to be deleted.")
    }
    pub fn reset(count: usize, octets: u64) -> Reply {
        Reply::ok_text(format!("{count} messages, {octets} octets"))
    }
    pub fn noop() -> Reply {
        Reply::ok_text("")
    }
    pub fn bye() -> Reply {
        Reply::ok_text("Logging out.")
    }
    pub fn bye_deleted() -> Reply {
        Reply::ok_text("Logging out, messages deleted.")
    }
    pub fn update_failed() -> Reply {
        Reply::err(Some(RespCode::SysTemp), "Removing deleted messages failed; they are kept.")
    }
}

/// Replaces CR and LF so a text can never break the framing (texts may quote input).
fn clean(s: String) -> String {
    if s.bytes().any(|b| b == b'\r' || b == b'\n') { s.replace(['\r', '\n'], " ") } else { s }
}

/// A multi-line response (RFC 1939 §3): the status line, then lines, each dot-stuffed,
/// then a line holding only `.`.
pub struct Multiline {
    out: Vec<u8>,
}

impl Multiline {
    pub fn new(first: &Reply) -> Multiline {
        Multiline { out: first.to_wire() }
    }

    pub fn line(&mut self, line: &str) -> &mut Self {
        if line.starts_with('.') {
            self.out.push(b'.');
        }
        self.out.extend_from_slice(clean(line.to_string()).as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b".\r\n");
        self.out
    }
}

/// The CAPA response (RFC 2449 §5). `user`: a password may be sent now (USER and SASL
/// PLAIN are listed only then, as Dovecot does); `stls`: STLS may be used now.
pub fn capabilities(user: bool, stls: bool) -> Vec<u8> {
    let mut m = Multiline::new(&Reply::capa());
    m.line("TOP").line("UIDL").line("RESP-CODES").line("AUTH-RESP-CODE").line("PIPELINING");
    if user {
        m.line("USER").line("SASL PLAIN");
    }
    if stls {
        m.line("STLS");
    }
    m.line("IMPLEMENTATION postern");
    m.finish()
}

/// The answer to `AUTH` without arguments: the mechanisms, one per line.
pub fn mechanisms(plaintext_allowed: bool) -> Vec<u8> {
    let mut m = Multiline::new(&Reply::mechanisms());
    if plaintext_allowed {
        m.line("PLAIN");
    }
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(Reply::auth_failed().to_wire(), b"-ERR [AUTH] Authentication failed.\r\n");
        assert_eq!(Reply::noop().to_wire(), b"+OK\r\n");
        assert_eq!(Reply::stat(2, 300).to_wire(), b"+OK 2 300\r\n");
        let mut m = Multiline::new(&Reply::uidl_follows());
        m.line("1 abc").line(".dot");
        assert_eq!(m.finish(), b"+OK\r\n1 abc\r\n..dot\r\n.\r\n");
    }

    #[test]
    fn capa_lists_user_only_when_allowed() {
        let before = String::from_utf8(capabilities(false, true)).unwrap();
        assert!(!before.contains("USER") && !before.contains("SASL") && before.contains("STLS\r\n"), "{before}");
        let after = String::from_utf8(capabilities(true, false)).unwrap();
        assert!(after.contains("\r\nUSER\r\n") && after.contains("SASL PLAIN") && !after.contains("STLS"), "{after}");
        assert!(after.ends_with("\r\n.\r\n"));
    }
}
