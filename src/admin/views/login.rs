//! Login and logout. Administrators are looked up in the admins file, then mailbox owners
//! in the directory (an address and the mailbox's own password). Failed logins count per
//! client IP and per account name in the daemon's AUTH failure table (shared with SMTP
//! AUTH); at `limits.auth_failures` within 15 minutes the form answers 429 without
//! checking the password. A successful login gets a new session token.
use super::super::accounts;
use super::super::server::{Page, Req, Shared, Ui};
use super::super::session::{self, Flash, Principal, Role};
use super::{Layout, render};
use crate::directory::password;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    l: Layout,
}

pub async fn form(State(ui): State<Shared>, r: Req) -> Response {
    if r.who.is_some() {
        return Redirect::to("/").into_response();
    }
    render(&LoginPage { l: Layout::new(&ui, &r, "Log in") })
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(State(ui): State<Shared>, r: Req, Form(f): Form<LoginForm>) -> Response {
    let name = f.username.trim().to_string();
    let limit = ui.ctx.config.limits.auth_failures;
    let fails = &ui.ctx.auth_failures;
    if fails.count(r.ip).await >= limit || fails.count_account(&name).await >= limit {
        tracing::warn!(client = %r.ip, account = %name, "admin UI: login refused, too many failures");
        return Page::Throttled.into_response();
    }
    match check(&ui, &name, f.password).await {
        Ok(Some(p)) => {
            fails.clear(r.ip).await;
            fails.clear_account(&name).await;
            tracing::info!(who = %p.audit_name(), from = %r.ip, role = p.role_label(), "admin UI: login");
            ui.sessions.remove(&r.token);
            let (token, _) = ui.sessions.create(Some(p));
            let mut resp = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&token, ui.secure)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(None) => {
            let n = fails.record(r.ip).await.max(fails.record_account(&name).await);
            tracing::warn!(client = %r.ip, account = %name, failures = n, "admin UI: login failed");
            r.done(&ui, "/login", Flash::Err("wrong name or password".into()))
        }
        Err(e) => {
            tracing::error!(error = %e, "admin UI: cannot check a login");
            r.done(&ui, "/login", Flash::Err("cannot check the login now; try again later".into()))
        }
    }
}

/// Who `name` is when `pw` is their password.
async fn check(ui: &Ui, name: &str, pw: String) -> Result<Option<Principal>, String> {
    let admins = accounts::load(&ui.ctx.config.admins_file()).map_err(|e| e.to_string())?;
    if let Some(a) = admins.into_iter().find(|a| a.name == name) {
        let hash = a.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || password::verify(&hash, &pw)).await.unwrap_or(false);
        let role = if a.domains.is_empty() { Role::Super } else { Role::Domains(a.domains) };
        return Ok(ok.then_some(Principal { name: a.name, role }));
    }
    if !name.contains('@') {
        let _ = tokio::task::spawn_blocking(move || password::verify(&password::DUMMY_HASH, &pw)).await;
        return Ok(None);
    }
    let dir = &ui.ctx.directory;
    if !dir.authenticate(name, &pw).await.map_err(|e| e.to_string())? {
        return Ok(None);
    }
    // Self-service is for mailboxes (an SMTP-only login of users.toml has none).
    let Some(admin) = dir.admin() else { return Ok(None) };
    let Ok((key, domain)) = crate::app::accounts::mailbox_key(name) else { return Ok(None) };
    match crate::app::accounts::find_mailbox(admin, &key, &domain).await {
        Ok(m) if m.active => Ok(Some(Principal { name: key, role: Role::Mailbox })),
        Ok(_) | Err(crate::directory::admin::AdminError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn logout(State(ui): State<Shared>, r: Req) -> Response {
    if let Some(p) = &r.who {
        tracing::info!(who = %p.audit_name(), from = %r.ip, "admin UI: logout");
    }
    ui.sessions.remove(&r.token);
    Redirect::to("/login").into_response()
}
