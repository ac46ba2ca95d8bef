//! FETCH BODY[section] (RFC 3501 §6.4.5) as Dovecot's imap-msgpart resolves it: part 1 of a
//! non-multipart message is its body, numbers continue inside a message/rfc822 part,
//! HEADER/TEXT/HEADER.FIELDS apply to the root or to a message/rfc822 part only, MIME is a
//! part's own header. Output has CRLF line ends.
//!
//! Owns: section addressing and header filtering. Must not touch: partial ranges and
//! literals (the server's FETCH writer).

use std::borrow::Cow;

use super::mime::{Kind, Part};
use super::{Section, SectionText, to_crlf};

pub fn bytes(msg: &[u8], root: &Part, section: &Section) -> Vec<u8> {
    let crlf = |range: std::ops::Range<usize>| to_crlf(&msg[range]).into_owned();
    if section.part.is_empty() {
        return match &section.text {
            None => to_crlf(msg).into_owned(),
            Some(SectionText::Mime) => Vec::new(),
            Some(SectionText::Header) => crlf(root.header.clone()),
            Some(SectionText::Text) => crlf(root.body.clone()),
            Some(SectionText::HeaderFields(names)) => header_fields(msg, root, names, true, true),
            Some(SectionText::HeaderFieldsNot(names)) => {
                header_fields(msg, root, names, false, false)
            }
        };
    }
    let Some(part) = find(root, &section.part) else {
        return Vec::new();
    };
    let inner = match &part.kind {
        Kind::Message(child) => Some(child.as_ref()),
        _ => None,
    };
    match (&section.text, inner) {
        (None, _) => crlf(part.body.clone()),
        (Some(SectionText::Mime), _) => crlf(part.header.clone()),
        (Some(_), None) => Vec::new(),
        (Some(SectionText::Header), Some(m)) => crlf(m.header.clone()),
        (Some(SectionText::Text), Some(m)) => crlf(m.body.clone()),
        (Some(SectionText::HeaderFields(names)), Some(m)) => {
            header_fields(msg, m, names, true, false)
        }
        (Some(SectionText::HeaderFieldsNot(names)), Some(m)) => {
            header_fields(msg, m, names, false, false)
        }
    }
}

/// imap_msgpart_find.
fn find<'p>(root: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let mut part = root;
    for (i, &num) in path.iter().enumerate() {
        let more = i + 1 < path.len();
        match &part.kind {
            Kind::Multipart(children) => {
                part = children.get((num as usize).checked_sub(1)?)?;
            }
            _ => {
                if num != 1 || (more && !matches!(part.kind, Kind::Message(_))) {
                    return None;
                }
            }
        }
        if more && let Kind::Message(child) = &part.kind {
            part = child;
        }
    }
    Some(part)
}

/// The header's fields whose name is (`include`) or is not in `names`, then the blank line
/// (when the header had one; always for the root's HEADER.FIELDS, which Dovecot builds
/// from its cache).
fn header_fields(
    msg: &[u8],
    part: &Part,
    names: &[String],
    include: bool,
    always_eoh: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last_end = part.header.start;
    for field in &part.fields {
        let end = field.lines.end.min(part.header.end);
        last_end = last_end.max(end);
        let name = &msg[field.name.clone()];
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if listed == include && field.lines.start < end {
            out.extend_from_slice(&to_crlf(&msg[field.lines.start..end]));
        }
    }
    if always_eoh || part.header.end > last_end {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A copy of `data` with every bare LF made CRLF.
pub fn crlf(data: &[u8]) -> Cow<'_, [u8]> {
    let bare = memchr::memchr_iter(b'\n', data).any(|i| i == 0 || data[i - 1] != b'\r');
    if !bare {
        return Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 32 + 2);
    let mut prev = 0u8;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || prev != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Cow::Owned(out)
}
