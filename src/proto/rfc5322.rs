//! RFC 5322 bits shared by everything that writes or reads headers.
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// The current time as an RFC 5322 date-time in UTC, e.g. `Mon, 23 Nov 2026 17:40:00 +0000`.
pub fn date_now() -> String {
    date(OffsetDateTime::now_utc())
}

pub fn date(t: OffsetDateTime) -> String {
    t.format(&Rfc2822).unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".into())
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The header section of a message: up to and with the empty line that ends it (CRLF, or
/// LF from a submitter that writes bare newlines), or the whole message when it has none.
pub fn header_section(message: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(message, b"\r\n\r\n").map(|i| i + 4).or_else(|| memchr::memmem::find(message, b"\n\n").map(|i| i + 2));
    &message[..end.unwrap_or(message.len())]
}
