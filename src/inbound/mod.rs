//! Receiving mail: listeners, TLS, the SMTP session state machine, AUTH and relay policy.
//!
//! Owns: everything between an accepted TCP connection and `Queue::enqueue`.
//! Must not touch: sled (goes through `queue`), delivery.
pub mod accept;
pub mod checks;
mod cmd;
pub mod conn;
pub mod limits;
pub mod listener;
pub mod policy;
mod received;
pub mod session;
pub mod tls;

use crate::config::Config;
use crate::queue::Queue;
use std::sync::{Arc, RwLock};

/// What every session shares. Reloadable parts sit behind locks so SIGHUP can swap them
/// without touching sessions in progress.
pub struct Context {
    pub config: Arc<Config>,
    pub queue: Queue,
    pub tls: RwLock<Arc<rustls::ServerConfig>>,
    pub connections: Arc<limits::ConnLimiter>,
    pub auth_failures: limits::AuthFailures,
    pub rates: limits::Rates,
    pub dkim: RwLock<crate::dkim::DkimSigner>,
    /// SPF/DKIM/DMARC/ARC checks for the smtp listener; None when `inbound.checks` is off.
    pub checks: Option<checks::Checker>,
    /// Mailboxes, aliases and SRS keys; re-reads its files when they change.
    pub directory: Arc<crate::directory::Directory>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Context {
    #[allow(clippy::too_many_arguments)] // one value per shared part, built by the daemon
    pub fn new(
        config: Arc<Config>,
        queue: Queue,
        tls: Arc<rustls::ServerConfig>,
        dkim: crate::dkim::DkimSigner,
        checks: Option<checks::Checker>,
        directory: Arc<crate::directory::Directory>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Arc<Context> {
        let rates = limits::Rates::new(&config.limits);
        let connections = limits::ConnLimiter::new(config.limits.connections, config.limits.connections_per_ip);
        Arc::new(Context {
            config,
            queue,
            tls: RwLock::new(tls),
            connections,
            auth_failures: limits::AuthFailures::default(),
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
