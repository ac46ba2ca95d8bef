//! The MTA-STS policy this server publishes for its own domains (RFC 8461 §3.2): the policy
//! text and the `_mta-sts` TXT id derived from it, so the id changes exactly when the text
//! does and `check dns` and the HTTP listener that serves the policy agree on both.
//!
//! Owns: the policy's wording and id. Must not touch: I/O (no DNS, no HTTP).
use sha2::{Digest, Sha256};

/// Path of the policy under `https://mta-sts.<domain>`.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// A week: long enough to protect, short enough to recover from a mistake.
pub const DEFAULT_MAX_AGE: u64 = 604_800;

/// What the published policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `testing` (report only) or `enforce`.
    pub mode: &'static str,
    /// MX host patterns (`mail.example.com` or `*.example.com`), lowercase.
    pub mx: Vec<String>,
    pub max_age: u64,
}

impl Policy {
    /// A policy to start with: `testing` reports problems without blocking delivery.
    pub fn testing(mx: &[String]) -> Policy {
        let mx = mx.iter().map(|h| h.trim_end_matches('.').to_ascii_lowercase()).collect();
        Policy { mode: "testing", mx, max_age: DEFAULT_MAX_AGE }
    }

    /// The policy file, lines separated by LF (RFC 8461 accepts CRLF or LF).
    pub fn text(&self) -> String {
        let mut body = format!("version: STSv1\nmode: {}\n", self.mode);
        for host in &self.mx {
            body.push_str(&format!("mx: {host}\n"));
        }
        body.push_str(&format!("max_age: {}\n", self.max_age));
        body
    }

    /// 20 hex digits of the SHA-256 of `text()`: stable across runs, new when the policy
    /// changes (the id is 1-32 letters and digits).
    pub fn id(&self) -> String {
        let digest = Sha256::digest(self.text().as_bytes());
        digest.iter().take(10).map(|b| format!("{b:02x}")).collect()
    }

    /// The `_mta-sts.<domain>` TXT value announcing this policy.
    pub fn txt(&self) -> String {
        format!("v=STSv1; id={}", self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_stable_id() {
        let p = Policy::testing(&["Mail.D.test.".to_string(), "mx2.d.test".to_string()]);
        assert_eq!(p.text(), "version: STSv1\nmode: testing\nmx: mail.d.test\nmx: mx2.d.test\nmax_age: 604800\n");
        let id = p.id();
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, Policy::testing(&["mail.d.test".into(), "mx2.d.test".into()]).id(), "same policy, same id");
        assert_ne!(id, Policy::testing(&["mail.d.test".into()]).id(), "another policy, another id");
        assert_eq!(p.txt(), format!("v=STSv1; id={id}"));
    }
}
