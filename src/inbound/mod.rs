//! Receiving mail: listeners, TLS, the SMTP session state machine, AUTH and relay policy.
//!
//! Owns: everything between an accepted TCP connection and `Queue::enqueue`.
//! Must not touch: sled (goes through `queue`), delivery.
pub mod accept;
mod cmd;
pub mod conn;
pub mod limits;
pub mod listener;
pub mod policy;
mod received;
pub mod session;
pub mod tls;

use crate::config::Config;
use crate::directory::Users;
use crate::queue::Queue;
use std::sync::{Arc, RwLock};

/// What every session shares. Reloadable parts sit behind locks so SIGHUP can swap them
/// without touching sessions in progress.
pub struct Context {
    pub config: Arc<Config>,
    pub queue: Queue,
    pub users: RwLock<Arc<Users>>,
    pub tls: RwLock<Arc<rustls::ServerConfig>>,
    pub connections: Arc<limits::ConnLimiter>,
    pub auth_failures: limits::AuthFailures,
    pub dkim: RwLock<crate::dkim::DkimSigner>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Context {
    pub fn new(
        config: Arc<Config>,
        queue: Queue,
        users: Users,
        tls: Arc<rustls::ServerConfig>,
        dkim: crate::dkim::DkimSigner,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Arc<Context> {
        let connections = limits::ConnLimiter::new(config.limits.connections, config.limits.connections_per_ip);
        Arc::new(Context {
            config,
            queue,
            users: RwLock::new(Arc::new(users)),
            tls: RwLock::new(tls),
            connections,
            auth_failures: limits::AuthFailures::default(),
            dkim: RwLock::new(dkim),
            shutdown,
        })
    }

    pub fn users(&self) -> Arc<Users> {
        self.users.read().unwrap().clone()
    }

    pub fn tls_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.tls.read().unwrap().clone())
    }
}
