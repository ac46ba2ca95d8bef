//! Pieces of IMAP responses: strings as quoted strings or literals, flag lists, the
//! capability list. Every server text of IMAP is built here or in `server::imap`.
//!
//! Owns: response syntax. Must not touch: I/O.

/// A string as a quoted string when it can be one, else a literal.
pub fn string(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    out
}

pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() < 1024 && s.iter().all(|&b| b != b'\r' && b != b'\n' && b != 0 && b < 0x80) {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
}

/// Like `write_string`, but UTF-8 may stay quoted (after ENABLE UTF8=ACCEPT).
pub fn write_utf8_string(out: &mut Vec<u8>, s: &str, utf8: bool) {
    if utf8 && !s.is_ascii() && !s.contains(['\r', '\n', '\0']) && s.len() < 1024 {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        write_string(out, s.as_bytes());
    }
}

/// The parenthesized flag list of a message.
pub fn flag_list(flags: &[&str]) -> String {
    format!("({})", flags.join(" "))
}

/// CAPABILITY for a connection: before TLS on a STARTTLS port `starttls` is offered, and
/// `LOGINDISABLED` replaces AUTH=PLAIN when passwords may not be sent in clear. The
/// extensions are listed before login too: clients such as imaplib never ask again.
pub fn capabilities(logged_in: bool, starttls: bool, login_allowed: bool) -> String {
    let mut c = String::from(
        "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS MOVE CONDSTORE QRESYNC SPECIAL-USE LIST-EXTENDED LIST-STATUS QUOTA UTF8=ACCEPT",
    );
    if logged_in {
        return c;
    }
    if starttls {
        c.push_str(" STARTTLS");
    }
    if login_allowed {
        c.push_str(" AUTH=PLAIN");
    } else {
        c.push_str(" LOGINDISABLED");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(string(b"a\"b"), b"\"a\\\"b\"");
        assert_eq!(string(b"a\r\nb"), b"{4}\r\na\r\nb");
    }
}
