//! The dashboard (superadmin): messages accepted, delivered, deferred and bounced per hour
//! over the last 24 hours as an inline SVG chart (counted since the daemon started), the
//! queue's size, the most frequent reasons queued recipients are deferred, and in a
//! cluster the nodes with a current heartbeat (as `postern cluster status`).
use super::super::server::{Page, Req, Shared};
use super::{Layout, render};
use crate::http::api::MessageState;
use crate::queue::RcptState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// Chart geometry (SVG user units).
const HEIGHT: u64 = 160;
const SLOT: u64 = 28;
const BAR: u64 = 6;

pub struct Bar {
    pub x: u64,
    pub y: u64,
    pub h: u64,
    pub class: &'static str,
    pub title: String,
}

pub struct Label {
    pub x: u64,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    l: Layout,
    totals: [(&'static str, u64); 4],
    bars: Vec<Bar>,
    labels: Vec<Label>,
    width: u64,
    peak: u64,
    queued: usize,
    held: usize,
    deferred: usize,
    reasons: Vec<(String, usize)>,
    /// `None` without `[cluster]`; `Some(None)` when Redis does not answer. With the age
    /// of each heartbeat in seconds.
    nodes: Option<Option<Vec<(crate::cluster::NodeInfo, u64)>>>,
}

pub async fn show(State(ui): State<Shared>, r: Req) -> Response {
    let who = match r.who() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if !who.is_admin() {
        return Redirect::to("/account").into_response();
    }
    if !who.is_super() {
        return Redirect::to("/domains").into_response();
    }
    let hours = crate::metrics::last_24h();
    let totals = [
        ("accepted", hours.iter().map(|h| h.accepted).sum()),
        ("delivered", hours.iter().map(|h| h.delivered).sum()),
        ("deferred", hours.iter().map(|h| h.deferred).sum()),
        ("bounced", hours.iter().map(|h| h.bounced).sum()),
    ];
    let peak = hours.iter().map(|h| h.accepted.max(h.delivered).max(h.deferred).max(h.bounced)).max().unwrap_or(0).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, h) in hours.iter().enumerate() {
        let x0 = i as u64 * SLOT + 2;
        let hour = (h.start / 3600) % 24;
        if i % 3 == 0 {
            labels.push(Label { x: x0, text: format!("{hour:02}h") });
        }
        for (j, (class, n)) in [("accepted", h.accepted), ("delivered", h.delivered), ("deferred", h.deferred), ("bounced", h.bounced)].into_iter().enumerate() {
            let height = n * HEIGHT / peak;
            bars.push(Bar { x: x0 + j as u64 * BAR, y: HEIGHT - height, h: height, class, title: format!("{hour:02}:00 UTC: {n} {class}") });
        }
    }
    let entries = match crate::http::queue::entries(&ui.ctx.queue, None, None).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "admin UI: cannot read the queue");
            return Page::Internal.into_response();
        }
    };
    let mut why: HashMap<String, usize> = HashMap::new();
    for r in entries.iter().flat_map(|e| &e.envelope.recipients).filter(|r| r.state == RcptState::Pending) {
        if let Some(reason) = &r.last_error {
            *why.entry(reason.chars().take(160).collect()).or_default() += 1;
        }
    }
    let mut reasons: Vec<(String, usize)> = why.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    reasons.truncate(5);
    let page = Dashboard {
        l: Layout::new(&ui, &r, "Dashboard"),
        totals,
        bars,
        labels,
        width: 24 * SLOT,
        peak,
        queued: entries.len(),
        held: entries.iter().filter(|e| e.state == MessageState::Held).count(),
        deferred: entries.iter().filter(|e| e.state == MessageState::Deferred).count(),
        reasons,
        nodes: match &ui.ctx.cluster {
            Some(store) => {
                let now = crate::proto::rfc5322::unix_now();
                Some(crate::cluster::nodes(store).await.map(|list| list.into_iter().map(|n| {
                    let age = now.saturating_sub(n.at);
                    (n, age)
                }).collect()))
            }
            None => None,
        },
    };
    render(&page)
}
