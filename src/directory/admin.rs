//! Changing the directory: domains, mailboxes and aliases as `postern domain|mailbox|alias`
//! and the admin API (`/v1/admin/...`) see them. Every backend implements it: `files`
//! rewrites its TOML files, `sql` writes its tables (postern's or PostfixAdmin's).
//!
//! Owns: the entry types (never a password or hash on the way out), the validation of
//! what a client sends (each error names its field), and the `Admin` trait.
use super::backend::{Lookup, Unavailable};
use super::{normalize, normalize_domain};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEntry {
    pub domain: String,
    #[serde(default)]
    pub description: String,
    /// We are a backup MX: mail is accepted from anyone and relayed on, not stored.
    #[serde(default)]
    pub backupmx: bool,
    /// Bytes all its mailboxes may hold together; 0: no domain quota (PostfixAdmin keeps
    /// `domain.quota` in MB: rounded up to whole MB there).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quota: u64,
    #[serde(default = "yes")]
    pub active: bool,
    /// Most mailboxes the domain may have: 0 unlimited, -1 none (PostfixAdmin's
    /// `domain.mailboxes`).
    #[serde(default, skip_serializing_if = "is_zero_i")]
    pub max_mailboxes: i64,
    /// Most aliases (catch-all included, a mailbox's self-alias not): 0 unlimited, -1 none
    /// (PostfixAdmin's `domain.aliases`).
    #[serde(default, skip_serializing_if = "is_zero_i")]
    pub max_aliases: i64,
    /// Largest quota in bytes one mailbox of the domain may get; 0: no limit
    /// (PostfixAdmin's `domain.maxquota`, in MB there: rounded up to whole MB).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_quota: u64,
}

impl DomainEntry {
    /// A new active domain without quota or limits.
    pub fn new(domain: impl Into<String>) -> DomainEntry {
        DomainEntry {
            domain: domain.into(),
            description: String::new(),
            backupmx: false,
            quota: 0,
            active: true,
            max_mailboxes: 0,
            max_aliases: 0,
            max_quota: 0,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_i(n: &i64) -> bool {
    *n == 0
}

/// An alias domain (PostfixAdmin's `alias_domain`): mail for `user@alias_domain` goes to
/// `user@target_domain`. Both are domains of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasDomainEntry {
    pub alias_domain: String,
    pub target_domain: String,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEntry {
    pub address: String,
    #[serde(default)]
    pub name: String,
    /// Bytes; None: `mailboxes.quota`; 0: unlimited.
    #[serde(default)]
    pub quota: Option<u64>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Where the Maildir is, relative to `mailboxes.root` (set by the store).
    #[serde(default)]
    pub maildir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasEntry {
    /// `user@domain`, or `@domain` for a catch-all.
    pub address: String,
    pub targets: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A limit of the domain (`max_mailboxes`, `max_aliases`) is reached: the request is
    /// fine, the domain is full.
    #[error("{field}: {message}")]
    Limit { field: &'static str, message: String },
    /// The store could not be written (file system, constraint of the database).
    #[error("{0}")]
    Failed(String),
}

impl From<Unavailable> for AdminError {
    fn from(e: Unavailable) -> AdminError {
        AdminError::Unavailable(e.to_string())
    }
}

pub fn invalid(field: &'static str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid { field, message: message.into() }
}

pub type Change<'a, T> = Lookup<'a, T, AdminError>;

/// What every backend can change. `create_*` fails with `Exists`, `update_*` and
/// `delete_*` with `NotFound`; a mailbox or alias needs its domain to exist.
pub trait Admin: Send + Sync {
    fn domains(&self) -> Change<'_, Vec<DomainEntry>>;
    fn create_domain(&self, d: DomainEntry) -> Change<'_, ()>;
    fn update_domain(&self, d: DomainEntry) -> Change<'_, ()>;
    /// Refused while the domain still has mailboxes or aliases.
    fn delete_domain<'a>(&'a self, domain: &'a str) -> Change<'a, ()>;

    fn mailboxes<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<MailboxEntry>>;
    /// `password_hash`: a hash `password::verify` accepts (new ones are argon2id).
    fn create_mailbox(&self, m: MailboxEntry, password_hash: String) -> Change<'_, ()>;
    fn update_mailbox(&self, m: MailboxEntry) -> Change<'_, ()>;
    fn set_password<'a>(&'a self, address: &'a str, password_hash: String) -> Change<'a, ()>;
    fn delete_mailbox<'a>(&'a self, address: &'a str) -> Change<'a, ()>;
    /// The stored hash, for copying a mailbox to another store (`postern directory
    /// migrate`); never shown to clients.
    fn password_hash<'a>(&'a self, address: &'a str) -> Change<'a, Option<String>>;

    fn aliases<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<AliasEntry>>;
    fn create_alias(&self, a: AliasEntry) -> Change<'_, ()>;
    fn update_alias(&self, a: AliasEntry) -> Change<'_, ()>;
    fn delete_alias<'a>(&'a self, address: &'a str) -> Change<'a, ()>;

    /// Every alias domain, active or not.
    fn alias_domains(&self) -> Change<'_, Vec<AliasDomainEntry>>;
    /// Both domains must exist (as in PostfixAdmin).
    fn create_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()>;
    /// Changes the target or `active` of an existing alias domain.
    fn update_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()>;
    fn delete_alias_domain<'a>(&'a self, alias_domain: &'a str) -> Change<'a, ()>;
}

/// A domain name as stored: lower-case A-labels, a valid host name.
pub fn check_domain(field: &'static str, domain: &str) -> Result<String, AdminError> {
    let d = normalize_domain(domain.trim());
    if d.is_empty() || !crate::config::is_domain(&d) {
        return Err(invalid(field, format!("{domain:?} is not a domain name")));
    }
    Ok(d)
}

/// A mailbox address as stored (normalized), and its domain.
pub fn check_address(field: &'static str, address: &str) -> Result<(String, String), AdminError> {
    let a = address.trim();
    crate::proto::smtp::Address::parse(a, true).map_err(|e| invalid(field, format!("{a:?}: {e}")))?;
    let key = normalize(a);
    let domain = key.rsplit_once('@').map(|(_, d)| d.to_string()).ok_or_else(|| invalid(field, "needs a domain"))?;
    check_domain(field, &domain)?;
    Ok((key, domain))
}

/// An alias address (`user@domain` or `@domain`) and its domain.
pub fn check_alias_address(address: &str) -> Result<(String, String), AdminError> {
    match address.trim().strip_prefix('@') {
        Some(d) => check_domain("address", d).map(|d| (format!("@{d}"), d)),
        None => check_address("address", address),
    }
}

/// Alias targets: at least one, each an address (or `@domain` for a catch-all of
/// `@domain`).
pub fn check_targets(address: &str, targets: &[String]) -> Result<Vec<String>, AdminError> {
    if targets.is_empty() {
        return Err(invalid("targets", "needs at least one address"));
    }
    targets
        .iter()
        .map(|t| match t.trim().strip_prefix('@') {
            Some(d) if address.starts_with('@') => check_domain("targets", d).map(|d| format!("@{d}")),
            _ => check_address("targets", t).map(|(a, _)| a),
        })
        .collect()
}

/// An alias domain may not stand for itself.
pub fn check_alias_domain_pair(alias: &str, target: &str) -> Result<(), AdminError> {
    if alias == target {
        return Err(invalid("target_domain", format!("{target} is the alias domain itself")));
    }
    Ok(())
}

/// Rejects a mailbox entry a client cannot set.
pub fn check_mailbox(m: &MailboxEntry) -> Result<(String, String), AdminError> {
    if m.name.chars().any(char::is_control) {
        return Err(invalid("name", "must not contain control characters"));
    }
    check_address("address", &m.address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        assert_eq!(check_address("address", "Alice@Example.ORG").unwrap(), ("alice@example.org".into(), "example.org".into()));
        assert!(matches!(check_address("address", "no-at-sign"), Err(AdminError::Invalid { field: "address", .. })));
        assert!(matches!(check_domain("domain", "bad domain"), Err(AdminError::Invalid { field: "domain", .. })));
        assert_eq!(check_alias_address("@Example.org").unwrap().0, "@example.org");
        assert!(matches!(check_targets("a@x.test", &[]), Err(AdminError::Invalid { field: "targets", .. })));
        assert_eq!(check_targets("@x.test", &["@y.test".into()]).unwrap(), vec!["@y.test".to_string()]);
        assert!(check_targets("a@x.test", &["@y.test".into()]).is_err(), "only a catch-all maps to a domain");
    }
}
