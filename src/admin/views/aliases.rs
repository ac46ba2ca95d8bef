//! Aliases and catch-alls (an empty local part makes `@domain`) of a domain the caller
//! administers: add, change the targets, delete. Shown on the domain's page.
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::{address_list, directory, failure};
use crate::app::accounts::{self, Actor};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

/// The alias key and its domain of a path, when the caller administers the domain.
fn allowed(r: &Req, address: &str) -> Result<(String, String), Page> {
    let (key, domain) = crate::directory::admin::check_alias_address(address).map_err(|_| Page::NotFound)?;
    r.domain_admin(&domain)?;
    Ok((key, domain))
}

#[derive(Deserialize)]
pub struct NewAlias {
    #[serde(default)]
    local: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    targets: String,
}

pub async fn create(State(ui): State<Shared>, r: Req, Form(f): Form<NewAlias>) -> Result<Response, Page> {
    let domain = accounts::domain_key(&f.domain).map_err(|_| Page::NotFound)?;
    let who = r.domain_admin(&domain)?;
    let back = format!("/domains/{domain}");
    let address = format!("{}@{domain}", f.local.trim());
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::create_alias(directory(&ui)?, actor, &address, Some(address_list(&f.targets)), true).await {
        Ok(a) => r.done(&ui, &back, Flash::Ok(format!("alias {} added", a.address))),
        Err(e) => r.done(&ui, &back, failure(e)),
    })
}

#[derive(Deserialize)]
pub struct AliasForm {
    #[serde(default)]
    targets: String,
}

pub async fn update(State(ui): State<Shared>, r: Req, Path(address): Path<String>, Form(f): Form<AliasForm>) -> Result<Response, Page> {
    let (key, domain) = allowed(&r, &address)?;
    let who = r.admin()?;
    let back = format!("/domains/{domain}");
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    Ok(match accounts::update_alias(directory(&ui)?, &ui.ctx.config, actor, &key, Some(address_list(&f.targets)), None).await {
        Ok(a) => r.done(&ui, &back, Flash::Ok(format!("alias {} saved", a.address))),
        Err(e) => r.done(&ui, &back, failure(e)),
    })
}

pub async fn delete(State(ui): State<Shared>, r: Req, Path(address): Path<String>) -> Result<Response, Page> {
    let (key, domain) = allowed(&r, &address)?;
    let who = r.admin()?;
    let (name, from) = (who.audit_name(), r.from());
    let actor = Actor::ui(&name, &from);
    let back = format!("/domains/{domain}");
    Ok(match accounts::delete_alias(directory(&ui)?, actor, &key).await {
        Ok(()) => r.done(&ui, &back, Flash::Ok(format!("alias {key} deleted"))),
        Err(e) => r.done(&ui, &back, failure(e)),
    })
}
