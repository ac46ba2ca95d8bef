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
    pub rates: crate::net::limits::Rates,
    pub dkim: RwLock<crate::dkim::DkimSigner>,
    /// SPF/DKIM/DMARC/ARC checks for the smtp listener; None when `inbound.checks` is off.
    pub checks: Option<checks::Checker>,
    /// Mailboxes, aliases and SRS keys; re-reads its files when they change.
    pub directory: Arc<crate::directory::Directory>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
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
    ) -> Arc<Services> {
        let rates = crate::net::limits::Rates::new(&config.limits);
        let connections = crate::net::limits::ConnLimiter::new(config.limits.connections, config.limits.connections_per_ip);
        Arc::new(Services {
            config,
            queue,
            tls: RwLock::new(tls),
            connections,
            auth_failures: crate::net::limits::AuthFailures::default(),
            rates,
            dkim: RwLock::new(dkim),
            checks,
            directory,
            shutdown,
        })
    }

    pub fn tls_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.tls.read().unwrap().clone())
    }
}
