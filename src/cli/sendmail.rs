//! sendmail input handling, no I/O: where stdin ends (`.` line unless -i), line endings
//! to CRLF, recipients from the headers (-t), Bcc removed, and the From, Date and
//! Message-ID headers added when missing (as Postfix's cleanup does for local mail).
use mail_builder::headers::Header;
use mail_parser::{HeaderName, MessageParser};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("no recipients: give them as arguments or use -t with To/Cc/Bcc headers")]
    NoRecipients,
    #[error("-t: no recipient addresses found in the To, Cc or Bcc headers")]
    NoHeaderRecipients,
    #[error("the message is empty")]
    Empty,
    #[error("the message contains a NUL byte")]
    Nul,
}

/// What the flags ask for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// -i / -oi: a lone `.` line is data, not the end.
    pub ignore_dots: bool,
    /// -t: recipients from To, Cc, Bcc.
    pub extract: bool,
    /// -F: display name for an added From header.
    pub full_name: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Prepared {
    pub message: Vec<u8>,
    /// Command-line recipients, then those from the headers (-t), each once.
    pub recipients: Vec<String>,
}

/// Stdin up to EOF or (without -i) a line holding only `.`, with CRLF line endings.
pub fn cut(input: &[u8], ignore_dots: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    for line in input.split_inclusive(|b| *b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if !ignore_dots && bare == b"." {
            break;
        }
        out.extend_from_slice(bare);
        if line.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Header fields of a CRLF message as (name, start, end) including continuation lines,
/// and the offset where the body starts (after the blank line; where a line that is not
/// a header field begins; or the end).
fn fields(msg: &[u8]) -> (Vec<(String, usize, usize)>, usize) {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut pos = 0;
    while pos < msg.len() {
        let end = memchr::memmem::find(&msg[pos..], b"\r\n").map_or(msg.len(), |i| pos + i + 2);
        let line = &msg[pos..end];
        if line == b"\r\n" {
            return (out, end);
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        match (continuation, out.last_mut()) {
            (true, Some(field)) => field.2 = end,
            _ => match line.iter().position(|b| *b == b':') {
                Some(n) if n > 0 && line[..n].iter().all(|b| (33..=126).contains(b)) => {
                    out.push((String::from_utf8_lossy(&line[..n]).into_owned(), pos, end));
                }
                _ => return (out, pos),
            },
        }
        pos = end;
    }
    (out, pos)
}

/// Addresses in the To, Cc and Bcc headers (groups flattened, names dropped).
fn header_recipients(msg: &[u8]) -> Vec<String> {
    let Some(parsed) = MessageParser::new().parse_headers(msg) else { return Vec::new() };
    let mut out = Vec::new();
    for name in [HeaderName::To, HeaderName::Cc, HeaderName::Bcc] {
        for v in parsed.header_values(name) {
            if let Some(list) = v.as_address() {
                out.extend(list.iter().filter_map(|a| a.address()).map(str::to_string));
            }
        }
    }
    out
}

fn header_line(name: &str, value: impl Header) -> Vec<u8> {
    let mut out = format!("{name}: ").into_bytes();
    value.write_header(&mut out, name.len() + 2);
    out
}

/// Builds the message to submit. `sender` is the envelope sender ("" for `<>`).
pub fn prepare(input: &[u8], opts: &Options, cli_rcpts: &[String], sender: &str, hostname: &str) -> Result<Prepared, InputError> {
    let msg = cut(input, opts.ignore_dots);
    if msg.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::Empty);
    }
    if msg.contains(&0) {
        return Err(InputError::Nul);
    }
    let mut recipients: Vec<String> = Vec::new();
    let mut add = |r: String| {
        if !recipients.iter().any(|x| x.eq_ignore_ascii_case(&r)) {
            recipients.push(r);
        }
    };
    cli_rcpts.iter().flat_map(|r| r.split(',')).map(str::trim).filter(|r| !r.is_empty()).for_each(|r| add(r.to_string()));
    if opts.extract {
        let found = header_recipients(&msg);
        if found.is_empty() && cli_rcpts.is_empty() {
            return Err(InputError::NoHeaderRecipients);
        }
        found.into_iter().for_each(&mut add);
    }
    if recipients.is_empty() {
        return Err(InputError::NoRecipients);
    }
    let (fields, body_at) = fields(&msg);
    let has = |n: &str| fields.iter().any(|(name, ..)| name.eq_ignore_ascii_case(n));
    let mut out = Vec::with_capacity(msg.len() + 256);
    if !has("from") && !sender.is_empty() {
        let from = mail_builder::headers::address::Address::new_address(opts.full_name.clone(), sender.to_string());
        out.extend(header_line("From", from));
    }
    if !has("date") {
        out.extend(format!("Date: {}\r\n", postern::proto::rfc5322::date_now()).into_bytes());
    }
    if !has("message-id") {
        out.extend(format!("Message-ID: <{}>\r\n", postern::http::mime::message_id(hostname)).into_bytes());
    }
    for (name, start, end) in &fields {
        if !name.eq_ignore_ascii_case("bcc") {
            out.extend_from_slice(&msg[*start..*end]);
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&msg[body_at..]);
    Ok(Prepared { message: out, recipients })
}

#[cfg(test)]
#[path = "sendmail_tests.rs"]
mod tests;
