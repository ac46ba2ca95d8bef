//! Masquerading inside the header section: the domains of addresses in From, Sender and
//! Reply-To (Postfix `masquerade_classes = header_sender`), continuation lines included.
//! The body and every other header are left byte for byte as they were.
use super::masquerade_domain;

/// Header fields whose addresses are masqueraded.
const SENDER_FIELDS: [&str; 3] = ["from", "sender", "reply-to"];

/// Rewrites the header section of `msg`; returns it unchanged when nothing matched.
pub fn rewrite_header_section(msg: Vec<u8>, domains: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len());
    let mut pos = 0;
    let mut in_sender_field = false;
    while pos < msg.len() {
        let end = memchr::memchr(b'\n', &msg[pos..]).map_or(msg.len(), |i| pos + i + 1);
        let line = &msg[pos..end];
        if line == b"\r\n" || line == b"\n" {
            break; // end of the header section
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            let name = line.split(|b| *b == b':').next().unwrap_or_default();
            in_sender_field = SENDER_FIELDS.iter().any(|f| f.as_bytes().eq_ignore_ascii_case(name.trim_ascii()));
        }
        if in_sender_field {
            rewrite_line(line, domains, &mut out);
        } else {
            out.extend_from_slice(line);
        }
        pos = end;
    }
    out.extend_from_slice(&msg[pos..]);
    out
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// Copies `line`, replacing each `@domain` that has a masquerade domain.
fn rewrite_line(line: &[u8], domains: &[String], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < line.len() {
        out.push(line[i]);
        if line[i] != b'@' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < line.len() && is_domain_byte(line[end]) {
            end += 1;
        }
        let domain = std::str::from_utf8(&line[start..end]).unwrap_or_default().trim_end_matches('.');
        match masquerade_domain(domains, domain) {
            Some(m) => {
                out.extend_from_slice(m.as_bytes());
                i = start + domain.len();
            }
            None => i = start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(msg: &str) -> String {
        String::from_utf8(rewrite_header_section(msg.as_bytes().to_vec(), &["example.com".into()])).unwrap()
    }

    #[test]
    fn sender_fields_and_continuations_only() {
        let msg = "Subject: mail from a@x.example.com\r\nFrom: \"A\" <a@x.example.com>,\r\n b@y.EXAMPLE.com\r\n\
                   Reply-To: r@z.example.com.\r\nTo: t@x.example.com\r\n\r\nFrom: a@x.example.com\r\n";
        assert_eq!(
            run(msg),
            "Subject: mail from a@x.example.com\r\nFrom: \"A\" <a@example.com>,\r\n b@example.com\r\n\
             Reply-To: r@example.com.\r\nTo: t@x.example.com\r\n\r\nFrom: a@x.example.com\r\n"
        );
    }

    #[test]
    fn lf_only_and_headers_without_body() {
        assert_eq!(run("sender: s@a.example.com\n"), "sender: s@example.com\n");
        assert_eq!(run("From: a@example.com\r\n"), "From: a@example.com\r\n");
        assert_eq!(run("From: nobody@\r\n\r\n"), "From: nobody@\r\n\r\n");
    }
}
