//! The Services handle: what the SMTP server, the HTTP API (and IMAP/POP3 next) share —
//! configuration, queue, directory, DKIM, TLS, limits, message checks — and the rules
//! every accepted message goes through (`ingest`, relay `policy`, `received` headers).
//!
//! Owns: wiring shared parts together. Must not touch: protocol dialogues (`inbound`,
//! `http`) or delivery.
pub mod accounts;
pub mod checks;
pub mod draft;
pub mod ingest;
pub mod policy;
pub mod received;
pub mod vacation;

use crate::config::Config;
use crate::queue::Queue;
use std::sync::{Arc, RwLock};

/// What every door (SMTP sessions, the HTTP API) shares. Reloadable parts sit behind locks so SIGHUP can swap them
/// without touching sessions in progress.
pub struct Services {
    pub config: Arc<Config>,
    pub queue: Queue,
    pub tls: RwLock<Arc<rustls::ServerConfig>>,
    pub connections: Arc<crate::net::limits::ConnLimiter>,
    pub auth_failures: crate::net::limits::AuthFailures,
    /// The Redis store shared by the nodes of a cluster (`[cluster] redis`), if any.
    pub cluster: Option<Arc<crate::limits::redis::Store>>,
    pub rates: crate::net::limits::Rates,
    pub dkim: RwLock<crate::dkim::DkimSigner>,
    /// SPF/DKIM/DMARC/ARC checks for the smtp listener; None when `inbound.checks` is off.
    pub checks: Option<checks::Checker>,
    /// Mailboxes, aliases and SRS keys; re-reads its files when they change.
    pub directory: Arc<crate::directory::Directory>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Set by `postern drain`: listeners close, health answers 503 "draining", delivery
    /// goes on until the queue is empty.
    pub draining: tokio::sync::watch::Sender<bool>,
    /// Notified when the daemon should stop on its own (a finished drain).
    pub stop_requested: tokio::sync::Notify,
    /// Pending ACME challenges, answered by the TLS listeners (tls-alpn-01).
    pub acme_challenges: Arc<crate::acme::Challenges>,
}

impl Services {
    #[allow(clippy::too_many_arguments)] // one value per shared part, built by the daemon
    pub fn new(
        config: Arc<Config>,
        queue: Queue,
        tls: Arc<rustls::ServerConfig>,
        dkim: crate::dkim::DkimSigner,
        checks: Option<checks::Checker>,
        directory: Arc<crate::directory::Directory>,
        shutdown: tokio::sync::watch::Receiver<bool>,
        cluster: Option<Arc<crate::limits::redis::Store>>,
    ) -> Arc<Services> {
        let rates = crate::net::limits::Rates::new(&config.limits, cluster.as_ref());
        let connections = crate::net::limits::ConnLimiter::new(config.limits.connections, config.limits.connections_per_ip);
        Arc::new(Services {
            config,
            queue,
            tls: RwLock::new(tls),
            connections,
            auth_failures: crate::net::limits::AuthFailures::new(cluster.clone()),
            cluster,
            draining: tokio::sync::watch::channel(false).0,
            stop_requested: tokio::sync::Notify::new(),
            acme_challenges: Arc::default(),
            rates,
            dkim: RwLock::new(dkim),
            checks,
            directory,
            shutdown,
        })
    }

    /// The server side of a TLS handshake with the current certificate (ACME TLS-ALPN-01
    /// validation handshakes are answered and closed: an error here).
    pub async fn tls_accept<S>(&self, stream: S) -> std::io::Result<tokio_rustls::server::TlsStream<S>>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let config = self.tls.read().unwrap().clone();
        crate::net::tls::accept(config, &self.acme_challenges, stream).await
    }
}

/// Waits while draining until the queue is empty (or `timeout`), then asks the daemon to
/// stop through `stop` (the same path as SIGTERM).
pub async fn drain_until_empty(ctx: &Services, timeout: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let queued = ctx.queue.len();
        if queued == 0 {
            tracing::info!("drained: the queue is empty; stopping");
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(queued, "drain timeout: stopping with messages still queued (they stay in this node's queue)");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    ctx.stop_requested.notify_one();
}
