//! IMAP strings written the way Dovecot's imap-quote writes them: quoted when possible,
//! a literal for CR/LF, 8-bit or more than four quoted-specials; "for humans" (SUBJECT,
//! address names) collapses whitespace and sends a literal whenever it changed something.
//!
//! Owns: the choice quoted/literal/NIL. Must not touch: what the strings are.
//! Output is a Rust String, so bytes that are not UTF-8 are replaced (U+FFFD) *before* the
//! choice and the literal length are made: the wire stays self-consistent; only such
//! non-UTF-8 header bytes differ from Dovecot, which sends them raw.

use std::borrow::Cow;
use std::fmt::Write;

const QUOTED_MAX_ESCAPE_CHARS: usize = 4;

fn text(src: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(src)
}

fn literal(out: &mut String, src: &str) {
    let _ = write!(out, "{{{}}}\r\n", src.len());
    out.push_str(src);
}

fn quoted(out: &mut String, src: &str) {
    out.push('"');
    for c in src.chars() {
        match c {
            '\r' | '\n' => {}
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if !c.is_ascii() => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// imap_append_string / imap_append_nstring (None is NIL).
pub fn nstring(out: &mut String, src: Option<&[u8]>) {
    let Some(src) = src else {
        out.push_str("NIL");
        return;
    };
    let src = text(src);
    let mut escapes = 0;
    for &b in src.as_bytes() {
        match b {
            b'"' | b'\\' => {
                escapes += 1;
                if escapes > QUOTED_MAX_ESCAPE_CHARS {
                    return literal(out, &src);
                }
            }
            b'\r' | b'\n' => return literal(out, &src),
            b if b >= 0x80 => return literal(out, &src),
            _ => {}
        }
    }
    quoted(out, &src);
}

pub fn string(out: &mut String, src: &[u8]) {
    nstring(out, Some(src));
}

/// imap_append_nstring_nolf: line ends removed (a space where the next line does not
/// start with whitespace).
pub fn nstring_nolf(out: &mut String, src: Option<&[u8]>) {
    let Some(src) = src else {
        out.push_str("NIL");
        return;
    };
    if !src.iter().any(|&b| b == b'\r' || b == b'\n') {
        return nstring(out, Some(src));
    }
    let mut clean = Vec::with_capacity(src.len());
    for (i, &b) in src.iter().enumerate() {
        if b != b'\r' && b != b'\n' {
            clean.push(b);
        } else if !matches!(src.get(i + 1), Some(b' ' | b'\t' | b'\r' | b'\n') | None) {
            clean.push(b' ');
        }
    }
    nstring(out, Some(&clean));
}

/// imap_append_string_for_humans.
pub fn for_humans(out: &mut String, src: &[u8]) {
    let src = text(src);
    let bytes = src.as_bytes();
    let mut remove = 0usize;
    let mut whitespace_prefix = true;
    let mut last_lwsp = true;
    let mut modify = false;
    for &b in bytes {
        match b {
            0 => {
                last_lwsp = false;
                modify = true;
            }
            b'\t' | b' ' => {
                if b == b'\t' {
                    modify = true;
                }
                if last_lwsp {
                    modify = true;
                    remove += 1;
                }
                last_lwsp = true;
            }
            b'\r' | b'\n' => {
                remove += 1;
                modify = true;
            }
            b'"' | b'\\' => {
                modify = true;
                last_lwsp = false;
            }
            b => {
                if b >= 0x80 {
                    modify = true;
                }
                last_lwsp = false;
            }
        }
        if !last_lwsp {
            whitespace_prefix = false;
        }
    }
    if last_lwsp && !bytes.is_empty() && !whitespace_prefix {
        modify = true;
        remove += 1;
    }
    if !modify {
        out.push('"');
        out.push_str(&src);
        out.push('"');
        return;
    }
    if bytes.len() == remove {
        out.push_str("\"\"");
        return;
    }
    let mut clean = String::with_capacity(bytes.len());
    let mut last_lwsp = true;
    let mut whitespace_prefix = true;
    for c in src.chars() {
        match c {
            '\0' => {
                clean.push('\u{80}');
                last_lwsp = false;
            }
            '\t' | ' ' => {
                if !last_lwsp {
                    clean.push(' ');
                }
                last_lwsp = true;
            }
            '\r' | '\n' => {}
            c => {
                last_lwsp = false;
                clean.push(c);
            }
        }
        if !last_lwsp {
            whitespace_prefix = false;
        }
    }
    if last_lwsp && !whitespace_prefix {
        clean.pop();
    }
    literal(out, &clean);
}
