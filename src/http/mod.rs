//! HTTP: the public API on `http.bind` (send, raw messages, health, metrics, queue and
//! directory admin) and the queue admin and submission routes on the local control socket.
//!
//! Owns: routes, bearer-token scopes, rate limits, request bodies, MIME building for
//! `/v1/send`, and the JSON shapes shared with the CLI (`api`, `client`).
//! Must not touch: sled (goes through `queue`), SMTP sessions. Messages are queued only
//! through `inbound::accept::enqueue`, the path that adds Received and DKIM.
mod admin;
pub mod api;
mod auth;
pub mod body;
pub mod client;
pub mod control;
pub mod error;
mod health;
mod messages;
pub mod mime;
mod mta_sts;
pub mod queue;
pub mod request;
mod send;
mod server;
pub mod state;
mod submit;
pub mod tls;

pub use messages::{MAIL_FROM_HEADER, RCPT_TO_HEADER};

use crate::app::Services;
use std::sync::Arc;

/// Starts the control socket (already bound) and the public API (bound here, so a bad
/// `http.bind` stops the daemon before it reports ready). Also installs the metrics
/// recorder. (`config::validate` has already checked the `[http]` keys.)
/// Starts the control socket and the HTTP API; returns where the API listens (None: off).
pub async fn start(ctx: &Arc<Services>, control: tokio::net::UnixListener) -> std::io::Result<Option<std::net::SocketAddr>> {
    crate::metrics::install();
    let api = state::Api::new(ctx.clone());
    tokio::spawn(control::serve(control, api.clone()));
    let Some((bound, addr)) = server::bind(&api).await? else { return Ok(None) };
    tokio::spawn(server::serve(bound, api));
    Ok(Some(addr))
}
