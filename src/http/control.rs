//! The control socket: HTTP over a Unix socket in data_dir, so `postern queue` and
//! `postern send` (sendmail) can reach the running daemon (sled allows one process).
//! Like Postfix's maildrop and showq, the kernel's peer credentials are the auth: every
//! local user may submit mail (sendmail), only root and the daemon's own user may list or
//! change the queue. No token, no rate limit, `limits.message_size` as the body limit.
use super::error;
use super::state::Shared;
use super::{health, messages, queue};
use axum::Router;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
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
    // Anyone who can reach data_dir may connect; what they may do depends on their uid.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    Ok(l)
}

/// The connecting process's user, from SO_PEERCRED.
#[derive(Debug, Clone, Copy)]
pub struct PeerUid(Option<u32>);

impl Connected<IncomingStream<'_, UnixListener>> for PeerUid {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        PeerUid(stream.io().peer_cred().ok().map(|c| c.uid()))
    }
}

/// Queue administration: root or the user the daemon runs as.
async fn admin_only(ConnectInfo(peer): ConnectInfo<PeerUid>, req: Request, next: Next) -> Response {
    let me = unsafe { libc::geteuid() };
    match peer.0 {
        Some(uid) if uid == 0 || uid == me => next.run(req).await,
        other => error::ApiError::Forbidden(other.unwrap_or(u32::MAX)).into_response(),
    }
}

pub async fn serve(listener: UnixListener, api: Shared) {
    let mut shutdown = api.ctx.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let app = router(api).into_make_service_with_connect_info::<PeerUid>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "control socket failed");
    }
}

pub fn router(api: Shared) -> Router {
    queue::routes()
        .route_layer(axum::middleware::from_fn(admin_only))
        .route("/v1/messages", post(messages::local))
        .route("/health", get(health::health))
        .route("/v1/drain", post(health::drain))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(api)
}
