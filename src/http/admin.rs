//! The directory's admin API on the public listener (admin token scope): domains,
//! mailboxes, aliases and vacation replies under `/v1/admin/...`, the same changes `postern domain|mailbox|
//! alias` makes, on whichever backend `Directory::admin()` is (files, sqlite, postgres).
//!
//! Owns: the request bodies (unknown fields refused) and mapping `AdminError` to HTTP
//! statuses. The changes themselves (partial updates, argon2id hashing, the audit line) are
//! `app::accounts`, shared with the web UI.
//! Must not touch: the stores themselves (only through `directory::admin::Admin`), and
//! passwords beyond hashing them: never logged, never answered (a `MailboxEntry` has none).
use super::error::ApiError;
use super::state::Shared;
use super::body;
use crate::app::accounts::{self, Actor};
use crate::directory::admin::{self, Admin, AdminError, AliasDomainEntry, AliasEntry, DomainEntry, MailboxEntry};
use crate::directory::vacation::{self, Vacation};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/admin/domains", get(list_domains).post(create_domain))
        .route("/v1/admin/domains/{domain}", get(get_domain).put(update_domain).delete(delete_domain))
        .route("/v1/admin/mailboxes", get(list_mailboxes).post(create_mailbox))
        .route("/v1/admin/mailboxes/{address}", get(get_mailbox).put(update_mailbox).delete(delete_mailbox))
        .route("/v1/admin/aliases", get(list_aliases).post(create_alias))
        .route("/v1/admin/aliases/{address}", get(get_alias).put(update_alias).delete(delete_alias))
        .route("/v1/admin/alias-domains", get(list_alias_domains).post(create_alias_domain))
        .route("/v1/admin/alias-domains/{domain}", get(get_alias_domain).put(update_alias_domain).delete(delete_alias_domain))
        .route("/v1/admin/vacation/{address}", get(get_vacation).post(put_vacation).put(put_vacation).delete(delete_vacation))
}

// ---- answers ----

#[derive(Serialize)]
struct Domains {
    ok: bool,
    domains: Vec<DomainEntry>,
}

#[derive(Serialize)]
struct OneDomain {
    ok: bool,
    domain: DomainEntry,
}

#[derive(Serialize)]
struct Mailboxes {
    ok: bool,
    mailboxes: Vec<MailboxEntry>,
}

#[derive(Serialize)]
struct OneMailbox {
    ok: bool,
    mailbox: MailboxEntry,
}

#[derive(Serialize)]
struct Aliases {
    ok: bool,
    aliases: Vec<AliasEntry>,
}

#[derive(Serialize)]
struct OneAlias {
    ok: bool,
    alias: AliasEntry,
}

type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

// ---- request bodies ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDomain {
    domain: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    backupmx: bool,
    /// Bytes all its mailboxes may hold together; 0 or absent: none.
    #[serde(default)]
    quota: u64,
    #[serde(default = "yes")]
    active: bool,
    /// 0 or absent: unlimited; -1: none allowed.
    #[serde(default)]
    max_mailboxes: i64,
    #[serde(default)]
    max_aliases: i64,
    /// Largest quota of one mailbox, bytes; 0 or absent: no limit.
    #[serde(default)]
    max_quota: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainChange {
    /// Optional; must name the domain of the path.
    domain: Option<String>,
    description: Option<String>,
    backupmx: Option<bool>,
    quota: Option<u64>,
    active: Option<bool>,
    max_mailboxes: Option<i64>,
    max_aliases: Option<i64>,
    max_quota: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAliasDomain {
    alias_domain: Option<String>,
    target_domain: Option<String>,
    #[serde(default = "yes")]
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasDomainChange {
    /// Optional; must name the alias domain of the path.
    alias_domain: Option<String>,
    target_domain: Option<String>,
    active: Option<bool>,
}

#[derive(Serialize)]
struct AliasDomains {
    ok: bool,
    alias_domains: Vec<AliasDomainEntry>,
}

#[derive(Serialize)]
struct OneAliasDomain {
    ok: bool,
    alias_domain: AliasDomainEntry,
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMailbox {
    address: Option<String>,
    password: Option<String>,
    #[serde(default)]
    name: String,
    /// Bytes; null or absent: `mailboxes.quota`; 0: unlimited.
    #[serde(default)]
    quota: Option<u64>,
    #[serde(default = "yes")]
    active: bool,
}

/// No `Debug`: it may hold a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxChange {
    address: Option<String>,
    password: Option<String>,
    name: Option<String>,
    /// Absent: unchanged; null: back to `mailboxes.quota`.
    #[serde(default, deserialize_with = "present")]
    quota: Option<Option<u64>>,
    active: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAlias {
    address: Option<String>,
    targets: Option<Vec<String>>,
    #[serde(default = "yes")]
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasChange {
    address: Option<String>,
    targets: Option<Vec<String>>,
    active: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainFilter {
    domain: Option<String>,
}

fn yes() -> bool {
    true
}

/// A field that is present (even as null) is `Some`, so null can be told from absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

// ---- plumbing ----

fn directory(api: &Shared) -> Result<&dyn Admin, ApiError> {
    api.ctx
        .directory
        .admin()
        .ok_or_else(|| ApiError::NotImplemented("this directory backend cannot be changed".into()))
}

fn failure(e: AdminError) -> ApiError {
    match e {
        AdminError::Invalid { field, message } => ApiError::Invalid { field: field.into(), message },
        AdminError::Limit { field, message } => ApiError::LimitReached { field: field.into(), message },
        e @ AdminError::NotFound(_) => ApiError::NotFound(e.to_string()),
        e @ AdminError::Exists(_) => ApiError::Conflict(e.to_string()),
        AdminError::Unavailable(m) => ApiError::Unavailable(m),
        AdminError::Failed(m) => {
            // The details (paths, database messages) go to the log, not to the client.
            tracing::error!(error = %m, "admin API: the directory could not be changed");
            ApiError::Internal("the directory could not be changed (the server log has the details)".into())
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    failure(admin::invalid(field, message))
}

/// A JSON body (`application/json`, at most `http.body_limit` bytes) naming what is
/// wrong with it: the field for a wrong value, the problem for broken JSON.
async fn json<T: DeserializeOwned>(api: &Shared, headers: &HeaderMap, req: axum::body::Body) -> Result<T, ApiError> {
    body::require_json(headers)?;
    let raw = body::read(headers, req, api.body_limit).await?;
    let de = &mut serde_json::Deserializer::from_slice(&raw);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::bad_request(format!("invalid JSON: {inner}"))
        } else {
            let field = path.split(['.', '[']).next().unwrap_or(&path).to_string();
            ApiError::Invalid { field, message: format!("invalid JSON at {path}: {inner}") }
        }
    })?;
    de.end().map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    Ok(value)
}

fn query<T: DeserializeOwned + Default>(uri: &Uri) -> Result<T, ApiError> {
    if uri.query().is_none() {
        return Ok(T::default());
    }
    axum::extract::Query::try_from_uri(uri).map(|q| q.0).map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
}

/// A body field naming the entry must agree with the path.
fn same(field: &'static str, given: Option<&str>, key: &str, normalized: impl Fn(&str) -> Result<String, AdminError>) -> Result<(), ApiError> {
    match given {
        Some(g) if normalized(g).ok().as_deref() != Some(key) => {
            Err(invalid(field, format!("{g:?} differs from {key} in the path (the path names the entry)")))
        }
        _ => Ok(()),
    }
}

fn required<T>(field: &'static str, v: Option<T>) -> Result<T, ApiError> {
    v.ok_or_else(|| invalid(field, "required"))
}

fn domain_key(d: &str) -> Result<String, AdminError> {
    accounts::domain_key(d)
}

// ---- domains ----

async fn list_domains(State(api): State<Shared>) -> Result<Json<Domains>, ApiError> {
    let domains = directory(&api)?.domains().await.map_err(failure)?;
    Ok(Json(Domains { ok: true, domains }))
}

async fn get_domain(State(api): State<Shared>, Path(domain): Path<String>) -> Result<Json<OneDomain>, ApiError> {
    let key = domain_key(&domain).map_err(failure)?;
    let domain = accounts::find_domain(directory(&api)?, &key).await.map_err(failure)?;
    Ok(Json(OneDomain { ok: true, domain }))
}

async fn create_domain(State(api): State<Shared>, headers: HeaderMap, req: axum::body::Body) -> Created<OneDomain> {
    let a = directory(&api)?;
    let b: NewDomain = json(&api, &headers, req).await?;
    let entry = DomainEntry {
        description: b.description,
        backupmx: b.backupmx,
        quota: b.quota,
        active: b.active,
        max_mailboxes: b.max_mailboxes,
        max_aliases: b.max_aliases,
        max_quota: b.max_quota,
        ..DomainEntry::new(required("domain", b.domain)?)
    };
    let domain = accounts::create_domain(a, Actor::API, entry).await.map_err(failure)?;
    Ok((StatusCode::CREATED, Json(OneDomain { ok: true, domain })))
}

async fn update_domain(
    State(api): State<Shared>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<Json<OneDomain>, ApiError> {
    let a = directory(&api)?;
    let key = domain_key(&domain).map_err(failure)?;
    let b: DomainChange = json(&api, &headers, req).await?;
    same("domain", b.domain.as_deref(), &key, domain_key)?;
    let change = accounts::DomainChange {
        description: b.description,
        backupmx: b.backupmx,
        quota: b.quota,
        active: b.active,
        max_mailboxes: b.max_mailboxes,
        max_aliases: b.max_aliases,
        max_quota: b.max_quota,
    };
    let domain = accounts::update_domain(a, Actor::API, &key, change).await.map_err(failure)?;
    Ok(Json(OneDomain { ok: true, domain }))
}

async fn delete_domain(State(api): State<Shared>, Path(domain): Path<String>) -> Result<StatusCode, ApiError> {
    accounts::delete_domain(directory(&api)?, Actor::API, &domain).await.map_err(failure)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- mailboxes ----

fn mailbox_key(address: &str) -> Result<(String, String), ApiError> {
    accounts::mailbox_key(address).map_err(failure)
}

async fn list_mailboxes(State(api): State<Shared>, uri: Uri) -> Result<Json<Mailboxes>, ApiError> {
    let f: DomainFilter = query(&uri)?;
    let mailboxes = directory(&api)?.mailboxes(f.domain.as_deref()).await.map_err(failure)?;
    Ok(Json(Mailboxes { ok: true, mailboxes }))
}

async fn get_mailbox(State(api): State<Shared>, Path(address): Path<String>) -> Result<Json<OneMailbox>, ApiError> {
    let (key, domain) = mailbox_key(&address)?;
    let mailbox = accounts::find_mailbox(directory(&api)?, &key, &domain).await.map_err(failure)?;
    Ok(Json(OneMailbox { ok: true, mailbox }))
}

async fn create_mailbox(State(api): State<Shared>, headers: HeaderMap, req: axum::body::Body) -> Created<OneMailbox> {
    let a = directory(&api)?;
    let b: NewMailbox = json(&api, &headers, req).await?;
    let entry = MailboxEntry { address: required("address", b.address)?, name: b.name, quota: b.quota, active: b.active, maildir: None };
    let mailbox = accounts::create_mailbox(a, api.ctx.config.mailboxes.quota, Actor::API, entry, b.password).await.map_err(failure)?;
    Ok((StatusCode::CREATED, Json(OneMailbox { ok: true, mailbox })))
}

async fn update_mailbox(
    State(api): State<Shared>,
    Path(address): Path<String>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<Json<OneMailbox>, ApiError> {
    let a = directory(&api)?;
    let (key, _) = mailbox_key(&address)?;
    let b: MailboxChange = json(&api, &headers, req).await?;
    same("address", b.address.as_deref(), &key, |g| admin::check_address("address", g).map(|(k, _)| k))?;
    let change = accounts::MailboxChange { name: b.name, quota: b.quota, active: b.active, password: b.password };
    let mailbox = accounts::update_mailbox(a, api.ctx.config.mailboxes.quota, Actor::API, &key, change).await.map_err(failure)?;
    Ok(Json(OneMailbox { ok: true, mailbox }))
}

async fn delete_mailbox(State(api): State<Shared>, Path(address): Path<String>) -> Result<StatusCode, ApiError> {
    accounts::delete_mailbox(directory(&api)?, Actor::API, &address).await.map_err(failure)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- aliases ----

fn alias_path(address: &str) -> Result<(String, String), ApiError> {
    admin::check_alias_address(address).map_err(failure)
}

async fn list_aliases(State(api): State<Shared>, uri: Uri) -> Result<Json<Aliases>, ApiError> {
    let f: DomainFilter = query(&uri)?;
    let aliases = directory(&api)?.aliases(f.domain.as_deref()).await.map_err(failure)?;
    Ok(Json(Aliases { ok: true, aliases }))
}

async fn get_alias(State(api): State<Shared>, Path(address): Path<String>) -> Result<Json<OneAlias>, ApiError> {
    let (key, domain) = alias_path(&address)?;
    let alias = accounts::find_alias(directory(&api)?, &key, &domain).await.map_err(failure)?;
    Ok(Json(OneAlias { ok: true, alias }))
}

async fn create_alias(State(api): State<Shared>, headers: HeaderMap, req: axum::body::Body) -> Created<OneAlias> {
    let a = directory(&api)?;
    let b: NewAlias = json(&api, &headers, req).await?;
    let alias = accounts::create_alias(a, Actor::API, &required("address", b.address)?, b.targets, b.active).await.map_err(failure)?;
    Ok((StatusCode::CREATED, Json(OneAlias { ok: true, alias })))
}

async fn update_alias(
    State(api): State<Shared>,
    Path(address): Path<String>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<Json<OneAlias>, ApiError> {
    let a = directory(&api)?;
    let (key, _) = alias_path(&address)?;
    let b: AliasChange = json(&api, &headers, req).await?;
    same("address", b.address.as_deref(), &key, |g| admin::check_alias_address(g).map(|(k, _)| k))?;
    let alias = accounts::update_alias(a, &api.ctx.config, Actor::API, &key, b.targets, b.active).await.map_err(failure)?;
    Ok(Json(OneAlias { ok: true, alias }))
}

async fn delete_alias(State(api): State<Shared>, Path(address): Path<String>) -> Result<StatusCode, ApiError> {
    alias_path(&address)?;
    accounts::delete_alias(directory(&api)?, Actor::API, &address).await.map_err(failure)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- alias domains ----

async fn list_alias_domains(State(api): State<Shared>) -> Result<Json<AliasDomains>, ApiError> {
    let alias_domains = directory(&api)?.alias_domains().await.map_err(failure)?;
    Ok(Json(AliasDomains { ok: true, alias_domains }))
}

fn alias_domain_key(d: &str) -> Result<String, AdminError> {
    admin::check_domain("alias_domain", d)
}

async fn get_alias_domain(State(api): State<Shared>, Path(domain): Path<String>) -> Result<Json<OneAliasDomain>, ApiError> {
    let key = alias_domain_key(&domain).map_err(failure)?;
    let alias_domain = accounts::find_alias_domain(directory(&api)?, &key).await.map_err(failure)?;
    Ok(Json(OneAliasDomain { ok: true, alias_domain }))
}

async fn create_alias_domain(State(api): State<Shared>, headers: HeaderMap, req: axum::body::Body) -> Created<OneAliasDomain> {
    let a = directory(&api)?;
    let b: NewAliasDomain = json(&api, &headers, req).await?;
    let alias_domain = accounts::create_alias_domain(a, Actor::API, b.alias_domain, b.target_domain, b.active).await.map_err(failure)?;
    Ok((StatusCode::CREATED, Json(OneAliasDomain { ok: true, alias_domain })))
}

async fn update_alias_domain(
    State(api): State<Shared>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<Json<OneAliasDomain>, ApiError> {
    let a = directory(&api)?;
    let key = alias_domain_key(&domain).map_err(failure)?;
    let b: AliasDomainChange = json(&api, &headers, req).await?;
    same("alias_domain", b.alias_domain.as_deref(), &key, alias_domain_key)?;
    let alias_domain = accounts::update_alias_domain(a, Actor::API, &key, b.target_domain, b.active).await.map_err(failure)?;
    Ok(Json(OneAliasDomain { ok: true, alias_domain }))
}

async fn delete_alias_domain(State(api): State<Shared>, Path(domain): Path<String>) -> Result<StatusCode, ApiError> {
    accounts::delete_alias_domain(directory(&api)?, Actor::API, &domain).await.map_err(failure)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- vacation ----

#[derive(Serialize)]
struct OneVacation {
    ok: bool,
    vacation: Vacation,
    /// "off", "scheduled", "on" or "ended", now.
    state: &'static str,
}

/// A vacation as a client sets it; times as `YYYY-MM-DD` or RFC 3339 (or unix seconds).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VacationBody {
    address: Option<String>,
    #[serde(default)]
    subject: String,
    body: Option<String>,
    from: Option<When>,
    until: Option<When>,
    interval: Option<u64>,
    #[serde(default = "yes")]
    active: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum When {
    Unix(i64),
    Text(String),
}

fn when(field: &'static str, w: Option<When>, end_of_day: bool) -> Result<Option<i64>, ApiError> {
    match w {
        None => Ok(None),
        Some(When::Unix(t)) => Ok(Some(t)),
        Some(When::Text(t)) => vacation::parse_time(&t, end_of_day).map(Some).map_err(|m| invalid(field, m)),
    }
}

fn vacations(api: &Shared) -> Result<&dyn vacation::VacationStore, ApiError> {
    api.ctx.directory.vacations().ok_or_else(|| ApiError::NotImplemented("this directory backend keeps no vacations".into()))
}

async fn find_vacation(v: &dyn vacation::VacationStore, key: &str) -> Result<Json<OneVacation>, ApiError> {
    let found = v.get_vacation(key).await.map_err(|e| failure(e.into()))?;
    let vacation = found.ok_or_else(|| ApiError::NotFound(format!("no vacation for {key}")))?;
    let state = vacation.state(crate::proto::rfc5322::unix_now() as i64);
    Ok(Json(OneVacation { ok: true, vacation, state }))
}


async fn get_vacation(State(api): State<Shared>, Path(address): Path<String>) -> Result<Json<OneVacation>, ApiError> {
    find_vacation(vacations(&api)?, &mailbox_key(&address)?.0).await
}

/// POST and PUT: set (or replace) the mailbox's vacation.
async fn put_vacation(
    State(api): State<Shared>,
    Path(address): Path<String>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<Json<OneVacation>, ApiError> {
    let v = vacations(&api)?;
    let (key, _) = mailbox_key(&address)?;
    let b: VacationBody = json(&api, &headers, req).await?;
    same("address", b.address.as_deref(), &key, |g| admin::check_address("address", g).map(|(k, _)| k))?;
    let entry = Vacation {
        address: key.clone(),
        subject: b.subject,
        body: required("body", b.body)?,
        from: when("from", b.from, false)?,
        until: when("until", b.until, true)?,
        interval: b.interval.unwrap_or(vacation::DEFAULT_INTERVAL),
        active: b.active,
    };
    accounts::set_vacation(v, Actor::API, entry).await.map_err(failure)?;
    find_vacation(v, &key).await
}

/// Switches the vacation off (its text is kept, as `postern vacation off`).
async fn delete_vacation(State(api): State<Shared>, Path(address): Path<String>) -> Result<StatusCode, ApiError> {
    mailbox_key(&address)?;
    accounts::clear_vacation(vacations(&api)?, Actor::API, &address).await.map_err(failure)?;
    Ok(StatusCode::NO_CONTENT)
}
