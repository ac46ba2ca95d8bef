//! The web UI's listener and the guard every request passes: the session cookie, the CSRF
//! token of every POST (403 without it), and the security headers of every answer.
//!
//! Owns: binding `admin.bind` (plain or TLS with the daemon's certificate), the route
//! table, `Req` (what a handler knows about its caller) and `Page` (error pages).
//! Must not touch: what the pages show or change (`views/`).
use super::session::{self, Flash, Principal, Sessions};
use super::views;
use crate::app::Services;
use crate::http::state::Client;
use crate::http::tls::TlsListener;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest form accepted (a vacation text is the biggest field).
const FORM_LIMIT: usize = 256 * 1024;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct Ui {
    pub ctx: Arc<Services>,
    pub sessions: Sessions,
    /// Served over TLS: the cookie is `Secure`.
    pub secure: bool,
}

pub type Shared = Arc<Ui>;

/// The caller of one request: session token, CSRF token, who (if logged in), from where.
#[derive(Debug, Clone)]
pub struct Req {
    pub token: String,
    pub csrf: String,
    pub who: Option<Principal>,
    pub ip: IpAddr,
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = Page;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Req, Page> {
        parts.extensions.get::<Req>().cloned().ok_or(Page::Internal)
    }
}

impl Req {
    /// The logged-in principal, or a redirect to the login page.
    pub fn who(&self) -> Result<&Principal, Page> {
        self.who.as_ref().ok_or(Page::Login)
    }

    /// A logged-in administrator (superadmin or domain admin).
    pub fn admin(&self) -> Result<&Principal, Page> {
        let p = self.who()?;
        if p.is_admin() { Ok(p) } else { Err(Page::Forbidden) }
    }

    pub fn superadmin(&self) -> Result<&Principal, Page> {
        let p = self.who()?;
        if p.is_super() { Ok(p) } else { Err(Page::Forbidden) }
    }

    /// An administrator of `domain` (normalized).
    pub fn domain_admin(&self, domain: &str) -> Result<&Principal, Page> {
        let p = self.admin()?;
        if p.may_domain(domain) { Ok(p) } else { Err(Page::Forbidden) }
    }

    pub fn from(&self) -> String {
        self.ip.to_string()
    }

    /// Sets the next page's message and redirects (303) to `to`.
    pub fn done(&self, ui: &Ui, to: &str, flash: Flash) -> Response {
        ui.sessions.flash(&self.token, flash);
        Redirect::to(to).into_response()
    }
}

/// Pages that are not the page asked for.
#[derive(Debug)]
pub enum Page {
    Login,
    Forbidden,
    NotFound,
    Throttled,
    BadRequest(String),
    Internal,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Page::Login => return Redirect::to("/login").into_response(),
            Page::Forbidden => (StatusCode::FORBIDDEN, "Forbidden: you may not see or change this.".to_string()),
            Page::NotFound => (StatusCode::NOT_FOUND, "Not found.".to_string()),
            Page::Throttled => (StatusCode::TOO_MANY_REQUESTS, "Too many failed logins: try again later.".to_string()),
            Page::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Page::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error (the server log has the details).".to_string()),
        };
        (status, views::error_page(status, &text)).into_response()
    }
}

pub fn router(ui: Shared) -> Router {
    Router::new()
        .route("/static/admin.css", get(views::css))
        .route("/login", get(views::login::form).post(views::login::submit))
        .route("/logout", post(views::login::logout))
        .route("/", get(views::dashboard::show))
        .route("/domains", get(views::domains::list).post(views::domains::create))
        .route("/domains/{domain}", get(views::domains::show).post(views::domains::update))
        .route("/domains/{domain}/delete", post(views::domains::delete))
        .route("/domains/{domain}/dkim", post(views::dkim::generate))
        .route("/domains/{domain}/dns", get(views::dns::show))
        .route("/mailboxes", post(views::mailboxes::create))
        .route("/mailboxes/{address}", get(views::mailboxes::show).post(views::mailboxes::update))
        .route("/mailboxes/{address}/password", post(views::mailboxes::password))
        .route("/mailboxes/{address}/vacation", post(views::mailboxes::vacation))
        .route("/mailboxes/{address}/delete", post(views::mailboxes::delete))
        .route("/aliases", post(views::aliases::create))
        .route("/aliases/{address}", post(views::aliases::update))
        .route("/aliases/{address}/delete", post(views::aliases::delete))
        .route("/alias-domains", get(views::alias_domains::list).post(views::alias_domains::create))
        .route("/alias-domains/{domain}", post(views::alias_domains::update))
        .route("/alias-domains/{domain}/delete", post(views::alias_domains::delete))
        .route("/queue", get(views::queue::list))
        .route("/queue/{id}", get(views::queue::show))
        .route("/queue/{id}/{action}", post(views::queue::act))
        .route("/account", get(views::account::show))
        .route("/account/password", post(views::account::password))
        .route("/account/vacation", post(views::account::vacation))
        .fallback(|| async { Page::NotFound })
        .layer(from_fn_with_state(ui.clone(), guard))
        .with_state(ui)
}

/// Session, CSRF and security headers around every request.
async fn guard(State(ui): State<Shared>, ConnectInfo(client): ConnectInfo<Client>, req: Request, next: Next) -> Response {
    let given = req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| session::cookie(c, session::COOKIE));
    let found = given.and_then(|t| ui.sessions.get(t).map(|s| (t.to_string(), s)));
    let fresh = found.is_none();
    let (token, s) = found.unwrap_or_else(|| ui.sessions.create(None));
    let ip = client.addr.ip();
    let mut req = req;
    if req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return secure(Page::BadRequest("form too large".into()).into_response(), None);
        };
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_bytes());
        let ok = sent.is_some_and(|v| subtle::ConstantTimeEq::ct_eq(v, s.csrf.as_bytes()).into());
        if !ok {
            tracing::warn!(client = %ip, path = %parts.uri.path(), "admin UI: POST without a valid CSRF token refused");
            let cookie = fresh.then(|| session::set_cookie(&token, ui.secure));
            return secure((StatusCode::FORBIDDEN, views::error_page(StatusCode::FORBIDDEN, "Forbidden: the form's CSRF token is missing or stale. Reload the page and try again.")).into_response(), cookie);
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(Req { token: token.clone(), csrf: s.csrf, who: s.who, ip });
    let resp = next.run(req).await;
    let cookie = (fresh && !resp.headers().contains_key(header::SET_COOKIE)).then(|| session::set_cookie(&token, ui.secure));
    secure(resp, cookie)
}

fn secure(mut resp: Response, cookie: Option<String>) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

/// The bound listener, plain or TLS.
pub enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// Binds `admin.bind` (None when it is ""), logging `listening kind=admin addr=...`.
pub async fn bind(ctx: &Arc<Services>) -> std::io::Result<Option<Bound>> {
    let cfg = &ctx.config.admin;
    if cfg.bind.is_empty() {
        tracing::info!("admin web UI disabled (admin.bind is empty)");
        return Ok(None);
    }
    let tcp = TcpListener::bind(&cfg.bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {} (admin): {e}", cfg.bind)))?;
    let addr = tcp.local_addr()?;
    tracing::info!(kind = %"admin", addr = %addr, tls = cfg.tls, "listening");
    Ok(Some(if cfg.tls { Bound::Tls(TlsListener::new(tcp, ctx.clone())) } else { Bound::Plain(tcp) }))
}

/// Serves until shutdown.
pub async fn serve(bound: Bound, ui: Shared) {
    let mut shutdown = ui.ctx.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let app = router(ui).into_make_service_with_connect_info::<Client>();
    let result = match bound {
        Bound::Plain(l) => axum::serve(l, app).with_graceful_shutdown(stop).await,
        Bound::Tls(l) => axum::serve(l, app).with_graceful_shutdown(stop).await,
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "admin web UI failed");
    }
}
