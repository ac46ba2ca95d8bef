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
use crate::directory::Users;
use crate::queue::Queue;
use std::sync::{Arc, RwLock};

/// What every session shares. Reloadable parts sit behind locks so SIGHUP can swap them
/// without touching sessions in progress.
pub struct Context {
    pub config: Arc<Config>,
    pub queue: Queue,
    /// Accounts and the users files' mtimes when they were read.
    users: RwLock<(Arc<Users>, FileStamps)>,
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

fn mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// mtimes of `users.file` and `users.accounts_file`: a change to either reloads.
type FileStamps = [Option<std::time::SystemTime>; 2];

fn users_stamps(cfg: &Config) -> FileStamps {
    [mtime(&cfg.users.file), cfg.users.accounts_file.as_deref().and_then(mtime)]
}

impl Context {
    #[allow(clippy::too_many_arguments)] // one value per shared part, built by the daemon
    pub fn new(
        config: Arc<Config>,
        queue: Queue,
        users: Users,
        tls: Arc<rustls::ServerConfig>,
        dkim: crate::dkim::DkimSigner,
        checks: Option<checks::Checker>,
        directory: Arc<crate::directory::Directory>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Arc<Context> {
        let users_mtime = users_stamps(&config);
        let rates = limits::Rates::new(&config.limits);
        let connections = limits::ConnLimiter::new(config.limits.connections, config.limits.connections_per_ip);
        Arc::new(Context {
            config,
            queue,
            users: RwLock::new((Arc::new(users), users_mtime)),
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

    /// Re-reads the users file now (SIGHUP).
    pub fn reload_users(&self) {
        // No real file has this mtime, so the next lookup re-reads (keeping the old
        // accounts if the file is unreadable).
        self.users.write().unwrap().1 = [Some(std::time::UNIX_EPOCH); 2];
        let _ = self.users();
    }

    /// The accounts, re-read when `postern user add|delete` changed the file (AUTH is rare
    /// enough that a stat per attempt costs nothing).
    pub fn users(&self) -> Arc<Users> {
        let path = &self.config.users.file;
        let now = users_stamps(&self.config);
        let (users, seen) = self.users.read().unwrap().clone();
        if now == seen {
            return users;
        }
        match Users::load_all(&self.config.users, Some(&users)) {
            Ok(fresh) => {
                tracing::info!(file = %path.display(), "users files changed, reloaded");
                let fresh = Arc::new(fresh);
                *self.users.write().unwrap() = (fresh.clone(), now);
                fresh
            }
            Err(e) => {
                tracing::error!(error = %e, "users file changed but cannot be read; keeping the previous accounts");
                users
            }
        }
    }

    pub fn tls_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.tls.read().unwrap().clone())
    }
}
