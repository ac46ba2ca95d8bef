//! Config keys for routing and local delivery: the transport map (`[[route]]`), aliases,
//! mailboxes and quotas, SRS, and the rewriting keys (`[rewrite]`).
//!
//! Owns: these keys, their defaults and their validation. The code that uses them lives in
//! `outbound::route`, `directory`, `transport::{maildir,webhook}` and `rewrite`.
use super::duration::Duration;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where mail for a `[[route]]` match goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteTransport {
    /// SMTP to the domain's MX hosts, even when smarthosts are configured.
    Mx,
    /// SMTP through `delivery.smarthost`.
    Smarthost,
    /// Local Maildir under `data_dir/mail/DOMAIN/USER/`.
    Maildir,
    /// HTTP POST of the raw message to `url`.
    Webhook,
    /// Refused at RCPT time with 550 5.7.1 (and bounced if it got queued anyway).
    Reject,
}

impl RouteTransport {
    pub fn name(self) -> &'static str {
        match self {
            RouteTransport::Mx => "mx",
            RouteTransport::Smarthost => "smarthost",
            RouteTransport::Maildir => "maildir",
            RouteTransport::Webhook => "webhook",
            RouteTransport::Reject => "reject",
        }
    }
}

/// One entry of the transport map; the first entry that matches a recipient wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `user@domain`, `domain`, `.domain` (every subdomain) or `*`.
    #[serde(rename = "match")]
    pub pattern: String,
    pub transport: RouteTransport,
    /// Webhook endpoint, `http://` or `https://`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Bearer token sent to the webhook.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// File holding the Bearer token (first line), instead of `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Whole-request timeout for the webhook.
    #[serde(default = "webhook_timeout")]
    pub timeout: Duration,
    /// HTTP statuses that bounce the message instead of retrying (e.g. [400, 404, 410]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permanent_status: Vec<u16>,
    /// Extra CA certificates (PEM) trusted for an https webhook, besides the public roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

fn webhook_timeout() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Aliases {
    /// TOML file: `"alias@d" = ["a@d", "b@elsewhere"]`, `"@d" = [...]` catch-all.
    /// Re-read when it changes; a missing file means no aliases.
    pub file: PathBuf,
}

impl Default for Aliases {
    fn default() -> Self {
        Aliases { file: "config/aliases.toml".into() }
    }
}

/// What happens to mail for a mailbox that is over its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaFull {
    /// 552 5.2.2 at RCPT time; a queued message that no longer fits bounces.
    Reject,
    /// Accept; delivery is deferred (4.2.2) until there is room or the message expires.
    Defer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mailboxes {
    /// TOML file of `[[mailbox]] address = "u@d"` (optional `quota` in bytes).
    /// Re-read when it changes; a missing file means no mailboxes.
    pub file: PathBuf,
    /// Default quota per mailbox in bytes; 0 means unlimited.
    pub quota: u64,
    pub quota_full: QuotaFull,
    /// `user+tag@d` is delivered to `user@d` when no entry names it exactly; "" disables.
    pub recipient_delimiter: String,
    /// Where Maildirs live; empty: `data_dir/mail`. A directory that stores a path per
    /// mailbox (PostfixAdmin's `maildir` column) has it under this root (e.g. `/var/vmail`).
    pub root: PathBuf,
}

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes {
            file: "config/mailboxes.toml".into(),
            quota: 0,
            quota_full: QuotaFull::Reject,
            recipient_delimiter: "+".into(),
            root: PathBuf::new(),
        }
    }
}

/// Where accounts, aliases and domains are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryBackend {
    /// `users.file`, `mailboxes.file`, `aliases.file` (TOML).
    Files,
    Sqlite,
    Postgres,
}

/// The table layout of an SQL directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectorySchema {
    /// postern's own tables (created and migrated at start).
    Postern,
    /// An existing PostfixAdmin database, used as it is.
    Postfixadmin,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Directory {
    pub backend: DirectoryBackend,
    /// `sqlite:///var/lib/postern/directory.db`, `postgres://user:pass@host/db`; a secret
    /// (never logged). Empty: read `url_file`.
    pub url: String,
    /// File holding the URL (first line), for secrets kept out of the config.
    pub url_file: Option<PathBuf>,
    pub schema: DirectorySchema,
    /// How long a looked-up account, alias or domain list is reused.
    pub cache_ttl: Duration,
    /// Replace a verified hash of an older scheme by argon2id (writable backends).
    pub rehash: bool,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            backend: DirectoryBackend::Files,
            url: String::new(),
            url_file: None,
            schema: DirectorySchema::Postern,
            cache_ttl: Duration::from_secs(30),
            rehash: false,
        }
    }
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("backend", &self.backend)
            .field("url", &if self.url.is_empty() { "" } else { "********" })
            .field("url_file", &self.url_file)
            .field("schema", &self.schema)
            .field("cache_ttl", &self.cache_ttl)
            .field("rehash", &self.rehash)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Srs {
    /// Rewrite the envelope sender of mail that an alias forwards to another domain.
    pub enabled: bool,
    /// Domain of the rewritten addresses; default: the first of `relay.local_domains`.
    pub domain: String,
    /// HMAC secret. Empty: read `secret_file`, or generate `data_dir/srs.secret`.
    pub secret: String,
    /// One secret per line (postsrsd format): the first signs, every line verifies.
    pub secret_file: Option<PathBuf>,
    /// How long a rewritten address stays valid for bounces.
    pub max_age: Duration,
}

impl Default for Srs {
    fn default() -> Self {
        Srs { enabled: true, domain: String::new(), secret: String::new(), secret_file: None, max_age: Duration::from_secs(21 * 86400) }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rewrite {
    /// Mail from relay clients: `user@host.sub.example.com` becomes `user@example.com` in
    /// the envelope sender and the From, Sender and Reply-To headers.
    pub masquerade_domains: Vec<String>,
    /// A header line added to every accepted message, e.g. "X-Relay: gateway-1".
    pub header_tag: String,
}

/// Reports the problems with the routing keys through `bad(key, message)`.
pub fn validate(c: &super::Config, bad: &mut impl FnMut(&str, String)) {
    for (i, r) in c.routes.iter().enumerate() {
        validate_route(c, r, &mut |key, msg| bad(&format!("route[{i}].{key}"), msg));
    }
    let delim = &c.mailboxes.recipient_delimiter;
    if delim.chars().count() > 1 || delim.contains('@') {
        bad("mailboxes.recipient_delimiter", "must be one character other than @, or empty".into());
    }
    let srs_domain = c.srs.domain.trim_end_matches('.');
    if !srs_domain.is_empty() && !c.is_local_domain(&crate::proto::smtp::address::normalize_domain(srs_domain)) {
        bad("srs.domain", format!("{srs_domain:?} must be one of relay.local_domains, or bounces to it are refused"));
    }
    for d in &c.rewrite.masquerade_domains {
        if !super::is_domain(d) {
            bad("rewrite.masquerade_domains", format!("{d:?} is not a domain name"));
        }
    }
    if !c.rewrite.header_tag.is_empty() && parse_header_tag(&c.rewrite.header_tag).is_none() {
        bad("rewrite.header_tag", "must be one header line \"Name: value\" (name without spaces)".into());
    }
}

fn validate_route(c: &super::Config, r: &Route, bad: &mut impl FnMut(&str, String)) {
    let p = r.pattern.trim();
    let domain = p.rsplit_once('@').map_or(p.trim_start_matches('.'), |(_, d)| d);
    if p != "*" && (domain.is_empty() || !super::is_domain(domain)) {
        bad("match", format!("{p:?} is not an address, a domain, .domain or \"*\""));
    }
    let webhook = r.transport == RouteTransport::Webhook;
    if webhook && !(r.url.starts_with("http://") || r.url.starts_with("https://")) {
        bad("url", format!("{:?} must be an http:// or https:// URL", r.url));
    } else if webhook && r.url.parse::<hyper::Uri>().map_or(true, |u| u.host().is_none()) {
        bad("url", format!("{:?} is not a valid URL", r.url));
    }
    let webhook_keys = !r.url.is_empty() || !r.token.is_empty() || r.token_file.is_some() || !r.permanent_status.is_empty() || r.ca_file.is_some();
    if !webhook && webhook_keys {
        bad("transport", "url, token, token_file, permanent_status and ca_file only apply to webhook".into());
    }
    if !r.token.is_empty() && r.token_file.is_some() {
        bad("token", "set token or token_file, not both".into());
    }
    if r.token.contains(['\r', '\n']) {
        bad("token", "must be one line".into());
    }
    if let Some(s) = r.permanent_status.iter().find(|s| !(400..=599).contains(*s)) {
        bad("permanent_status", format!("{s} is not an HTTP error status (400-599)"));
    }
    if r.timeout.get().is_zero() {
        bad("timeout", "must be greater than zero".into());
    }
    if r.transport == RouteTransport::Smarthost && c.delivery.smarthost.is_empty() {
        bad("transport", "\"smarthost\" needs delivery.smarthost".into());
    }
}
/// `"Name: value"` split into name and value, or None when it is not one valid header line
/// (`rewrite.header_tag`; validated here, used by `rewrite`).
pub fn parse_header_tag(tag: &str) -> Option<(&str, &str)> {
    let (name, value) = tag.split_once(':')?;
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    let value_ok = !value.contains(['\r', '\n']) && value.len() + name.len() < 990;
    (name_ok && value_ok).then(|| (name, value.trim()))
}

