//! `GET /health` (container healthchecks) and `GET /metrics` (Prometheus).
//!
//! Both are open (no token): health says only "ok", metrics only counts. Put the API
//! behind a firewall or on loopback (the default) if even counts are sensitive.
use super::error::ApiError;
use super::state::Shared;
use crate::metrics::QueueStats;
use crate::queue::{Envelope, QueueId};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::time::Duration;

/// 200 `ok` while the daemon runs and the queue can be read; 503 otherwise (also while
/// draining, so a load balancer takes the node out).
pub async fn health(State(api): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    if *api.ctx.shutdown.borrow() {
        return Err(ApiError::Unavailable("shutting down".into()));
    }
    if *api.ctx.draining.borrow() {
        return Err(ApiError::Unavailable(format!("draining: {} messages still queued", api.ctx.queue.len())));
    }
    let q = api.ctx.queue.clone();
    // A point read goes through the storage engine without scanning the queue.
    tokio::task::spawn_blocking(move || q.get(&QueueId("healthcheck".into())))
        .await
        .map_err(|e| ApiError::Unavailable(format!("queue check failed: {e}")))?
        .map_err(|e| ApiError::Unavailable(format!("queue unreadable: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok"))
}

fn stats(list: &[Envelope], now: u64) -> QueueStats {
    use super::api::MessageState;
    let state = |s| list.iter().filter(|e| MessageState::of(e) == s).count();
    QueueStats {
        messages: list.len(),
        held: state(MessageState::Held),
        deferred: state(MessageState::Deferred),
        oldest_age: Duration::from_secs(list.iter().map(|e| now.saturating_sub(e.arrived)).max().unwrap_or(0)),
    }
}

/// Prometheus text format 0.0.4.
pub async fn metrics(State(api): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let q = api.ctx.queue.clone();
    let list = tokio::task::spawn_blocking(move || q.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::storage)?;
    let sessions = api.ctx.connections.open_sessions();
    let text = crate::metrics::render(stats(&list, crate::proto::rfc5322::unix_now()), sessions)
        .ok_or_else(|| ApiError::Unavailable("metrics recorder not installed".into()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Recipient;

    #[test]
    fn stats_count_states_and_age() {
        let mut a = Envelope::new(QueueId("A".into()), "s@x.test", vec![Recipient::new("r@y.test")]);
        a.arrived = 100;
        let mut b = a.clone();
        b.arrived = 150;
        b.held = true;
        let mut c = a.clone();
        c.arrived = 190;
        c.recipients[0].attempts = 2;
        let s = stats(&[a, b, c], 200);
        assert_eq!(s, QueueStats { messages: 3, held: 1, deferred: 1, oldest_age: Duration::from_secs(100) });
    }
}

/// `POST /v1/drain[?timeout=SECONDS]` (control socket, `postern drain`): stop accepting,
/// deliver what is queued, exit when the queue is empty or after the timeout (default 600 s).
pub async fn drain(State(api): State<Shared>, axum::extract::Query(q): axum::extract::Query<DrainQuery>) -> impl IntoResponse {
    let timeout = Duration::from_secs(q.timeout.unwrap_or(600));
    let started = api.ctx.draining.send_if_modified(|d| !std::mem::replace(d, true));
    if started {
        tracing::info!(queued = api.ctx.queue.len(), timeout = ?timeout, "drain requested: listeners close, delivery goes on");
        let ctx = api.ctx.clone();
        tokio::spawn(async move { crate::app::drain_until_empty(&ctx, timeout).await });
    }
    (axum::http::StatusCode::ACCEPTED, axum::Json(serde_json::json!({"ok": true, "draining": true, "queued": api.ctx.queue.len()})))
}

#[derive(Debug, serde::Deserialize)]
pub struct DrainQuery {
    timeout: Option<u64>,
}
