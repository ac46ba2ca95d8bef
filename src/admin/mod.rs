//! The web administration UI on `admin.bind` (docs/admin-ui.md): what PostfixAdmin does
//! (domains, mailboxes, aliases and catch-alls, vacation) plus the queue, DKIM keys, DNS
//! health and a dashboard, as server-rendered HTML (askama) that needs no JavaScript.
//!
//! Owns: administrators (`accounts`, `postern admin add`), sessions and roles (`session`),
//! the listener with its CSRF and header guard (`server`) and the pages (`views/`).
//! Must not touch: the stores directly: changes go through `app::accounts` (the service
//! layer the REST API shares), the queue through `http::queue`'s operations.
pub mod accounts;
mod server;
pub mod session;
mod views;

use crate::app::Services;
use std::sync::Arc;

/// Binds `admin.bind` (a bad address stops the daemon before it reports ready) and serves.
pub async fn start(ctx: &Arc<Services>) -> std::io::Result<()> {
    let Some(bound) = server::bind(ctx).await? else { return Ok(()) };
    let ui = Arc::new(server::Ui {
        ctx: ctx.clone(),
        sessions: session::Sessions::new(ctx.config.admin.session_timeout.get()),
        secure: ctx.config.admin.tls,
    });
    tokio::spawn(server::serve(bound, ui));
    Ok(())
}
