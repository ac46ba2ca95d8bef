//! The HTTP-01 responder on `acme.http_bind`: answers
//! `GET /.well-known/acme-challenge/TOKEN` with the key authorization while the challenge
//! is pending, 404 for everything else.
use super::challenges::Challenges;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::sync::Arc;

pub fn router(challenges: Arc<Challenges>) -> axum::Router {
    axum::Router::new().route("/.well-known/acme-challenge/{token}", axum::routing::get(answer)).with_state(challenges)
}

async fn answer(State(challenges): State<Arc<Challenges>>, Path(token): Path<String>) -> axum::response::Response {
    match challenges.http_answer(&token) {
        Some(ka) => {
            tracing::info!(token = %token, "acme: answered an http-01 validation request");
            ([(header::CONTENT_TYPE, "application/octet-stream")], ka).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such challenge\n").into_response(),
    }
}

/// Binds `addr` and serves until `shutdown` turns true.
pub async fn bind(addr: &str, challenges: Arc<Challenges>, mut shutdown: tokio::sync::watch::Receiver<bool>) -> std::io::Result<std::net::SocketAddr> {
    let tcp = tokio::net::TcpListener::bind(addr).await?;
    let local = tcp.local_addr()?;
    tracing::info!(kind = "acme-http-01", addr = %local, "listening");
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(tcp, router(challenges)).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "acme: http-01 responder stopped");
        }
    });
    Ok(local)
}
