//! `[acme]` (certificates from an ACME CA, RFC 8555) and `[mta_sts]` (the MTA-STS policy
//! postern publishes for its own domains, RFC 8461).
use super::duration::Duration;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[acme]`: empty `directory` = disabled (the `[tls]` or self-signed certificate stays).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acme {
    /// The CA's directory URL (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory).
    pub directory: String,
    /// Contact address given to the CA ("" = none).
    pub email: String,
    /// Names on the certificate; empty: `server.hostname`. With `[mta_sts]` on,
    /// `mta-sts.<domain>` for each published domain is added.
    pub domains: Vec<String>,
    pub challenge: AcmeChallenge,
    /// Where the HTTP-01 responder listens (the CA connects to port 80 of each name).
    pub http_bind: String,
    /// Extra CA certificates (PEM) trusted for the directory's own HTTPS (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Renew this long before expiry (a certificate living less than 3× this: at 2/3 of
    /// its lifetime).
    pub renew_before: Duration,
    /// First retry delay after a failed issuance; doubles per failure ...
    pub retry_initial: Duration,
    /// ... up to this.
    pub retry_max: Duration,
}

impl Default for Acme {
    fn default() -> Self {
        Acme {
            directory: String::new(),
            email: String::new(),
            domains: Vec::new(),
            challenge: AcmeChallenge::Http01,
            http_bind: "0.0.0.0:80".into(),
            ca_file: None,
            renew_before: Duration::from_secs(30 * 86400),
            retry_initial: Duration::from_secs(60),
            retry_max: Duration::from_secs(6 * 3600),
        }
    }
}

impl Acme {
    pub fn enabled(&self) -> bool {
        !self.directory.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcmeChallenge {
    /// The CA fetches http://NAME/.well-known/acme-challenge/TOKEN (port 80 → `http_bind`).
    #[serde(rename = "http-01")]
    Http01,
    /// The CA opens TLS to NAME:443 with ALPN acme-tls/1 (RFC 8737); every implicit-TLS
    /// listener of postern answers it.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

/// `[mta_sts]`: the policy served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
/// Absent `mode` = nothing published.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MtaSts {
    pub mode: Option<StsMode>,
    /// Seconds a sender caches the policy (RFC 8461: at most 31557600).
    pub max_age: u64,
    /// MX patterns (`mail.example.com`, `*.example.com`); empty: `server.hostname`.
    pub mx: Vec<String>,
    /// Domains the policy is published for; empty: `relay.local_domains`.
    pub domains: Vec<String>,
}

impl Default for MtaSts {
    fn default() -> Self {
        MtaSts { mode: None, max_age: 604800, mx: Vec::new(), domains: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StsMode {
    Enforce,
    Testing,
    None,
}

impl StsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        }
    }
}

impl super::Config {
    /// The names the ACME certificate covers, lowercased, in order, without duplicates.
    pub fn acme_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let base = if self.acme.domains.is_empty() { vec![self.server.hostname.clone()] } else { self.acme.domains.clone() };
        let sts = self.mta_sts_domains().into_iter().map(|d| format!("mta-sts.{d}"));
        for d in base.into_iter().chain(sts) {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            if !d.is_empty() && !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }

    /// The domains whose MTA-STS policy postern serves (none while `mode` is unset).
    pub fn mta_sts_domains(&self) -> Vec<String> {
        if self.mta_sts.mode.is_none() {
            return Vec::new();
        }
        let list = if self.mta_sts.domains.is_empty() { &self.relay.local_domains } else { &self.mta_sts.domains };
        list.iter().map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|d| !d.is_empty()).collect()
    }

    /// The policy postern serves (RFC 8461 §3.2), or None when nothing is published. Its
    /// `text()` is what the HTTP listener answers; its `txt()` the `_mta-sts` record.
    pub fn mta_sts_policy(&self) -> Option<crate::proto::mta_sts::Policy> {
        let mode = self.mta_sts.mode?;
        let mx = if self.mta_sts.mx.is_empty() { std::slice::from_ref(&self.server.hostname) } else { &self.mta_sts.mx[..] };
        let mx = mx.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).collect();
        Some(crate::proto::mta_sts::Policy { mode: mode.as_str(), mx, max_age: self.mta_sts.max_age })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_default_to_hostname_and_add_mta_sts_names() {
        let mut c = crate::config::Config::default();
        c.server.hostname = "Mail.Example.com".into();
        assert_eq!(c.acme_domains(), vec!["mail.example.com"]);
        assert_eq!(c.mta_sts_policy(), None);
        c.relay.local_domains = vec!["example.com".into(), "example.org".into()];
        c.mta_sts.mode = Some(StsMode::Enforce);
        c.mta_sts.max_age = 86400;
        assert_eq!(c.acme_domains(), vec!["mail.example.com", "mta-sts.example.com", "mta-sts.example.org"]);
        let policy = c.mta_sts_policy().unwrap();
        assert_eq!(policy.text(), "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n");
        assert!(policy.txt().starts_with("v=STSv1; id="), "{}", policy.txt());
    }

    #[test]
    fn bad_acme_keys_are_named() {
        let mut c = crate::config::Config::default();
        c.acme.directory = "ftp://ca.example/dir".into();
        c.acme.domains = vec!["*.example.com".into(), "ok.example.com".into()];
        c.acme.http_bind = "port 80".into();
        c.acme.email = "nobody".into();
        c.acme.retry_initial = crate::config::Duration::from_secs(0);
        let errs = crate::config::validate::validate(&c).join("\n");
        for key in ["acme.directory", "acme.domains", "acme.http_bind", "acme.email", "acme.retry_initial"] {
            assert!(errs.contains(key), "{key} missing from:\n{errs}");
        }
        assert!(!errs.contains("ok.example.com"), "{errs}");
        // Off (no directory): nothing else is checked.
        c.acme.directory = String::new();
        assert!(!crate::config::validate::validate(&c).join("\n").contains("acme."));
        // tls-alpn-01 needs no http_bind.
        let ok: crate::config::Config = toml::from_str("[acme]\ndirectory = \"https://ca.example/dir\"\nchallenge = \"tls-alpn-01\"\nhttp_bind = \"\"\n").unwrap();
        assert!(crate::config::validate::validate(&ok).is_empty(), "{:?}", crate::config::validate::validate(&ok));
    }
}
