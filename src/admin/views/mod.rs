//! The pages, one file per area; each handler checks the caller's role first (pages and
//! direct URLs alike), then reads or changes through the shared service layer.
//!
//! Owns: the page layout data (`Layout`), rendering, and the translation of service
//! errors into messages. Templates live in `templates/admin/` (askama escapes all output).
pub mod account;
pub mod alias_domains;
pub mod aliases;
pub mod dashboard;
pub mod dkim;
pub mod dns;
pub mod domains;
pub mod login;
pub mod mailboxes;
pub mod queue;

use super::server::{Page, Req, Ui};
use super::session::Flash;
use crate::directory::admin::{Admin, AdminError};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// What the frame of every page shows.
pub struct Layout {
    pub title: String,
    pub csrf: String,
    /// The logged-in name and role, if any.
    pub who: Option<(String, &'static str)>,
    pub is_super: bool,
    pub is_admin: bool,
    pub ok: Option<String>,
    pub err: Option<String>,
}

impl Layout {
    /// The frame for `r`'s page, taking the pending message of its session.
    pub fn new(ui: &Ui, r: &Req, title: impl Into<String>) -> Layout {
        let (ok, err) = match ui.sessions.take_flash(&r.token) {
            Some(Flash::Ok(m)) => (Some(m), None),
            Some(Flash::Err(m)) => (None, Some(m)),
            None => (None, None),
        };
        Layout {
            title: title.into(),
            csrf: r.csrf.clone(),
            who: r.who.as_ref().map(|p| (p.name.clone(), p.role_label())),
            is_super: r.who.as_ref().is_some_and(|p| p.is_super()),
            is_admin: r.who.as_ref().is_some_and(|p| p.is_admin()),
            ok,
            err,
        }
    }
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "admin UI: template failed");
            Page::Internal.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    status: u16,
    text: &'a str,
}

/// A bare error page (no session data: it may answer a request that has none).
pub fn error_page(status: StatusCode, text: &str) -> Html<String> {
    Html(ErrorPage { status: status.as_u16(), text }.render().unwrap_or_else(|_| "error".into()))
}

pub async fn css() -> Response {
    let mut r = include_str!("../../../templates/admin/admin.css").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

/// The directory's change interface (a read-only backend cannot be administered).
pub fn directory(ui: &Ui) -> Result<&dyn Admin, Page> {
    ui.ctx.directory.admin().ok_or_else(|| Page::BadRequest("this directory backend cannot be changed".into()))
}

/// A service error as the message shown on the next page; store failures are logged, and
/// only a generic text is shown.
pub fn failure(e: AdminError) -> Flash {
    match e {
        AdminError::Failed(m) => {
            tracing::error!(error = %m, "admin UI: the directory could not be changed");
            Flash::Err("the directory could not be changed (the server log has the details)".into())
        }
        e => Flash::Err(e.to_string()),
    }
}

/// A checkbox: present (any value) means checked.
pub fn checked(v: &Option<String>) -> bool {
    v.is_some()
}

/// Addresses separated by commas, spaces or new lines.
pub fn address_list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Bytes as a short human text (KiB/MiB/GiB).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[i]) }
}

/// A quota field in MiB ("" for the default); 0 means unlimited.
pub fn quota_field(text: &str) -> Result<Option<u64>, AdminError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<u64>()
        .map(|mib| Some(mib.saturating_mul(1024 * 1024)))
        .map_err(|_| crate::directory::admin::invalid("quota", format!("{t:?} is not a number of MiB")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(address_list("a@x.test, b@y.test\nc@z.test"), ["a@x.test", "b@y.test", "c@z.test"]);
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(quota_field(" 2 ").unwrap(), Some(2 * 1024 * 1024));
        assert_eq!(quota_field("").unwrap(), None);
        assert!(quota_field("lots").is_err());
    }
}
