//! Mailboxes (admins of their domain): add, one mailbox's page (usage against quota,
//! name, quota, active), password reset, vacation, delete. The vacation form is shared
//! with the mailbox owner's own page (`account`).
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::domains::{MailboxRow, mailbox_row, unavailable};
use super::{Layout, checked, directory, failure, quota_field, render};
use crate::app::accounts::{self, Actor, MailboxChange};
use crate::directory::admin::{AdminError, MailboxEntry};
use crate::directory::vacation::{self, Vacation};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

/// The normalized address and domain of a path, when the caller administers its domain.
fn allowed(r: &Req, address: &str) -> Result<(String, String), Page> {
    let (key, domain) = accounts::mailbox_key(address).map_err(|_| Page::NotFound)?;
    r.domain_admin(&domain)?;
    Ok((key, domain))
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct NewMailbox {
    #[serde(default)]
    local: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    quota: String,
}

pub async fn create(State(ui): State<Shared>, r: Req, Form(f): Form<NewMailbox>) -> Result<Response, Page> {
    let domain = accounts::domain_key(&f.domain).map_err(|_| Page::NotFound)?;
    let who = r.domain_admin(&domain)?;
    let back = format!("/domains/{domain}");
    let quota = match quota_field(&f.quota) {
        Ok(q) => q,
        Err(e) => return Ok(r.done(&ui, &back, failure(e))),
    };
    let entry = MailboxEntry { address: format!("{}@{domain}", f.local.trim()), name: f.name, quota, active: true, maildir: None };
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::create_mailbox(directory(&ui)?, ui.ctx.config.mailboxes.quota, actor, entry, Some(f.password)).await {
        Ok(m) => r.done(&ui, &back, Flash::Ok(format!("mailbox {} added", m.address))),
        Err(e) => r.done(&ui, &back, failure(e)),
    })
}

/// A vacation as the form shows it.
#[derive(Default)]
pub struct VacationView {
    pub active: bool,
    pub subject: String,
    pub body: String,
    pub from: String,
    pub until: String,
    pub state: &'static str,
}

pub async fn vacation_view(ui: &Shared, address: &str) -> VacationView {
    let Some(store) = ui.ctx.directory.vacations() else { return VacationView::default() };
    match store.get_vacation(address).await {
        Ok(Some(v)) => VacationView {
            active: v.active,
            state: v.state(crate::proto::rfc5322::unix_now() as i64),
            from: v.from.map(day).unwrap_or_default(),
            until: v.until.map(day).unwrap_or_default(),
            subject: v.subject,
            body: v.body,
        },
        _ => VacationView { state: "off", ..VacationView::default() },
    }
}

/// Unix seconds as YYYY-MM-DD (UTC).
fn day(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin/mailbox.html")]
struct MailboxPage {
    l: Layout,
    m: MailboxRow,
    domain: String,
    quota_mib: String,
    v: VacationView,
}

pub async fn show(State(ui): State<Shared>, r: Req, Path(address): Path<String>) -> Result<Response, Page> {
    let (key, domain) = allowed(&r, &address)?;
    let entry = match accounts::find_mailbox(directory(&ui)?, &key, &domain).await {
        Ok(m) => m,
        Err(AdminError::NotFound(_)) => return Err(Page::NotFound),
        Err(e) => return Err(unavailable(e)),
    };
    let quota_mib = entry.quota.map(|q| (q / (1024 * 1024)).to_string()).unwrap_or_default();
    let m = mailbox_row(&ui.ctx.config, ui.ctx.directory.mail_root(), entry);
    let v = vacation_view(&ui, &key).await;
    Ok(render(&MailboxPage { l: Layout::new(&ui, &r, format!("Mailbox {key}")), m, domain, quota_mib, v }))
}

#[derive(Deserialize)]
pub struct MailboxForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    quota: String,
    active: Option<String>,
}

pub async fn update(State(ui): State<Shared>, r: Req, Path(address): Path<String>, Form(f): Form<MailboxForm>) -> Result<Response, Page> {
    let (key, domain) = allowed(&r, &address)?;
    let who = r.admin()?;
    let to = format!("/mailboxes/{key}");
    let quota = match quota_field(&f.quota) {
        Ok(q) => q,
        Err(e) => return Ok(r.done(&ui, &to, failure(e))),
    };
    let change = MailboxChange { name: Some(f.name), quota: Some(quota), active: Some(checked(&f.active)), password: None };
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    let _ = domain;
    Ok(match accounts::update_mailbox(directory(&ui)?, ui.ctx.config.mailboxes.quota, actor, &key, change).await {
        Ok(_) => r.done(&ui, &to, Flash::Ok(format!("mailbox {key} saved"))),
        Err(e) => r.done(&ui, &to, failure(e)),
    })
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password(State(ui): State<Shared>, r: Req, Path(address): Path<String>, Form(f): Form<PasswordForm>) -> Result<Response, Page> {
    let (key, _) = allowed(&r, &address)?;
    let who = r.admin()?;
    let to = format!("/mailboxes/{key}");
    if f.password != f.confirm {
        return Ok(r.done(&ui, &to, Flash::Err("password: the two entries differ".into())));
    }
    let change = MailboxChange { password: Some(f.password), ..MailboxChange::default() };
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::update_mailbox(directory(&ui)?, ui.ctx.config.mailboxes.quota, actor, &key, change).await {
        Ok(_) => r.done(&ui, &to, Flash::Ok(format!("password of {key} changed"))),
        Err(e) => r.done(&ui, &to, failure(e)),
    })
}

#[derive(Deserialize)]
pub struct VacationForm {
    active: Option<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

/// Sets or switches off the vacation of `key` from the form; the message to show.
pub async fn apply_vacation(ui: &Shared, actor: Actor<'_>, key: &str, f: VacationForm) -> Flash {
    let Some(store) = ui.ctx.directory.vacations() else {
        return Flash::Err("this directory backend keeps no vacations".into());
    };
    if !checked(&f.active) {
        return match accounts::clear_vacation(store, actor, key).await {
            Ok(()) | Err(AdminError::NotFound(_)) => Flash::Ok(format!("vacation of {key} is off")),
            Err(e) => failure(e),
        };
    }
    let date = |field: &'static str, s: &str, end: bool| -> Result<Option<i64>, AdminError> {
        let s = s.trim();
        if s.is_empty() { Ok(None) } else { vacation::parse_time(s, end).map(Some).map_err(|m| crate::directory::admin::invalid(field, m)) }
    };
    let entry = (|| {
        Ok::<_, AdminError>(Vacation {
            address: key.to_string(),
            subject: f.subject.trim().to_string(),
            body: f.body.replace("\r\n", "\n"),
            from: date("from", &f.from, false)?,
            until: date("until", &f.until, true)?,
            interval: vacation::DEFAULT_INTERVAL,
            active: true,
        })
    })();
    match entry {
        Ok(v) => match accounts::set_vacation(store, actor, v).await {
            Ok(()) => Flash::Ok(format!("vacation of {key} saved")),
            Err(e) => failure(e),
        },
        Err(e) => failure(e),
    }
}

pub async fn vacation(State(ui): State<Shared>, r: Req, Path(address): Path<String>, Form(f): Form<VacationForm>) -> Result<Response, Page> {
    let (key, _) = allowed(&r, &address)?;
    let who = r.admin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    let flash = apply_vacation(&ui, actor, &key, f).await;
    Ok(r.done(&ui, &format!("/mailboxes/{key}"), flash))
}

pub async fn delete(State(ui): State<Shared>, r: Req, Path(address): Path<String>) -> Result<Response, Page> {
    let (key, domain) = allowed(&r, &address)?;
    let who = r.admin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::delete_mailbox(directory(&ui)?, actor, &key).await {
        Ok(()) => r.done(&ui, &format!("/domains/{domain}"), Flash::Ok(format!("mailbox {key} deleted (its Maildir stays on disk)"))),
        Err(e) => r.done(&ui, &format!("/mailboxes/{key}"), failure(e)),
    })
}
