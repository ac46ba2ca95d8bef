//! ACME (RFC 8555): certificates for postern's own names from a CA such as Let's Encrypt,
//! issued in the background, kept under data_dir/acme/, renewed before expiry, with
//! HTTP-01 (a responder on `acme.http_bind`) or TLS-ALPN-01 (RFC 8737, answered by every
//! implicit-TLS listener through `net::tls::accept`).
//!
//! Owns: the account, orders, challenges, the stored certificate and the renewal schedule.
//! Must not touch: listeners or the running TLS configuration (the daemon installs a new
//! certificate through the callback it passes to `spawn`).
pub mod challenges;
mod http;
pub mod http01;
mod issue;
pub mod renew;
pub mod store;
pub mod x509;

pub use challenges::Challenges;

use crate::config::{AcmeChallenge, Config};
use std::sync::Arc;

/// Starts ACME when `[acme]` is configured: binds the HTTP-01 responder (an error here
/// stops the start, like any listener) and spawns the issue/renew loop.
pub async fn spawn(
    cfg: Arc<Config>,
    challenges: Arc<Challenges>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    install: Box<dyn Fn() + Send + Sync>,
) -> std::io::Result<()> {
    if !cfg.acme.enabled() {
        return Ok(());
    }
    if cfg.acme.challenge == AcmeChallenge::Http01 {
        http01::bind(&cfg.acme.http_bind, challenges.clone(), shutdown.clone())
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("acme.http_bind {}: {e}", cfg.acme.http_bind)))?;
    }
    match store::current(&cfg, renew::unix_now()) {
        Some((cert, _, info)) => tracing::info!(cert = %cert.display(), serial = %info.serial, "acme: using the stored certificate"),
        None => tracing::info!("acme: no valid certificate stored yet; the [tls] or self-signed one serves until issuance"),
    }
    tokio::spawn(renew::run(cfg, challenges, shutdown, install));
    Ok(())
}
