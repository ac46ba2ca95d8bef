//! Removing header fields only we may write: Authentication-Results carrying our
//! authserv-id (RFC 8601 §5: a reader trusts them as ours) and our quarantine marker.
use super::report::QUARANTINE_HEADER;

/// Returns the message without those fields, and how many were removed. The body and
/// every other field are left byte for byte.
pub fn strip(message: Vec<u8>, authserv_id: &str) -> (Vec<u8>, usize) {
    let fields = header_fields(&message);
    let doomed: Vec<(usize, usize)> =
        fields.into_iter().filter(|&(s, e)| is_ours(&message[s..e], authserv_id)).collect();
    if doomed.is_empty() {
        return (message, 0);
    }
    let mut out = Vec::with_capacity(message.len());
    let mut pos = 0;
    for &(start, end) in &doomed {
        out.extend_from_slice(&message[pos..start]);
        pos = end;
    }
    out.extend_from_slice(&message[pos..]);
    (out, doomed.len())
}

/// Byte ranges of each header field (with its continuation lines and line ending), up to
/// the empty line that ends the header section.
fn header_fields(m: &[u8]) -> Vec<(usize, usize)> {
    let mut fields = Vec::new();
    let mut pos = 0;
    let mut current: Option<usize> = None;
    while pos < m.len() {
        let end = memchr::memchr(b'\n', &m[pos..]).map_or(m.len(), |i| pos + i + 1);
        let line = &m[pos..end];
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if !folded {
            if let Some(start) = current.take() {
                fields.push((start, pos));
            }
            if line == b"\r\n" || line == b"\n" {
                return fields;
            }
            current = Some(pos);
        }
        pos = end;
    }
    fields.extend(current.map(|start| (start, pos)));
    fields
}

fn is_ours(field: &[u8], authserv_id: &str) -> bool {
    let Some(colon) = memchr::memchr(b':', field) else { return false };
    let name = field[..colon].trim_ascii();
    if name.eq_ignore_ascii_case(QUARANTINE_HEADER.as_bytes()) {
        return true;
    }
    name.eq_ignore_ascii_case(b"Authentication-Results")
        && first_token(&field[colon + 1..]).is_some_and(|id| id.eq_ignore_ascii_case(authserv_id.as_bytes()))
}

/// The authserv-id: the first token after CFWS (comments may nest, RFC 5322 §3.2.2).
fn first_token(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    let mut depth = 0u32;
    while i < value.len() {
        match value[i] {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\\' if depth > 0 => i += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if depth > 0 => {}
            _ => break,
        }
        i += 1;
    }
    let rest = value.get(i..)?;
    let len = rest.iter().position(|b| matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b'(')).unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "Authentication-Results: mx.test; spf=pass smtp.mailfrom=a@evil.test\r\n\
        Received: from x\r\n\
        Authentication-Results:\r\n (forged, folded) MX.Test;\r\n\tdkim=pass header.d=bank.test\r\n\
        Authentication-Results: other.test; dmarc=pass header.from=a.test\r\n\
        Authentication-Results: mx.test.evil; dkim=pass\r\n\
        X-Postern-Quarantine: no\r\n\
        From: a@b.test\r\n\
        \r\n\
        Authentication-Results: mx.test; body text stays\r\n";

    #[test]
    fn removes_only_our_authserv_id_and_marker() {
        let (out, n) = strip(MSG.as_bytes().to_vec(), "mx.test");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(n, 3, "{out}");
        assert_eq!(
            out,
            "Received: from x\r\n\
             Authentication-Results: other.test; dmarc=pass header.from=a.test\r\n\
             Authentication-Results: mx.test.evil; dkim=pass\r\n\
             From: a@b.test\r\n\
             \r\n\
             Authentication-Results: mx.test; body text stays\r\n"
        );
    }

    #[test]
    fn untouched_message_is_returned_as_is() {
        let m = b"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n".to_vec();
        assert_eq!(strip(m.clone(), "mx.test"), (m, 0));
        let headers_only = b"Authentication-Results: mx.test; none".to_vec();
        assert_eq!(strip(headers_only, "mx.test"), (Vec::new(), 1));
    }

    #[test]
    fn authserv_id_after_comments() {
        assert_eq!(first_token(b" (a (nested) c) mx.test 1; none"), Some(&b"mx.test"[..]));
        assert_eq!(first_token(b" mx.test;spf=pass"), Some(&b"mx.test"[..]));
        assert_eq!(first_token(b"  (unterminated"), None);
    }
}
