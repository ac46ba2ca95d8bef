//! Changing accounts: the one service layer the admin REST API (`http::admin`), the web UI
//! (`admin/`) and the CLI go through, so every door validates, hashes and logs the same way.
//!
//! Owns: turning a partial change into the full entry the `Admin` trait takes, hashing new
//! passwords (argon2id, on a blocking thread, after the cheap checks), the rules that sit
//! above the stores (the files backend keeps no inactive alias), and the audit line logged
//! for every change: who, what, from where. Must not touch: HTTP (callers map
//! `AdminError`), passwords beyond hashing them (never logged, never returned).
use crate::config::{Config, DirectoryBackend};
use crate::directory::admin::{self, Admin, AdminError, AliasDomainEntry, AliasEntry, DomainEntry, MailboxEntry};
use crate::directory::vacation::{self, Vacation, VacationStore};
use crate::directory::{normalize, normalize_domain, password};

/// Who asked for a change, through which door and from where, for the audit line.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `the admin API`, `the web UI` or `the CLI`.
    pub door: &'static str,
    /// `admin-api` (a token), `admin:NAME`, `mailbox:ADDRESS`.
    pub who: &'a str,
    /// The client's IP, or `http` when the API does not know it.
    pub from: &'a str,
}

impl<'a> Actor<'a> {
    pub const API: Actor<'static> = Actor { door: "the admin API", who: "admin-api", from: "http" };

    /// `postern domain|mailbox|alias|vacation` on this machine.
    pub const CLI: Actor<'static> = Actor { door: "the CLI", who: "cli", from: "local" };

    /// Someone logged in to the web UI.
    pub fn ui(who: &'a str, from: &'a str) -> Actor<'a> {
        Actor { door: "the web UI", who, from }
    }
}

/// The audit line of one change (never a password or hash).
pub fn audit(actor: Actor<'_>, entity: &str, action: &str, key: &str) {
    tracing::info!(who = %actor.who, from = %actor.from, entity = %entity, action = %action, key = %key, "directory changed through {}", actor.door);
}

/// What may change in a domain; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct DomainChange {
    pub description: Option<String>,
    pub backupmx: Option<bool>,
    /// Bytes all mailboxes may hold together; 0: none.
    pub quota: Option<u64>,
    pub active: Option<bool>,
    /// 0 unlimited, -1 none allowed.
    pub max_mailboxes: Option<i64>,
    pub max_aliases: Option<i64>,
    /// Bytes; 0: no limit.
    pub max_quota: Option<u64>,
}

/// What may change in a mailbox; `None` keeps the current value. No `Debug`: it may hold
/// a password.
#[derive(Default)]
pub struct MailboxChange {
    pub name: Option<String>,
    /// `Some(None)`: back to `mailboxes.quota`.
    pub quota: Option<Option<u64>>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

pub fn domain_key(d: &str) -> Result<String, AdminError> {
    admin::check_domain("domain", d)
}

/// An alias path or key as stored: `@domain` or a normalized address.
pub fn alias_key(a: &str) -> String {
    match a.trim().strip_prefix('@') {
        Some(d) => format!("@{}", normalize_domain(d)),
        None => normalize(a.trim()),
    }
}

fn required<T>(field: &'static str, v: Option<T>) -> Result<T, AdminError> {
    v.ok_or_else(|| admin::invalid(field, "required"))
}

/// argon2id of a non-empty password, on a blocking thread.
pub async fn hash(password: Option<String>) -> Result<String, AdminError> {
    let p = required("password", password)?;
    if p.is_empty() {
        return Err(admin::invalid("password", "must not be empty"));
    }
    tokio::task::spawn_blocking(move || password::hash(&p)).await.map_err(|e| AdminError::Failed(format!("hashing the password failed: {e}")))
}

pub async fn find_domain(a: &dyn Admin, key: &str) -> Result<DomainEntry, AdminError> {
    a.domains().await?.into_iter().find(|d| normalize_domain(&d.domain) == key).ok_or_else(|| AdminError::NotFound(format!("domain {key}")))
}

pub async fn find_mailbox(a: &dyn Admin, key: &str, domain: &str) -> Result<MailboxEntry, AdminError> {
    a.mailboxes(Some(domain))
        .await?
        .into_iter()
        .find(|m| normalize(&m.address) == key)
        .ok_or_else(|| AdminError::NotFound(format!("mailbox {key}")))
}

pub async fn find_alias(a: &dyn Admin, key: &str, domain: &str) -> Result<AliasEntry, AdminError> {
    a.aliases(Some(domain))
        .await?
        .into_iter()
        .find(|e| alias_key(&e.address) == key)
        .ok_or_else(|| AdminError::NotFound(format!("alias {key}")))
}

// ---- domains ----

/// `max_mailboxes` and `max_aliases`: 0 (unlimited), -1 (none) or a count.
fn check_limits(d: &DomainEntry) -> Result<(), AdminError> {
    for (field, n) in [("max_mailboxes", d.max_mailboxes), ("max_aliases", d.max_aliases)] {
        if n < -1 {
            return Err(admin::invalid(field, format!("{n}: use a count, 0 for unlimited or -1 for none")));
        }
    }
    Ok(())
}

pub async fn create_domain(a: &dyn Admin, actor: Actor<'_>, d: DomainEntry) -> Result<DomainEntry, AdminError> {
    let key = domain_key(&d.domain)?;
    if d.description.chars().any(char::is_control) {
        return Err(admin::invalid("description", "must not contain control characters"));
    }
    check_limits(&d)?;
    a.create_domain(DomainEntry { domain: key.clone(), ..d }).await?;
    audit(actor, "domain", "create", &key);
    find_domain(a, &key).await
}

pub async fn update_domain(a: &dyn Admin, actor: Actor<'_>, domain: &str, c: DomainChange) -> Result<DomainEntry, AdminError> {
    let key = domain_key(domain)?;
    let now = find_domain(a, &key).await?;
    let entry = DomainEntry {
        domain: key.clone(),
        description: c.description.unwrap_or(now.description),
        backupmx: c.backupmx.unwrap_or(now.backupmx),
        quota: c.quota.unwrap_or(now.quota),
        active: c.active.unwrap_or(now.active),
        max_mailboxes: c.max_mailboxes.unwrap_or(now.max_mailboxes),
        max_aliases: c.max_aliases.unwrap_or(now.max_aliases),
        max_quota: c.max_quota.unwrap_or(now.max_quota),
    };
    if entry.description.chars().any(char::is_control) {
        return Err(admin::invalid("description", "must not contain control characters"));
    }
    check_limits(&entry)?;
    a.update_domain(entry).await?;
    audit(actor, "domain", "update", &key);
    find_domain(a, &key).await
}

pub async fn delete_domain(a: &dyn Admin, actor: Actor<'_>, domain: &str) -> Result<(), AdminError> {
    let key = domain_key(domain)?;
    a.delete_domain(&key).await?;
    audit(actor, "domain", "delete", &key);
    Ok(())
}

// ---- mailboxes ----

pub fn mailbox_key(address: &str) -> Result<(String, String), AdminError> {
    admin::check_address("address", address)
}

/// The domain's entry, when the store lists it (a domain of `relay.local_domains` that the
/// store does not list has no limits).
async fn limits_of(a: &dyn Admin, domain: &str) -> Result<Option<DomainEntry>, AdminError> {
    Ok(a.domains().await?.into_iter().find(|d| normalize_domain(&d.domain) == domain))
}

/// Room for one more entry under a `max_*` limit (`n` entries exist now).
fn room(field: &'static str, what: &str, limit_name: &str, d: &DomainEntry, limit: i64, n: usize) -> Result<(), AdminError> {
    match limit {
        -1 => Err(AdminError::Limit { field, message: format!("domain {} allows no {what} ({limit_name} = -1)", d.domain) }),
        l if l > 0 && n as u64 >= l as u64 => {
            Err(AdminError::Limit { field, message: format!("domain {} has reached its limit of {l} {what} ({limit_name})", d.domain) })
        }
        _ => Ok(()),
    }
}

/// A mailbox quota within the domain's `max_quota` (None: `mailboxes.quota`; 0 unlimited).
fn quota_within(d: &DomainEntry, quota: Option<u64>, default_quota: u64) -> Result<(), AdminError> {
    let q = quota.unwrap_or(default_quota);
    if d.max_quota > 0 && (q == 0 || q > d.max_quota) {
        let asked = if q == 0 { "unlimited".to_string() } else { format!("{q} bytes") };
        return Err(admin::invalid("quota", format!("{asked} is above the largest quota of domain {}: {} bytes (max_quota)", d.domain, d.max_quota)));
    }
    Ok(())
}

/// Creates a mailbox; everything cheap is checked before the (deliberately slow) hash.
/// `default_quota`: `mailboxes.quota`, what a mailbox without its own quota gets.
pub async fn create_mailbox(
    a: &dyn Admin,
    default_quota: u64,
    actor: Actor<'_>,
    m: MailboxEntry,
    password: Option<String>,
) -> Result<MailboxEntry, AdminError> {
    let (key, domain) = admin::check_mailbox(&m)?;
    if let Some(d) = limits_of(a, &domain).await? {
        quota_within(&d, m.quota, default_quota)?;
        if d.max_mailboxes != 0 {
            let n = a.mailboxes(Some(&domain)).await?.len();
            room("address", "mailboxes", "max_mailboxes", &d, d.max_mailboxes, n)?;
        }
    }
    let hash = hash(password).await?;
    a.create_mailbox(MailboxEntry { address: key.clone(), ..m }, hash).await?;
    audit(actor, "mailbox", "create", &key);
    find_mailbox(a, &key, &domain).await
}

pub async fn update_mailbox(
    a: &dyn Admin,
    default_quota: u64,
    actor: Actor<'_>,
    address: &str,
    c: MailboxChange,
) -> Result<MailboxEntry, AdminError> {
    let (key, domain) = mailbox_key(address)?;
    let now = find_mailbox(a, &key, &domain).await?;
    if let Some(q) = c.quota
        && let Some(d) = limits_of(a, &domain).await?
    {
        quota_within(&d, q, default_quota)?;
    }
    let settings = c.name.is_some() || c.quota.is_some() || c.active.is_some();
    let entry = MailboxEntry {
        address: key.clone(),
        name: c.name.unwrap_or(now.name),
        quota: c.quota.unwrap_or(now.quota),
        active: c.active.unwrap_or(now.active),
        maildir: now.maildir,
    };
    admin::check_mailbox(&entry)?;
    let hash = match c.password {
        Some(p) => Some(hash(Some(p)).await?),
        None => None,
    };
    if settings {
        a.update_mailbox(entry).await?;
        audit(actor, "mailbox", "update", &key);
    }
    if let Some(h) = hash {
        a.set_password(&key, h).await?;
        audit(actor, "mailbox", "set_password", &key);
    }
    find_mailbox(a, &key, &domain).await
}

pub async fn delete_mailbox(a: &dyn Admin, actor: Actor<'_>, address: &str) -> Result<(), AdminError> {
    let (key, _) = mailbox_key(address)?;
    a.delete_mailbox(&key).await?;
    audit(actor, "mailbox", "delete", &key);
    Ok(())
}

// ---- aliases ----

/// The files backend keeps no inactive aliases: refused before the change (its
/// `update_alias` would drop the alias instead).
fn inactive_possible(cfg: &Config, active: bool) -> Result<(), AdminError> {
    if !active && cfg.directory.backend == DirectoryBackend::Files {
        return Err(admin::invalid("active", "the files backend keeps no inactive aliases (delete the alias instead)"));
    }
    Ok(())
}

pub async fn create_alias(a: &dyn Admin, actor: Actor<'_>, address: &str, targets: Option<Vec<String>>, active: bool) -> Result<AliasEntry, AdminError> {
    let (key, domain) = admin::check_alias_address(address)?;
    let entry = AliasEntry { address: key.clone(), targets: required("targets", targets)?, active };
    if let Some(d) = limits_of(a, &domain).await?
        && d.max_aliases != 0
    {
        let n = a.aliases(Some(&domain)).await?.len();
        room("address", "aliases", "max_aliases", &d, d.max_aliases, n)?;
    }
    a.create_alias(entry).await?;
    audit(actor, "alias", "create", &key);
    find_alias(a, &key, &domain).await
}

pub async fn update_alias(
    a: &dyn Admin,
    cfg: &Config,
    actor: Actor<'_>,
    address: &str,
    targets: Option<Vec<String>>,
    active: Option<bool>,
) -> Result<AliasEntry, AdminError> {
    let (key, domain) = admin::check_alias_address(address)?;
    let now = find_alias(a, &key, &domain).await?;
    let entry = AliasEntry { address: key.clone(), targets: targets.unwrap_or(now.targets), active: active.unwrap_or(now.active) };
    inactive_possible(cfg, entry.active)?;
    a.update_alias(entry).await?;
    audit(actor, "alias", "update", &key);
    find_alias(a, &key, &domain).await
}

pub async fn delete_alias(a: &dyn Admin, actor: Actor<'_>, address: &str) -> Result<(), AdminError> {
    let (key, _) = admin::check_alias_address(address)?;
    a.delete_alias(&key).await?;
    audit(actor, "alias", "delete", &key);
    Ok(())
}

// ---- alias domains ----

pub async fn find_alias_domain(a: &dyn Admin, alias: &str) -> Result<AliasDomainEntry, AdminError> {
    let key = admin::check_domain("alias_domain", alias)?;
    a.alias_domains().await?.into_iter().find(|e| normalize_domain(&e.alias_domain) == key).ok_or_else(|| AdminError::NotFound(format!("alias domain {key}")))
}

/// Mail for `user@alias` goes to `user@target`; both must be domains of the store.
pub async fn create_alias_domain(a: &dyn Admin, actor: Actor<'_>, alias: Option<String>, target: Option<String>, active: bool) -> Result<AliasDomainEntry, AdminError> {
    let alias = admin::check_domain("alias_domain", &required("alias_domain", alias)?)?;
    let target = admin::check_domain("target_domain", &required("target_domain", target)?)?;
    admin::check_alias_domain_pair(&alias, &target)?;
    a.create_alias_domain(AliasDomainEntry { alias_domain: alias.clone(), target_domain: target, active }).await?;
    audit(actor, "alias_domain", "create", &alias);
    find_alias_domain(a, &alias).await
}

/// Changes the target or switches the alias domain on or off; `None` keeps the value.
pub async fn update_alias_domain(a: &dyn Admin, actor: Actor<'_>, alias: &str, target: Option<String>, active: Option<bool>) -> Result<AliasDomainEntry, AdminError> {
    let now = find_alias_domain(a, alias).await?;
    let target = match target {
        Some(t) => admin::check_domain("target_domain", &t)?,
        None => now.target_domain,
    };
    admin::check_alias_domain_pair(&now.alias_domain, &target)?;
    let entry = AliasDomainEntry { alias_domain: now.alias_domain.clone(), target_domain: target, active: active.unwrap_or(now.active) };
    a.update_alias_domain(entry).await?;
    audit(actor, "alias_domain", "update", &now.alias_domain);
    find_alias_domain(a, &now.alias_domain).await
}

pub async fn delete_alias_domain(a: &dyn Admin, actor: Actor<'_>, alias: &str) -> Result<(), AdminError> {
    let key = admin::check_domain("alias_domain", alias)?;
    a.delete_alias_domain(&key).await?;
    audit(actor, "alias_domain", "delete", &key);
    Ok(())
}

// ---- vacation ----

/// Sets (or replaces) a mailbox's vacation after `check_vacation`.
pub async fn set_vacation(v: &dyn VacationStore, actor: Actor<'_>, entry: Vacation) -> Result<(), AdminError> {
    let key = entry.address.clone();
    v.set_vacation(vacation::check_vacation(entry)?).await?;
    audit(actor, "vacation", "set", &key);
    Ok(())
}

/// Switches the vacation off (its text is kept, as `postern vacation off`).
pub async fn clear_vacation(v: &dyn VacationStore, actor: Actor<'_>, address: &str) -> Result<(), AdminError> {
    let (key, _) = mailbox_key(address)?;
    v.clear_vacation(&key).await?;
    audit(actor, "vacation", "off", &key);
    Ok(())
}
