//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3), as IMAP clients and Dovecot's
//! Maildir folder names use them.

/// UTF-8 → modified UTF-7.
pub fn encode(name: &str) -> String {
    let _ = name;
    todo!("imap utf7")
}

/// Modified UTF-7 → UTF-8; None when it is not valid modified UTF-7.
pub fn decode(name: &str) -> Option<String> {
    let _ = name;
    todo!("imap utf7")
}
