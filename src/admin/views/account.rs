//! Self-service for mailbox owners (logged in with the mailbox's own address and
//! password): change the password (the current one is asked again) and set the vacation.
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::mailboxes::{VacationForm, VacationView, apply_vacation, vacation_view};
use super::{Layout, directory, failure, render};
use crate::app::accounts::{self, Actor, MailboxChange};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    l: Layout,
    address: String,
    v: VacationView,
}

/// The logged-in mailbox owner's address.
fn owner(r: &Req) -> Result<String, Page> {
    let p = r.who()?;
    if p.is_admin() { Err(Page::Forbidden) } else { Ok(p.name.clone()) }
}

pub async fn show(State(ui): State<Shared>, r: Req) -> Result<Response, Page> {
    if r.who.as_ref().is_some_and(|p| p.is_admin()) {
        return Ok(Redirect::to("/").into_response());
    }
    let address = owner(&r)?;
    let v = vacation_view(&ui, &address).await;
    Ok(render(&AccountPage { l: Layout::new(&ui, &r, "My account"), address, v }))
}

/// No `Debug`: it holds passwords.
#[derive(Deserialize)]
pub struct OwnPassword {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password(State(ui): State<Shared>, r: Req, Form(f): Form<OwnPassword>) -> Result<Response, Page> {
    let address = owner(&r)?;
    let limit = ui.ctx.config.limits.auth_failures;
    if ui.ctx.auth_failures.count_account(&address).await >= limit || ui.ctx.auth_failures.count(r.ip).await >= limit {
        return Err(Page::Throttled);
    }
    match ui.ctx.directory.authenticate(&address, &f.current).await {
        Ok(true) => {}
        Ok(false) => {
            ui.ctx.auth_failures.record_account(&address).await;
            ui.ctx.auth_failures.record(r.ip).await;
            return Ok(r.done(&ui, "/account", Flash::Err("current password: wrong".into())));
        }
        Err(_) => return Ok(r.done(&ui, "/account", Flash::Err("cannot check the password now; try again later".into()))),
    }
    if f.password != f.confirm {
        return Ok(r.done(&ui, "/account", Flash::Err("password: the two entries differ".into())));
    }
    let who = format!("mailbox:{address}");
    let from = r.from();
    let actor = Actor::ui(&who, &from);
    let change = MailboxChange { password: Some(f.password), ..MailboxChange::default() };
    Ok(match accounts::update_mailbox(directory(&ui)?, ui.ctx.config.mailboxes.quota, actor, &address, change).await {
        Ok(_) => {
            ui.sessions.end_all_of(&address, &r.token);
            r.done(&ui, "/account", Flash::Ok("password changed".into()))
        }
        Err(e) => r.done(&ui, "/account", failure(e)),
    })
}

pub async fn vacation(State(ui): State<Shared>, r: Req, Form(f): Form<VacationForm>) -> Result<Response, Page> {
    let address = owner(&r)?;
    let who = format!("mailbox:{address}");
    let from = r.from();
    let actor = Actor::ui(&who, &from);
    let flash = apply_vacation(&ui, actor, &address, f).await;
    Ok(r.done(&ui, "/account", flash))
}
