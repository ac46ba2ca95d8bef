//! The queue (superadmin): the list with domain and state filters, one message's envelope
//! and headers, and retry / hold / release / delete, through the same operations as the
//! queue API (`http::queue`).
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::{Layout, render, size};
use crate::http::error::ApiError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

/// Messages shown on one page at most.
const PAGE: usize = 200;

pub struct Row {
    pub id: String,
    pub from: String,
    pub to: String,
    pub state: String,
    pub size: String,
    pub arrived: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/queue.html")]
struct QueuePage {
    l: Layout,
    domain: String,
    state: String,
    /// The state filter's options, with the selected one.
    states: Vec<(&'static str, bool)>,
    total: usize,
    rows: Vec<Row>,
}

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    state: String,
}

fn time(t: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t as i64)
        .map(|d| format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", d.year(), u8::from(d.month()), d.day(), d.hour(), d.minute()))
        .unwrap_or_default()
}

fn state_name(s: crate::http::api::MessageState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub async fn list(State(ui): State<Shared>, r: Req, Query(f): Query<Filter>) -> Result<Response, Page> {
    r.superadmin()?;
    let opt = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    let (domain, state) = (opt(&f.domain), opt(&f.state));
    let mut l = Layout::new(&ui, &r, "Queue");
    let entries = match crate::http::queue::entries(&ui.ctx.queue, domain.as_deref(), state.as_deref()).await {
        Ok(e) => e,
        Err(ApiError::BadRequest(m)) => {
            l.err = Some(m);
            Vec::new()
        }
        Err(e) => {
            tracing::error!(error = %e, "admin UI: cannot read the queue");
            return Err(Page::Internal);
        }
    };
    let total = entries.len();
    let rows = entries
        .into_iter()
        .take(PAGE)
        .map(|e| {
            let env = &e.envelope;
            Row {
                id: env.id.to_string(),
                from: if env.mail_from.is_empty() { "<>".into() } else { env.mail_from.clone() },
                to: env.recipients.iter().map(|r| r.address.as_str()).collect::<Vec<_>>().join(", "),
                state: state_name(e.state),
                size: size(env.size),
                arrived: time(env.arrived),
                error: env.recipients.iter().find_map(|r| r.last_error.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let states = ["active", "deferred", "held", "done"].into_iter().map(|s| (s, f.state == s)).collect();
    Ok(render(&QueuePage { l, domain: f.domain, state: f.state, states, total, rows }))
}

pub struct RcptRow {
    pub address: String,
    pub state: String,
    pub attempts: u32,
    pub next: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/queue_message.html")]
struct MessagePage {
    l: Layout,
    id: String,
    from: String,
    state: String,
    size: String,
    arrived: String,
    client: String,
    rcpts: Vec<RcptRow>,
    headers: String,
}

pub async fn show(State(ui): State<Shared>, r: Req, Path(id): Path<String>) -> Result<Response, Page> {
    r.superadmin()?;
    let (env, headers) = match crate::http::queue::message(&ui.ctx.queue, &id).await {
        Ok(x) => x,
        Err(ApiError::NotFound(_) | ApiError::BadRequest(_)) => return Err(Page::NotFound),
        Err(e) => {
            tracing::error!(error = %e, "admin UI: cannot read a queued message");
            return Err(Page::Internal);
        }
    };
    let state = state_name(crate::http::api::MessageState::of(&env));
    let rcpts = env
        .recipients
        .iter()
        .map(|r| RcptRow {
            address: r.address.clone(),
            state: format!("{:?}", r.state).to_lowercase(),
            attempts: r.attempts,
            next: if r.next_attempt == 0 { "now".into() } else { time(r.next_attempt) },
            error: r.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let page = MessagePage {
        l: Layout::new(&ui, &r, format!("Message {}", env.id)),
        id: env.id.to_string(),
        from: if env.mail_from.is_empty() { "<>".into() } else { env.mail_from.clone() },
        state,
        size: size(env.size),
        arrived: time(env.arrived),
        client: env.client_ip.clone().unwrap_or_default(),
        rcpts,
        headers,
    };
    Ok(render(&page))
}

pub async fn act(State(ui): State<Shared>, r: Req, Path((id, action)): Path<(String, String)>) -> Result<Response, Page> {
    let who = r.superadmin()?;
    let q = &ui.ctx.queue;
    let result = match action.as_str() {
        "retry" => crate::http::queue::retry_one(q, &id).await,
        "hold" => crate::http::queue::hold_one(q, &id, true).await,
        "release" => crate::http::queue::hold_one(q, &id, false).await,
        "delete" => crate::http::queue::delete_one(q, &id).await,
        _ => return Err(Page::NotFound),
    };
    tracing::info!(who = %who.audit_name(), from = %r.ip, entity = "queue", action = %action, key = %id, ok = result.is_ok(), "queue changed through the admin UI");
    Ok(match result {
        Ok(id) if action == "delete" => r.done(&ui, "/queue", Flash::Ok(format!("message {id} deleted"))),
        Ok(id) => r.done(&ui, &format!("/queue/{id}"), Flash::Ok(format!("{action}: done for {id}"))),
        Err(e) => r.done(&ui, "/queue", Flash::Err(e.to_string())),
    })
}
