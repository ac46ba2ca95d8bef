//! BODY / BODYSTRUCTURE (RFC 3501 §7.4.2) written as Dovecot 2.3's imap-bodystructure:
//! default `("charset" "us-ascii")` for text, `"7bit"` for a missing encoding, sizes and
//! line counts of the body as sent (CRLF), a 0-length text/plain child for a multipart
//! without parts, `"message" "rfc822"` with envelope, body and lines.
//!
//! Owns: the wire form of the part tree. Must not touch: MIME splitting (`mime.rs`).

use std::fmt::Write;

use super::data::{Params, PartData};
use super::envelope;
use super::mime::{Kind, Part, crlf_size};
use super::quote;

const EMPTY_BODY: &str = "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";
const EMPTY_EXTENSION: &str = " NIL NIL NIL NIL";

/// One part, without its surrounding parentheses.
pub fn write(out: &mut String, msg: &[u8], part: &Part, extended: bool) {
    let data = PartData::of(msg, part);
    write_with(out, msg, part, &data, extended);
}

/// The root part: a plain 7-bit text/plain message gets Dovecot's canonical answer
/// (parameter case and extra spelling dropped), as Dovecot gives once it cached that flag.
pub fn write_root(out: &mut String, msg: &[u8], root: &Part, extended: bool) {
    let data = PartData::of(msg, root);
    let text_flag = !matches!(root.kind, Kind::Multipart(_) | Kind::Message(_))
        && data.content_type.as_deref().is_none_or(|t| {
            t.len() >= 4 && t[..4].eq_ignore_ascii_case(b"text") && (t.len() == 4 || t[4] == b'/')
        });
    if text_flag && data.is_plain_7bit() {
        let (size, lines) = crlf_size(msg, root.body.clone());
        let _ = write!(
            out,
            "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" {size} {lines}"
        );
        if extended {
            out.push_str(EMPTY_EXTENSION);
        }
        return;
    }
    write_with(out, msg, root, &data, extended);
}

fn write_with(out: &mut String, msg: &[u8], part: &Part, data: &PartData, extended: bool) {
    match &part.kind {
        Kind::Multipart(children) => write_multipart(out, msg, data, children, extended),
        _ => write_body(out, msg, part, data, extended),
    }
}

fn write_multipart(out: &mut String, msg: &[u8], data: &PartData, children: &[Part], ext: bool) {
    if children.is_empty() {
        out.push('(');
        out.push_str(EMPTY_BODY);
        if ext {
            out.push_str(EMPTY_EXTENSION);
        }
        out.push(')');
    }
    for child in children {
        out.push('(');
        write(out, msg, child, ext);
        out.push(')');
    }
    out.push(' ');
    quote::string(out, data.subtype.as_deref().unwrap_or_default());
    if !ext {
        return;
    }
    out.push(' ');
    write_params(out, &data.params, false);
    write_common(out, data);
}

fn write_body(out: &mut String, msg: &[u8], part: &Part, data: &PartData, ext: bool) {
    let text = if let Kind::Message(_) = part.kind {
        out.push_str("\"message\" \"rfc822\"");
        false
    } else if let Some(ctype) = &data.content_type {
        quote::string(out, ctype);
        out.push(' ');
        quote::nstring(out, data.subtype.as_deref());
        ctype.eq_ignore_ascii_case(b"text")
    } else {
        out.push_str("\"text\" \"plain\"");
        true
    };
    out.push(' ');
    write_params(out, &data.params, text);
    out.push(' ');
    quote::nstring_nolf(out, data.id.as_deref());
    out.push(' ');
    quote::nstring_nolf(out, data.description.as_deref());
    out.push(' ');
    match &data.transfer_encoding {
        Some(cte) => quote::string(out, cte),
        None => out.push_str("\"7bit\""),
    }
    let (size, lines) = crlf_size(msg, part.body.clone());
    let _ = write!(out, " {size}");
    if text {
        let _ = write!(out, " {lines}");
    } else if let Kind::Message(child) = &part.kind {
        out.push_str(" (");
        envelope::write(out, msg, child);
        out.push_str(") (");
        write(out, msg, child, ext);
        let _ = write!(out, ") {lines}");
    }
    if !ext {
        return;
    }
    out.push(' ');
    quote::nstring_nolf(out, data.md5.as_deref());
    write_common(out, data);
}

fn write_params(out: &mut String, params: &Params, default_charset: bool) {
    if !default_charset && params.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    let mut seen_charset = false;
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        seen_charset |= default_charset && name.eq_ignore_ascii_case(b"charset");
        quote::string(out, name);
        out.push(' ');
        quote::string(out, value);
    }
    if default_charset && !seen_charset {
        if !params.is_empty() {
            out.push(' ');
        }
        out.push_str("\"charset\" \"us-ascii\"");
    }
    out.push(')');
}

fn write_common(out: &mut String, data: &PartData) {
    out.push(' ');
    match &data.disposition {
        None => out.push_str("NIL"),
        Some(disposition) => {
            out.push('(');
            quote::string(out, disposition);
            out.push(' ');
            write_params(out, &data.disposition_params, false);
            out.push(')');
        }
    }
    out.push(' ');
    if data.language.is_empty() {
        out.push_str("NIL");
    } else {
        out.push('(');
        for (i, lang) in data.language.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            quote::string(out, lang);
        }
        out.push(')');
    }
    out.push(' ');
    quote::nstring_nolf(out, data.location.as_deref());
}
