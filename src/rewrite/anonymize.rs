//! Log anonymization (`log.anonymize = true`): every mail address in a log line has its
//! local part replaced by its first character, `***` and a short keyed hash, so lines about
//! the same address still correlate (within one run) while the address cannot be read
//! back: `alice@example.com` -> `a***3f9c@example.com`. Domains stay, for operations.
//!
//! Works on the formatted line, so it covers every field and free text (remote replies
//! quoting the address included) without each log call having to remember it.
use std::io::Write;
use std::sync::LazyLock;
use tracing_subscriber::fmt::MakeWriter;

/// Per-process HMAC key: hashes are not comparable across restarts, by design.
static KEY: LazyLock<aws_lc_rs::hmac::Key> = LazyLock::new(|| {
    let seed: [u8; 32] = rand::random();
    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &seed)
});

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '.'
}

/// `line` with every `local@domain.tld` masked.
pub fn anonymize_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('@') {
        let before = &rest[..at];
        let local_start = before.rfind(|c: char| !is_local_char(c)).map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
        let after = &rest[at + 1..];
        let domain_len = after.find(|c: char| !is_domain_char(c)).unwrap_or(after.len());
        let domain = after[..domain_len].trim_end_matches('.');
        let local_start = local_start + field_key_len(&before[local_start..]);
        let local = &before[local_start..];
        if local.is_empty() || !domain.contains('.') {
            out.push_str(&rest[..at + 1]);
            rest = after;
            continue;
        }
        out.push_str(&before[..local_start]);
        out.push_str(&mask(local));
        out.push('@');
        out.push_str(domain);
        rest = &after[domain.len()..];
    }
    out.push_str(rest);
    out
}

/// `to=alice`: '=' may appear in a local part, but a leading `key=` is a log field name
/// (SRS addresses, which start with `SRS0=`/`SRS1=`, are masked whole).
fn field_key_len(local: &str) -> usize {
    match local.split_once('=') {
        Some((key, _))
            if !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && !key.eq_ignore_ascii_case("srs0")
                && !key.eq_ignore_ascii_case("srs1") =>
        {
            key.len() + 1
        }
        _ => 0,
    }
}

fn mask(local: &str) -> String {
    let tag = aws_lc_rs::hmac::sign(&KEY, local.to_lowercase().as_bytes());
    let first = local.chars().next().unwrap_or('x');
    let t = tag.as_ref();
    format!("{first}***{:02x}{:02x}", t[0], t[1])
}

/// The writer `postern serve` logs through: stdout, masked when `anonymize` is on.
/// Use as `tracing_subscriber::fmt().with_writer(log_writer(cfg.log.anonymize))`.
pub fn log_writer(anonymize: bool) -> LogWriter {
    LogWriter { anonymize }
}

#[derive(Debug, Clone, Copy)]
pub struct LogWriter {
    anonymize: bool,
}

/// One event's output: buffered, masked and written when the formatter drops it.
pub struct EventWriter {
    anonymize: bool,
    buf: Vec<u8>,
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter { anonymize: self.anonymize, buf: Vec::new() }
    }
}

impl Write for EventWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let text = std::mem::take(&mut self.buf);
        let text = if self.anonymize { anonymize_line(&String::from_utf8_lossy(&text)).into_bytes() } else { text };
        let mut out = std::io::stdout().lock();
        out.write_all(&text)?;
        out.flush()
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_domains_kept() {
        let line = r#"INFO delivery id=X to=alice@example.com from="<Bob.Smith+x@mail.test>" status="host said: 550 5.1.1 <alice@example.com>: unknown""#;
        let out = anonymize_line(line);
        assert!(!out.contains("alice") && !out.contains("Bob.Smith"), "{out}");
        let masked_alice = out.split("to=").nth(1).unwrap().split(' ').next().unwrap();
        assert!(masked_alice.starts_with("a***") && masked_alice.ends_with("@example.com"), "{out}");
        assert_eq!(out.matches(masked_alice).count(), 2, "same address, same mask: {out}");
        assert!(out.contains("<B***") && out.contains("@mail.test>"), "{out}");
    }

    #[test]
    fn non_addresses_are_left_alone() {
        for s in ["nothing here", "a @ b", "user@localhost", "x@", "@example.com", "listening kind=smtp addr=127.0.0.1:2525"] {
            assert_eq!(anonymize_line(s), s);
        }
        let utf8 = anonymize_line("to=jörg@bücher.example ok");
        assert!(utf8.starts_with("to=j***") && utf8.ends_with("@bücher.example ok"), "{utf8}");
        let srs = anonymize_line("from=SRS0=AbCd=XY=orig.example=alice@fwd.example");
        assert!(srs.starts_with("from=S***") && srs.ends_with("@fwd.example") && !srs.contains("alice"), "{srs}");
    }
}
