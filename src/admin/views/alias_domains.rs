//! Alias domains (PostfixAdmin's `alias_domain`): mail for `user@alias` goes to
//! `user@target`. The list, adding, switching on or off, deleting. A domain admin sees and
//! changes only the alias domains whose alias AND target are both their domains.
use super::super::server::{Page, Req, Shared};
use super::super::session::{Flash, Principal};
use super::domains::unavailable;
use super::{Layout, checked, directory, failure, render};
use crate::app::accounts::{self, Actor};
use crate::directory::admin::{AliasDomainEntry, DomainEntry};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin/alias_domains.html")]
struct AliasDomainsPage {
    l: Layout,
    rows: Vec<AliasDomainEntry>,
    /// The domains the caller may choose as alias or target.
    domains: Vec<DomainEntry>,
}

fn may(who: &Principal, a: &AliasDomainEntry) -> bool {
    who.may_domain(&a.alias_domain) && who.may_domain(&a.target_domain)
}

pub async fn list(State(ui): State<Shared>, r: Req) -> Result<Response, Page> {
    let who = r.admin()?;
    let a = directory(&ui)?;
    let rows = a.alias_domains().await.map_err(unavailable)?.into_iter().filter(|e| may(who, e)).collect();
    let domains = a.domains().await.map_err(unavailable)?.into_iter().filter(|d| who.may_domain(&d.domain)).collect();
    Ok(render(&AliasDomainsPage { l: Layout::new(&ui, &r, "Alias domains"), rows, domains }))
}

#[derive(Deserialize)]
pub struct NewAliasDomain {
    #[serde(default)]
    alias_domain: String,
    #[serde(default)]
    target_domain: String,
}

pub async fn create(State(ui): State<Shared>, r: Req, Form(f): Form<NewAliasDomain>) -> Result<Response, Page> {
    let who = r.admin()?;
    let back = "/alias-domains";
    // Both domains must be the caller's: checked before anything is changed.
    for d in [&f.alias_domain, &f.target_domain] {
        if let Ok(key) = accounts::domain_key(d)
            && !who.may_domain(&key)
        {
            return Err(Page::Forbidden);
        }
    }
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::create_alias_domain(directory(&ui)?, actor, Some(f.alias_domain), Some(f.target_domain), true).await {
        Ok(a) => r.done(&ui, back, Flash::Ok(format!("alias domain {} added: mail for user@{} goes to user@{}", a.alias_domain, a.alias_domain, a.target_domain))),
        Err(e) => r.done(&ui, back, failure(e)),
    })
}

/// The alias domain of a path, when the caller may change it (404 for a name that is no
/// domain, 403 for someone else's).
async fn allowed(ui: &Shared, r: &Req, domain: &str) -> Result<AliasDomainEntry, Page> {
    let who = r.admin()?;
    let key = accounts::domain_key(domain).map_err(|_| Page::NotFound)?;
    if !who.may_domain(&key) {
        return Err(Page::Forbidden);
    }
    let found = match accounts::find_alias_domain(directory(ui)?, &key).await {
        Ok(a) => a,
        Err(crate::directory::admin::AdminError::NotFound(_)) => return Err(Page::NotFound),
        Err(e) => return Err(unavailable(e)),
    };
    if !may(who, &found) {
        return Err(Page::Forbidden);
    }
    Ok(found)
}

#[derive(Deserialize)]
pub struct AliasDomainForm {
    active: Option<String>,
}

/// Switches an alias domain on or off.
pub async fn update(State(ui): State<Shared>, r: Req, Path(domain): Path<String>, Form(f): Form<AliasDomainForm>) -> Result<Response, Page> {
    let found = allowed(&ui, &r, &domain).await?;
    let who = r.admin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    let on = checked(&f.active);
    Ok(match accounts::update_alias_domain(directory(&ui)?, actor, &found.alias_domain, None, Some(on)).await {
        Ok(a) => r.done(&ui, "/alias-domains", Flash::Ok(format!("alias domain {} {}", a.alias_domain, if a.active { "activated" } else { "deactivated" }))),
        Err(e) => r.done(&ui, "/alias-domains", failure(e)),
    })
}

pub async fn delete(State(ui): State<Shared>, r: Req, Path(domain): Path<String>) -> Result<Response, Page> {
    let found = allowed(&ui, &r, &domain).await?;
    let who = r.admin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::delete_alias_domain(directory(&ui)?, actor, &found.alias_domain).await {
        Ok(()) => r.done(&ui, "/alias-domains", Flash::Ok(format!("alias domain {} deleted", found.alias_domain))),
        Err(e) => r.done(&ui, "/alias-domains", failure(e)),
    })
}
