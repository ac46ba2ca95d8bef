//! Rewriting mail on the way in (the Postfix relay images' features): sender masquerading
//! (`rewrite.masquerade_domains`), an optional tag header (`rewrite.header_tag`), and log
//! anonymization (`log.anonymize`, in `anonymize`).
//!
//! Owns: the byte-level edits of the header section and of envelope senders. Called by
//! `inbound::accept` before the message is signed and queued. Must not touch: the queue.
pub mod anonymize;
mod headers;

pub use headers::rewrite_header_section;

use crate::config::Config;

pub use crate::config::parse_header_tag;

/// The masquerading domain for `domain`: the first entry of `domains` that it is a strict
/// subdomain of (Postfix `masquerade_domains`: `host.sub.example.com` -> `example.com`).
pub fn masquerade_domain<'a>(domains: &'a [String], domain: &str) -> Option<&'a str> {
    domains.iter().map(String::as_str).find(|m| {
        domain.len() > m.len() + 1
            && domain[domain.len() - m.len()..].eq_ignore_ascii_case(m)
            && domain.as_bytes()[domain.len() - m.len() - 1] == b'.'
    })
}

/// The envelope sender after masquerading; `""` (the null sender) stays as it is.
pub fn masquerade_sender(domains: &[String], sender: &str) -> String {
    match sender.rsplit_once('@') {
        Some((local, domain)) => match masquerade_domain(domains, domain) {
            Some(m) => format!("{local}@{m}"),
            None => sender.to_string(),
        },
        None => sender.to_string(),
    }
}

/// Applies the header rewriting of `[rewrite]` to a message: masquerading (only for mail
/// from relay clients, like Postfix's `local_header_rewrite_clients`) and the tag line.
pub fn message(cfg: &Config, body: Vec<u8>, from_relay_client: bool) -> Vec<u8> {
    let r = &cfg.rewrite;
    let masq: &[String] = if from_relay_client { &r.masquerade_domains } else { &[] };
    let tag = parse_header_tag(&r.header_tag);
    if masq.is_empty() && tag.is_none() {
        return body;
    }
    let body = if masq.is_empty() { body } else { rewrite_header_section(body, masq) };
    match tag {
        None => body,
        Some((name, value)) => {
            let mut out = format!("{name}: {value}\r\n").into_bytes();
            out.extend_from_slice(&body);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tag_must_be_one_valid_line() {
        assert_eq!(parse_header_tag("X-Relay: gw-1"), Some(("X-Relay", "gw-1")));
        assert_eq!(parse_header_tag("RelayTag:x"), Some(("RelayTag", "x")));
        assert_eq!(parse_header_tag("no colon"), None);
        assert_eq!(parse_header_tag("Bad Name: x"), None);
        assert_eq!(parse_header_tag("X-A: b\r\nX-Injected: c"), None);
        assert_eq!(parse_header_tag(": x"), None);
    }

    #[test]
    fn masquerading_strips_subdomains_only() {
        let d = vec!["sub.example.com".to_string(), "example.com".to_string()];
        assert_eq!(masquerade_sender(&d, "u@host.sub.example.com"), "u@sub.example.com");
        assert_eq!(masquerade_sender(&d, "u@host.example.com"), "u@example.com");
        assert_eq!(masquerade_sender(&d, "u@HOST.Example.COM"), "u@example.com");
        assert_eq!(masquerade_sender(&d, "u@example.com"), "u@example.com");
        assert_eq!(masquerade_sender(&d, "u@notexample.com"), "u@notexample.com");
        assert_eq!(masquerade_sender(&d, ""), "");
    }

    #[test]
    fn tag_is_prepended_and_masquerading_needs_a_relay_client() {
        let mut cfg = Config::default();
        cfg.rewrite.header_tag = "X-Relay: gw-1".into();
        cfg.rewrite.masquerade_domains = vec!["example.com".into()];
        let msg = b"From: A <a@web1.example.com>\r\nTo: b@other.test\r\n\r\nHi a@web1.example.com\r\n".to_vec();
        let out = message(&cfg, msg.clone(), true);
        assert_eq!(out, b"X-Relay: gw-1\r\nFrom: A <a@example.com>\r\nTo: b@other.test\r\n\r\nHi a@web1.example.com\r\n");
        let untouched = message(&cfg, msg.clone(), false);
        assert_eq!(&untouched[..15], b"X-Relay: gw-1\r\n");
        assert_eq!(&untouched[15..], &msg[..]);
    }
}
