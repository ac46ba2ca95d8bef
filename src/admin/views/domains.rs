//! Domains: the list (an admin sees only their domains), adding (superadmin), and one
//! domain's page with its settings, mailboxes (usage bars), aliases and catch-all, and
//! DKIM keys. Editing: description, active, backup MX; deleting an empty domain.
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::{Layout, checked, directory, failure, quota_field, render, size};
use crate::app::accounts::{self, Actor, DomainChange};
use crate::directory::admin::{AliasEntry, DomainEntry};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

pub struct DomainRow {
    pub d: DomainEntry,
    pub mailboxes: usize,
    pub aliases: usize,
    pub quota: String,
}

#[derive(Template)]
#[template(path = "admin/domains.html")]
struct DomainsPage {
    l: Layout,
    rows: Vec<DomainRow>,
}

pub async fn list(State(ui): State<Shared>, r: Req) -> Result<Response, Page> {
    let who = r.admin()?;
    let a = directory(&ui)?;
    let all = a.domains().await.map_err(unavailable)?;
    let mailboxes = a.mailboxes(None).await.map_err(unavailable)?;
    let aliases = a.aliases(None).await.map_err(unavailable)?;
    let rows = all
        .into_iter()
        .filter(|d| who.may_domain(&d.domain))
        .map(|d| {
            let at = format!("@{}", d.domain);
            DomainRow {
                mailboxes: mailboxes.iter().filter(|m| m.address.ends_with(&at)).count(),
                aliases: aliases.iter().filter(|x| x.address.ends_with(&at)).count(),
                quota: if d.quota == 0 { "none".into() } else { size(d.quota) },
                d,
            }
        })
        .collect();
    Ok(render(&DomainsPage { l: Layout::new(&ui, &r, "Domains"), rows }))
}

pub fn unavailable(e: crate::directory::admin::AdminError) -> Page {
    tracing::error!(error = %e, "admin UI: directory read failed");
    Page::Internal
}

#[derive(Deserialize)]
pub struct NewDomain {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    quota: String,
    #[serde(default)]
    max_mailboxes: String,
    #[serde(default)]
    max_aliases: String,
    #[serde(default)]
    max_quota: String,
}

/// A count limit field: empty is 0 (unlimited), -1 none.
fn limit_field(field: &'static str, text: &str) -> Result<i64, crate::directory::admin::AdminError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse::<i64>().map_err(|_| crate::directory::admin::invalid(field, format!("{t:?} is not a number (0: unlimited, -1: none)")))
}

/// The three limit fields of a form: (max mailboxes, max aliases, max quota in bytes).
fn limits(mailboxes: &str, aliases: &str, max_quota: &str) -> Result<(i64, i64, u64), crate::directory::admin::AdminError> {
    let q = quota_field(max_quota).map_err(|_| crate::directory::admin::invalid("max_quota", format!("{:?} is not a number of MiB", max_quota.trim())))?;
    Ok((limit_field("max_mailboxes", mailboxes)?, limit_field("max_aliases", aliases)?, q.unwrap_or(0)))
}

pub async fn create(State(ui): State<Shared>, r: Req, Form(f): Form<NewDomain>) -> Result<Response, Page> {
    let who = r.superadmin()?;
    let quota = match quota_field(&f.quota) {
        Ok(q) => q.unwrap_or(0),
        Err(e) => return Ok(r.done(&ui, "/domains", failure(e))),
    };
    let (max_mailboxes, max_aliases, max_quota) = match limits(&f.max_mailboxes, &f.max_aliases, &f.max_quota) {
        Ok(l) => l,
        Err(e) => return Ok(r.done(&ui, "/domains", failure(e))),
    };
    let entry = DomainEntry { description: f.description, quota, max_mailboxes, max_aliases, max_quota, ..DomainEntry::new(f.domain) };
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::create_domain(directory(&ui)?, actor, entry).await {
        Ok(d) => r.done(&ui, &format!("/domains/{}", d.domain), Flash::Ok(format!("domain {} added", d.domain))),
        Err(e) => r.done(&ui, "/domains", failure(e)),
    })
}

pub struct MailboxRow {
    /// Bytes in the Maildir.
    pub bytes: u64,
    pub address: String,
    pub name: String,
    pub active: bool,
    pub used: String,
    pub quota: String,
    /// Percent of the quota used (0 when unlimited).
    pub percent: u64,
}

pub struct KeyRow {
    pub selector: String,
    pub source: &'static str,
    pub record_name: String,
    pub txt: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/domain.html")]
struct DomainPage {
    l: Layout,
    d: DomainEntry,
    mailboxes: Vec<MailboxRow>,
    aliases: Vec<AliasEntry>,
    keys: Vec<KeyRow>,
    /// What all mailboxes hold, and the domain's own quota ("" when it has none).
    used: String,
    domain_quota: String,
    domain_percent: u64,
    /// The quota field's value in MiB ("" for none).
    quota_mib: String,
    /// The largest mailbox quota in MiB ("" for no limit).
    max_quota_mib: String,
    /// How many mailboxes and aliases the domain has, against its limits.
    mailbox_limit: String,
    alias_limit: String,
}

/// "3 of at most 10", "3 (unlimited)", "none allowed".
fn count_of(n: usize, limit: i64) -> String {
    match limit {
        -1 => format!("{n} (none allowed)"),
        0 => format!("{n} (unlimited)"),
        l => format!("{n} of at most {l}"),
    }
}

/// The normalized domain of a path, when the caller may administer it.
pub fn allowed_domain<'a>(r: &'a Req, domain: &str) -> Result<(String, &'a super::super::session::Principal), Page> {
    let key = accounts::domain_key(domain).map_err(|_| Page::NotFound)?;
    let who = r.domain_admin(&key)?;
    Ok((key, who))
}

pub async fn show(State(ui): State<Shared>, r: Req, Path(domain): Path<String>) -> Result<Response, Page> {
    let (key, _) = allowed_domain(&r, &domain)?;
    let a = directory(&ui)?;
    let d = match accounts::find_domain(a, &key).await {
        Ok(d) => d,
        Err(crate::directory::admin::AdminError::NotFound(_)) => return Err(Page::NotFound),
        Err(e) => return Err(unavailable(e)),
    };
    let cfg = &ui.ctx.config;
    let root = ui.ctx.directory.mail_root().to_path_buf();
    let mailboxes: Vec<MailboxRow> =
        a.mailboxes(Some(&key)).await.map_err(unavailable)?.into_iter().map(|m| mailbox_row(cfg, &root, m)).collect();
    let aliases = a.aliases(Some(&key)).await.map_err(unavailable)?;
    let keys = dkim_keys(cfg, &key);
    let bytes: u64 = mailboxes.iter().map(|m| m.bytes).sum();
    let quota = d.quota;
    let mib = |b: u64| if b == 0 { String::new() } else { b.div_ceil(1024 * 1024).to_string() };
    let page = DomainPage {
        max_quota_mib: mib(d.max_quota),
        mailbox_limit: count_of(mailboxes.len(), d.max_mailboxes),
        alias_limit: count_of(aliases.len(), d.max_aliases),
        l: Layout::new(&ui, &r, format!("Domain {key}")),
        d,
        mailboxes,
        aliases,
        keys,
        used: size(bytes),
        domain_quota: if quota == 0 { String::new() } else { size(quota) },
        domain_percent: bytes.saturating_mul(100).checked_div(quota).map_or(0, |p| p.min(100)),
        quota_mib: if quota == 0 { String::new() } else { quota.div_ceil(1024 * 1024).to_string() },
    };
    Ok(render(&page))
}

/// A mailbox with its Maildir usage against its quota.
pub fn mailbox_row(cfg: &crate::config::Config, root: &std::path::Path, m: crate::directory::admin::MailboxEntry) -> MailboxRow {
    let quota = m.quota.unwrap_or(cfg.mailboxes.quota);
    let mb = crate::directory::Mailbox { address: m.address.clone(), quota, maildir: m.maildir.as_ref().map(Into::into), domain_room: None };
    let used = mb.dir(root).map_or(0, |d| crate::mailstore::usage(&d));
    MailboxRow {
        bytes: used,
        address: m.address,
        name: m.name,
        active: m.active,
        used: size(used),
        quota: if quota == 0 { "unlimited".into() } else { size(quota) },
        percent: used.saturating_mul(100).checked_div(quota).map_or(0, |p| p.min(100)),
    }
}

/// The signing keys of `domain`: the config file's and the UI's, each with its TXT record.
pub fn dkim_keys(cfg: &crate::config::Config, domain: &str) -> Vec<KeyRow> {
    let managed = crate::dkim::managed::dir(cfg);
    crate::dkim::managed::effective(cfg)
        .into_iter()
        .filter(|k| k.domain.trim_end_matches('.').eq_ignore_ascii_case(domain))
        .map(|k| {
            let source = if k.key.starts_with(&managed) { "web UI (data_dir/dkim)" } else { "config file [[dkim]]" };
            match crate::dnscheck::dkim_record(&k) {
                Ok(g) => KeyRow { selector: k.selector, source, txt: g.txt_zone_value(), record_name: g.record_name, error: String::new() },
                Err(e) => KeyRow { selector: k.selector, source, record_name: String::new(), txt: String::new(), error: e },
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    quota: String,
    active: Option<String>,
    backupmx: Option<String>,
    #[serde(default)]
    max_mailboxes: String,
    #[serde(default)]
    max_aliases: String,
    #[serde(default)]
    max_quota: String,
}

pub async fn update(State(ui): State<Shared>, r: Req, Path(domain): Path<String>, Form(f): Form<DomainForm>) -> Result<Response, Page> {
    let (key, who) = allowed_domain(&r, &domain)?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    let to = format!("/domains/{key}");
    let quota = match quota_field(&f.quota) {
        Ok(q) => q.unwrap_or(0),
        Err(e) => return Ok(r.done(&ui, &to, failure(e))),
    };
    // The limits are the superadmin's (as in PostfixAdmin): a domain admin's form keeps them.
    let (max_mailboxes, max_aliases, max_quota) = if who.is_super() {
        match limits(&f.max_mailboxes, &f.max_aliases, &f.max_quota) {
            Ok((m, a, q)) => (Some(m), Some(a), Some(q)),
            Err(e) => return Ok(r.done(&ui, &to, failure(e))),
        }
    } else {
        (None, None, None)
    };
    let change = DomainChange {
        description: Some(f.description),
        active: Some(checked(&f.active)),
        backupmx: Some(checked(&f.backupmx)),
        quota: Some(quota),
        max_mailboxes,
        max_aliases,
        max_quota,
    };
    Ok(match accounts::update_domain(directory(&ui)?, actor, &key, change).await {
        Ok(_) => r.done(&ui, &to, Flash::Ok(format!("domain {key} saved"))),
        Err(e) => r.done(&ui, &to, failure(e)),
    })
}

pub async fn delete(State(ui): State<Shared>, r: Req, Path(domain): Path<String>) -> Result<Response, Page> {
    let (key, _) = allowed_domain(&r, &domain)?;
    let who = r.superadmin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::delete_domain(directory(&ui)?, actor, &key).await {
        Ok(()) => r.done(&ui, "/domains", Flash::Ok(format!("domain {key} deleted"))),
        Err(e) => r.done(&ui, &format!("/domains/{key}"), failure(e)),
    })
}
