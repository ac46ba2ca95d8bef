//! What SEARCH compares against: header values with RFC 2047 encoded words decoded, text
//! parts with their transfer encoding (base64, quoted-printable) and charset decoded.
//! Matching is a substring test on text folded like Dovecot's default comparator
//! (i;unicode-casemap: decomposed and case folded).
//!
//! Owns: decoding for search. Must not touch: which messages a SEARCH key selects (the
//! server's search evaluation).

use mail_parser::decoders::charsets::map::charset_decoder;

use super::data::PartData;
use super::mime::{Kind, Part, field_value};

/// Decodes RFC 2047 encoded words in an (unfolded) header value; whitespace between two
/// encoded words is dropped, other text is kept (read as UTF-8, lossily).
pub fn decode_header(value: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    let mut pending_ws: Option<(usize, usize)> = None;
    let mut last_was_word = false;
    while pos < value.len() {
        if value[pos..].starts_with(b"=?")
            && let Some((decoded, end)) = encoded_word(&value[pos..])
        {
            if let Some((s, e)) = pending_ws.take()
                && !last_was_word
            {
                out.push_str(&String::from_utf8_lossy(&value[s..e]));
            }
            out.push_str(&decoded);
            pos += end;
            last_was_word = true;
            continue;
        }
        let c = value[pos];
        if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
            let start = pos;
            while pos < value.len() && matches!(value[pos], b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
            pending_ws = Some((start, pos));
            continue;
        }
        if let Some((s, e)) = pending_ws.take() {
            out.push_str(&String::from_utf8_lossy(&value[s..e]));
        }
        let start = pos;
        while pos < value.len()
            && !matches!(value[pos], b' ' | b'\t' | b'\r' | b'\n')
            && !value[pos..].starts_with(b"=?")
        {
            pos += 1;
        }
        if pos == start {
            pos += 1;
        }
        out.push_str(&String::from_utf8_lossy(&value[start..pos]));
        last_was_word = false;
    }
    if let Some((s, e)) = pending_ws {
        out.push_str(&String::from_utf8_lossy(&value[s..e]));
    }
    out
}

/// `=?charset?B|Q?text?=` at the start of `data`: the decoded text and its length.
fn encoded_word(data: &[u8]) -> Option<(String, usize)> {
    let limit = data.len().min(1024);
    let q1 = 2 + data[2..limit].iter().position(|&b| b == b'?')?;
    let charset = &data[2..q1];
    let enc = *data.get(q1 + 1)?;
    if data.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let rel_end = data[text_start..limit]
        .windows(2)
        .position(|w| w == b"?=")?;
    let text = &data[text_start..text_start + rel_end];
    if text.iter().any(|&b| b == b' ' || b == b'\n' || b == b'\r') {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => base64(text),
        b'Q' | b'q' => quoted_printable(text, true),
        _ => return None,
    };
    // RFC 2231 language suffix: charset*lang.
    let charset = charset.split(|&b| b == b'*').next().unwrap_or(charset);
    Some((decode_charset(charset, &bytes), text_start + rel_end + 2))
}

pub fn decode_charset(charset: &[u8], bytes: &[u8]) -> String {
    if charset.is_empty()
        || charset.eq_ignore_ascii_case(b"utf-8")
        || charset.eq_ignore_ascii_case(b"us-ascii")
    {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match charset_decoder(charset) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Tolerant base64: characters outside the alphabet are skipped, '=' ends the data.
pub fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in data {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable; `header` also maps '_' to a space (RFC 2047 Q encoding).
pub fn quoted_printable(data: &[u8], header: bool) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'=' {
            if let (Some(h), Some(l)) = (
                data.get(i + 1).and_then(|&c| hex(c)),
                data.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            // Soft line break: '=' then optional blanks, then [CR]LF.
            let mut j = i + 1;
            while j < data.len() && matches!(data[j], b' ' | b'\t') {
                j += 1;
            }
            if data.get(j) == Some(&b'\r') {
                j += 1;
            }
            if data.get(j) == Some(&b'\n') {
                i = j + 1;
                continue;
            }
            out.push(c);
        } else if c == b'_' && header {
            out.push(b' ');
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// The decoded text of the header fields of `part`, "Name: value" per line.
pub fn header_text(msg: &[u8], part: &Part, out: &mut String) {
    for field in &part.fields {
        out.push_str(&String::from_utf8_lossy(&msg[field.name.clone()]));
        out.push_str(": ");
        out.push_str(&decode_header(&unfold(&field_value(msg, field))));
        out.push('\n');
    }
}

/// Folded value on one line: each line end (and its CR) removed.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|&b| b != b'\n' && b != b'\r')
        .collect()
}

/// Appends the decoded text of every text/* part under `part` (and the header of every
/// encapsulated message) to `out`.
pub fn body_text(msg: &[u8], part: &Part, out: &mut String) {
    match &part.kind {
        Kind::Multipart(children) => {
            for child in children {
                body_text(msg, child, out);
            }
        }
        Kind::Message(child) => {
            header_text(msg, child, out);
            body_text(msg, child, out);
        }
        Kind::Leaf => {
            let data = PartData::of(msg, part);
            let is_text = data
                .content_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(b"text"));
            if !is_text {
                return;
            }
            let raw = &msg[part.body.clone()];
            let decoded = match data.transfer_encoding.as_deref() {
                Some(e) if e.eq_ignore_ascii_case(b"base64") => base64(raw),
                Some(e) if e.eq_ignore_ascii_case(b"quoted-printable") => {
                    quoted_printable(raw, false)
                }
                _ => raw.to_vec(),
            };
            let charset = data
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"charset"))
                .map(|(_, v)| v.as_slice())
                .unwrap_or_default();
            out.push_str(&decode_charset(charset, &decoded));
            out.push('\n');
        }
    }
}

/// Substring test after the folding Dovecot's default comparator (i;unicode-casemap)
/// applies to both sides: decomposed, case folded, combining marks kept after their base
/// letter. So, as in Dovecot 2.3.19, "cafe" finds "Café" (the accent follows the "e")
/// but "munchen" does not find "München", and "STRASSE" does not find "Straße".
pub fn contains(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    fold(haystack).contains(&fold(needle))
}

fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkd().flat_map(char::to_lowercase).collect()
}
