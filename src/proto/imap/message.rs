//! What an IMAP server computes from one message's bytes (RFC 3501 §7.4.2): ENVELOPE,
//! BODYSTRUCTURE/BODY, the parts FETCH BODY[section] names, and the header/text matching
//! SEARCH needs. Input is the message as stored (CRLF or bare LF line ends); output is
//! IMAP wire text, with sizes and line counts as a client sees the message (CRLF).

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
pub fn envelope(msg: &[u8]) -> String {
    let _ = msg;
    todo!("imap message")
}

/// BODYSTRUCTURE (`extensible`) or BODY (not) of the message, on the wire.
pub fn body_structure(msg: &[u8], extensible: bool) -> String {
    let _ = (msg, extensible);
    todo!("imap message")
}

/// The bytes of a section, CRLF line ends; empty when the part does not exist
/// (RFC 3501: a missing part is an empty string, not an error).
pub fn section(msg: &[u8], section: &Section) -> Vec<u8> {
    let _ = (msg, section);
    todo!("imap message")
}

/// The message with CRLF line ends (borrowed when it already has them).
pub fn to_crlf(msg: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let _ = msg;
    todo!("imap message")
}

/// SEARCH HEADER/FROM/TO/CC/BCC/SUBJECT: does a field named `name` contain `needle`
/// (case-insensitive, after RFC 2047 decoding)? An empty needle matches a present field.
pub fn header_contains(msg: &[u8], name: &str, needle: &str) -> bool {
    let _ = (msg, name, needle);
    todo!("imap message")
}

/// SEARCH BODY (`whole` false) or TEXT (`whole` true): case-insensitive substring of the
/// decoded text parts (and the header, for TEXT).
pub fn text_contains(msg: &[u8], needle: &str, whole: bool) -> bool {
    let _ = (msg, needle, whole);
    todo!("imap message")
}

/// The Date: header as seconds since the epoch (SENTBEFORE/SENTON/SENTSINCE).
pub fn sent_date(msg: &[u8]) -> Option<i64> {
    let _ = msg;
    todo!("imap message")
}
