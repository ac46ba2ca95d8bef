//! What an IMAP server computes from one message's bytes (RFC 3501 §7.4.2): ENVELOPE,
//! BODYSTRUCTURE/BODY, the parts FETCH BODY[section] names, and the header/text matching
//! SEARCH needs. Input is the message as stored (CRLF or bare LF line ends); output is
//! IMAP wire text, with sizes and line counts as a client sees the message (CRLF).
//!
//! Exactness: the output follows Dovecot 2.3 (lib-mail message-parser, message-address,
//! rfc822/rfc2231 parsers; lib-imap bodystructure, envelope, quote; imap-msgpart) so a
//! client moving between Dovecot and postern on the same Maildir sees the same answers.
//! The message is split by our own boundary walker (`mime.rs` says why); mail-parser is
//! used only for charset tables in SEARCH.

mod address;
mod bodystructure;
mod data;
mod envelope;
mod mime;
mod quote;
mod rfc822;
mod search;
mod section;

/// A FETCH section: `BODY[1.2.HEADER.FIELDS (From To)]` is part [1, 2] with
/// `HeaderFields(["From", "To"])`; `BODY[]` is part [] with no text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

/// The ENVELOPE of the message, as a parenthesized list on the wire.
/// Includes the outer parentheses: the server writes `ENVELOPE ` and this.
pub fn envelope(msg: &[u8]) -> String {
    let root = mime::parse(msg);
    let mut out = String::from("(");
    envelope::write(&mut out, msg, &root);
    out.push(')');
    out
}

/// BODYSTRUCTURE (`extensible`) or BODY (not) of the message, on the wire.
/// Includes the outer parentheses: the server writes `BODYSTRUCTURE ` and this.
pub fn body_structure(msg: &[u8], extensible: bool) -> String {
    let root = mime::parse(msg);
    let mut out = String::from("(");
    bodystructure::write_root(&mut out, msg, &root, extensible);
    out.push(')');
    out
}

/// The bytes of a section, CRLF line ends; empty when the part does not exist
/// (RFC 3501: a missing part is an empty string, not an error).
pub fn section(msg: &[u8], section: &Section) -> Vec<u8> {
    if section.part.is_empty() && section.text.is_none() {
        return to_crlf(msg).into_owned();
    }
    section::bytes(msg, &mime::parse(msg), section)
}

/// The message with CRLF line ends (borrowed when it already has them).
/// A bare CR stays as it is (as Dovecot's istream-crlf leaves it).
pub fn to_crlf(msg: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    section::crlf(msg)
}

/// RFC822.SIZE: the size of the message with CRLF line ends, without copying it.
pub fn crlf_size(msg: &[u8]) -> u64 {
    mime::crlf_size(msg, 0..msg.len()).0
}

/// SEARCH HEADER/FROM/TO/CC/BCC/SUBJECT: does a field named `name` contain `needle`
/// (case-insensitive, after RFC 2047 decoding)? An empty needle matches a present field.
pub fn header_contains(msg: &[u8], name: &str, needle: &str) -> bool {
    let root = mime::parse_header_only(msg);
    root.fields_named(msg, name).any(|field| {
        let value = search::unfold(&mime::field_value(msg, field));
        search::contains(&search::decode_header(&value), needle)
    })
}

/// SEARCH BODY (`whole` false) or TEXT (`whole` true): case-insensitive substring of the
/// decoded text parts (and the header, for TEXT).
pub fn text_contains(msg: &[u8], needle: &str, whole: bool) -> bool {
    let root = mime::parse(msg);
    let mut text = String::new();
    if whole {
        search::header_text(msg, &root, &mut text);
    }
    search::body_text(msg, &root, &mut text);
    search::contains(&text, needle)
}

/// The Date: header as seconds since the epoch (SENTBEFORE/SENTON/SENTSINCE).
/// The first Date: counts (as Dovecot's mail_get_date). A message without a usable Date:
/// is dated 0 (the epoch), as Dovecot dates it: SENTBEFORE finds it, SENTSINCE and SENTON
/// do not (checked side by side with Dovecot 2.3.19), so this is never None.
pub fn sent_date(msg: &[u8]) -> Option<i64> {
    sent_date_zone(msg).map(|(t, _)| t)
}

/// The Date: header as seconds since the epoch and the zone offset it was written in
/// (seconds east of UTC): SENTON/SENTBEFORE/SENTSINCE compare the date in that zone.
/// (0, 0) when there is no usable Date: (see `sent_date`).
pub fn sent_date_zone(msg: &[u8]) -> Option<(i64, i32)> {
    let root = mime::parse_header_only(msg);
    let parsed = root.fields_named(msg, "Date").next().and_then(|field| {
        let value = search::unfold(&mime::field_value(msg, field));
        mail_parser::DateTime::parse_rfc822(std::str::from_utf8(&value).ok()?)
    });
    let Some(date) = parsed else {
        return Some((0, 0));
    };
    let offset = (i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60)
        * if date.tz_before_gmt { -1 } else { 1 };
    Some((date.to_timestamp(), offset))
}

#[cfg(test)]
mod tests;
