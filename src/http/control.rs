//! The control socket: HTTP over a Unix socket in data_dir, mode 0600, so `postern queue`
//! can ask the running daemon (sled allows one process). File permissions are the auth,
//! as with Postfix's showq socket.
use crate::queue::{Envelope, Queue, QueueId};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
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

pub async fn serve(listener: UnixListener, queue: Queue, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let app = router(queue);
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "control socket failed");
    }
}

pub fn router(queue: Queue) -> Router {
    Router::new().route("/v1/queue", get(list)).route("/v1/queue/{id}", get(show)).with_state(queue)
}

async fn list(State(q): State<Queue>) -> Result<Json<Vec<Envelope>>, (StatusCode, String)> {
    q.list().map(Json).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn show(State(q): State<Queue>, Path(id): Path<String>) -> Result<Json<Envelope>, (StatusCode, String)> {
    let id = QueueId::parse(&id).ok_or((StatusCode::BAD_REQUEST, "invalid queue id".into()))?;
    match q.get(&id) {
        Ok(Some(env)) => Ok(Json(env)),
        Ok(None) => Err((StatusCode::NOT_FOUND, format!("{id}: no such message"))),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
