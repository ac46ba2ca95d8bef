//! Queue administration, served on the public API (admin token) and on the control
//! socket (file permissions): list, show, retry, retry all, delete, hold, release.
//!
//! Every action changes the envelope with `Queue::update` (durable before we answer),
//! then `Queue::notify` so the scheduler looks at the message again.
use super::api::{MAX_PAGE, ActionDone, QueueEntry, QueueFilter, QueueMessage, QueuePage, domain_of, has_domain, normalise_domain};
use super::error::ApiError;
use super::state::Shared;
use crate::queue::{Envelope, Queue, QueueId, RcptState};
use axum::extract::{Path, State};
use axum::http::{Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// Header bytes `GET /v1/queue/{id}` shows at most.
const MAX_HEADERS: usize = 64 * 1024;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/queue", get(list))
        .route("/v1/queue/retry", post(retry_all))
        .route("/v1/queue/{id}", get(show).delete(delete))
        .route("/v1/queue/{id}/message", get(raw))
        .route("/v1/queue/{id}/retry", post(retry))
        .route("/v1/queue/{id}/hold", post(hold))
        .route("/v1/queue/{id}/release", post(release))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    domain: Option<String>,
    state: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

fn query<T: serde::de::DeserializeOwned + Default>(uri: &Uri) -> Result<T, ApiError> {
    if uri.query().is_none() {
        return Ok(T::default());
    }
    axum::extract::Query::try_from_uri(uri).map(|q| q.0).map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
}

fn parse_id(id: &str) -> Result<QueueId, ApiError> {
    QueueId::parse(id).ok_or_else(|| ApiError::bad_request(format!("{id:?} is not a queue id")))
}

fn domain_param(d: Option<&str>) -> Result<Option<String>, ApiError> {
    d.map(normalise_domain).transpose().map_err(ApiError::BadRequest)
}

async fn all(q: &Queue) -> Result<Vec<Envelope>, ApiError> {
    let q = q.clone();
    tokio::task::spawn_blocking(move || q.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::storage)
}

fn get_env(q: &Queue, id: &QueueId) -> Result<Envelope, ApiError> {
    q.get(id).map_err(ApiError::storage)?.ok_or_else(|| ApiError::NotFound(format!("message {id} is not in the queue")))
}

/// The queued messages matching a domain and state filter (the web UI shares it).
pub async fn entries(q: &Queue, domain: Option<&str>, state: Option<&str>) -> Result<Vec<QueueEntry>, ApiError> {
    let filter = QueueFilter::new(domain, state).map_err(ApiError::BadRequest)?;
    Ok(all(q).await?.into_iter().filter(|e| filter.matches(e)).map(QueueEntry::from).collect())
}

async fn list(State(api): State<Shared>, uri: Uri) -> Result<Json<QueuePage>, ApiError> {
    let f: Filter = query(&uri)?;
    let matching = entries(&api.ctx.queue, f.domain.as_deref(), f.state.as_deref()).await?;
    let (offset, limit) = (f.offset.unwrap_or(0), f.limit.unwrap_or(100).clamp(1, MAX_PAGE));
    let total = matching.len();
    let messages = matching.into_iter().skip(offset).take(limit).collect();
    Ok(Json(QueuePage { ok: true, total, offset, limit, messages }))
}

async fn show(State(api): State<Shared>, Path(id): Path<String>) -> Result<Json<QueueMessage>, ApiError> {
    let (env, headers) = message(&api.ctx.queue, &id).await?;
    Ok(Json(QueueMessage { ok: true, message: env.into(), headers }))
}

/// One queued message and its header section (at most `MAX_HEADERS` bytes).
pub async fn message(q: &Queue, id: &str) -> Result<(Envelope, String), ApiError> {
    let id = parse_id(id)?;
    let q = q.clone();
    let env = get_env(&q, &id)?;
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let Some(content) = q.body(&id).map_err(ApiError::storage)? else { return Ok(Vec::new()) };
        content.prefix(MAX_HEADERS + 4).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let end = memchr::memmem::find(&body, b"\r\n\r\n").map_or(body.len(), |i| i + 2).min(MAX_HEADERS);
    let headers = String::from_utf8_lossy(&body[..end]).into_owned();
    Ok((env, headers))
}

/// The stored message as `message/rfc822` (Postfix: `postcat -q`).
async fn raw(State(api): State<Shared>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let q = api.ctx.queue.clone();
    let missing = ApiError::NotFound(format!("message {id} is not in the queue"));
    let content = q.body(&id).map_err(ApiError::storage)?.ok_or(missing)?;
    let body = axum::body::Body::from_stream(content.stream());
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], body))
}

/// What `make_due` found.
#[derive(Debug, PartialEq, Eq)]
enum Due {
    /// No pending recipient (in the domain): nothing to retry.
    Nothing,
    /// Pending recipients were already due: only the scheduler needs a nudge.
    Already,
    /// Some `next_attempt` moved to now: the envelope must be saved.
    Changed,
}

/// Makes pending recipients (of `domain`, if given) due now.
fn make_due(env: &mut Envelope, domain: Option<&str>) -> Due {
    let mut due = Due::Nothing;
    for r in &mut env.recipients {
        if r.state == RcptState::Pending && domain.is_none_or(|d| domain_of(&r.address) == d) {
            if r.next_attempt != 0 {
                r.next_attempt = 0;
                due = Due::Changed;
            } else if due == Due::Nothing {
                due = Due::Already;
            }
        }
    }
    due
}

/// Saves (if changed) and nudges the scheduler; NotFound when it left the queue meanwhile.
async fn apply_due(q: &Queue, env: &Envelope, due: Due) -> Result<bool, ApiError> {
    match due {
        Due::Nothing => return Ok(false),
        Due::Already => q.notify(env.id.clone()),
        Due::Changed => save(q, env).await?,
    }
    Ok(true)
}

async fn save(q: &Queue, env: &Envelope) -> Result<(), ApiError> {
    q.update(env).await.map_err(ApiError::storage)?;
    q.notify(env.id.clone());
    Ok(())
}

fn done(action: &str, ids: Vec<QueueId>) -> Json<ActionDone> {
    Json(ActionDone { ok: true, action: action.into(), ids: ids.into_iter().map(|i| i.to_string()).collect() })
}

async fn retry(State(api): State<Shared>, Path(id): Path<String>) -> Result<Json<ActionDone>, ApiError> {
    Ok(done("retry", vec![retry_one(&api.ctx.queue, &id).await?]))
}

/// Makes the message's pending recipients due now (the web UI shares it).
pub async fn retry_one(q: &Queue, id: &str) -> Result<QueueId, ApiError> {
    let mut env = get_env(q, &parse_id(id)?)?;
    let due = make_due(&mut env, None);
    if !apply_due(q, &env, due).await? {
        return Err(ApiError::bad_request(format!("message {} has no pending recipient", env.id)));
    }
    tracing::info!(id = %env.id, "retry requested by the operator");
    Ok(env.id)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainOnly {
    domain: Option<String>,
}

async fn retry_all(State(api): State<Shared>, uri: Uri) -> Result<Json<ActionDone>, ApiError> {
    let f: DomainOnly = query(&uri)?;
    let domain = domain_param(f.domain.as_deref())?;
    let q = &api.ctx.queue;
    let mut ids = Vec::new();
    for mut env in all(q).await? {
        if domain.as_deref().is_some_and(|d| !has_domain(&env, d)) {
            continue;
        }
        let due = make_due(&mut env, domain.as_deref());
        match apply_due(q, &env, due).await {
            Ok(true) => ids.push(env.id),
            Ok(false) | Err(ApiError::NotFound(_)) => {} // nothing pending, or gone meanwhile
            Err(e) => return Err(e),
        }
    }
    tracing::info!(count = ids.len(), domain = domain.as_deref().unwrap_or("*"), "retry requested by the operator");
    Ok(done("retry", ids))
}

async fn set_held(api: &Shared, id: &str, held: bool) -> Result<Json<ActionDone>, ApiError> {
    let id = hold_one(&api.ctx.queue, id, held).await?;
    Ok(done(if held { "hold" } else { "release" }, vec![id]))
}

/// Holds or releases a message (the web UI shares it).
pub async fn hold_one(q: &Queue, id: &str, held: bool) -> Result<QueueId, ApiError> {
    let mut env = get_env(q, &parse_id(id)?)?;
    env.held = held;
    save(q, &env).await?;
    tracing::info!(id = %env.id, held, "hold changed by the operator");
    Ok(env.id)
}

async fn hold(State(api): State<Shared>, Path(id): Path<String>) -> Result<Json<ActionDone>, ApiError> {
    set_held(&api, &id, true).await
}

async fn release(State(api): State<Shared>, Path(id): Path<String>) -> Result<Json<ActionDone>, ApiError> {
    set_held(&api, &id, false).await
}

async fn delete(State(api): State<Shared>, Path(id): Path<String>) -> Result<Json<ActionDone>, ApiError> {
    Ok(done("delete", vec![delete_one(&api.ctx.queue, &id).await?]))
}

/// Removes a message from the queue (the web UI shares it).
pub async fn delete_one(q: &Queue, id: &str) -> Result<QueueId, ApiError> {
    let id = parse_id(id)?;
    if !q.remove(&id).await.map_err(ApiError::storage)? {
        return Err(ApiError::NotFound(format!("message {id} is not in the queue")));
    }
    tracing::info!(id = %id, "deleted by the operator");
    Ok(id)
}
