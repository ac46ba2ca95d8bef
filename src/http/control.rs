//! The control socket: HTTP over a Unix socket in data_dir, mode 0600, so `postern queue`
//! and `postern send` (sendmail) can reach the running daemon (sled allows one process).
//! File permissions are the auth, as with Postfix's showq and pickup: no token, no rate
//! limit, and `limits.message_size` instead of `http.body_limit`.
use super::error;
use super::state::Shared;
use super::{health, messages, queue};
use axum::Router;
use axum::routing::{get, post};
use std::os::unix::fs::PermissionsExt;
use tokio::net::UnixListener;

pub const SOCKET_NAME: &str = "postern.sock";

pub fn socket_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// Binds the socket, replacing a stale one left by a killed daemon (we hold the queue
/// lock by now, so no other daemon is using it).
pub fn bind(data_dir: &std::path::Path) -> std::io::Result<UnixListener> {
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

pub async fn serve(listener: UnixListener, api: Shared) {
    let mut shutdown = api.ctx.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router(api)).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "control socket failed");
    }
}

pub fn router(api: Shared) -> Router {
    queue::routes()
        .route("/v1/messages", post(messages::local))
        .route("/health", get(health::health))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(api)
}
