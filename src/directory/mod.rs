//! Who exists: accounts (SMTP AUTH logins and virtual mailboxes, one model), aliases
//! (with catch-alls and `+` subaddressing) and the SRS keys for forwarded mail.
//!
//! Owns: `Directory`, the one handle the rest of postern asks "does this recipient exist,
//! where does it really go, may this login in?" (`resolve.rs`), on top of any `Backend`
//! (`backend.rs`; `files.rs`, `sql/`). Every answer can be "unavailable", which callers turn
//! into temporary failures. Read by `inbound` (RCPT, AUTH, alias expansion), `transport`
//! (Maildir location, quota) and `outbound` (bounces follow aliases).
pub mod admin;
pub mod aliases;
pub mod backend;
pub mod files;
mod files_admin;
pub mod mailboxes;
pub mod migrate;
pub mod password;
mod resolve;
pub mod sql;
pub mod srs;
pub mod users;
pub mod vacation;

pub use backend::{Account, Backend, Unavailable};
pub use resolve::{Mailbox, Refusal, Resolved};
pub use srs::{Srs, SrsError};
pub use users::{UserError, Users};

use crate::config::{Config, QuotaFull};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("SRS secret {path}: {source}")]
    SrsSecret { path: String, source: std::io::Error },
    #[error("{0}")]
    Users(#[from] UserError),
    #[error("{0}")]
    Sql(#[from] sql::SqlError),
}

/// `local@domain` with the local part lower-cased and the domain in lower-case A-labels:
/// the form every table is keyed by.
pub use crate::proto::smtp::address::{normalize_address as normalize, normalize_domain};

/// Password checks that may run at once: one per core.
static VERIFY_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// The directory: a backend plus the rules on top of it (SRS, subaddressing, quotas).
pub struct Directory {
    backend: Arc<dyn Backend>,
    /// The same store, for changes (None: a read-only backend).
    admin: Option<Arc<dyn admin::Admin>>,
    /// Mailboxes' vacation auto-replies (None: a backend without them).
    vacations: Option<Arc<dyn vacation::VacationStore>>,
    srs: Option<Srs>,
    delimiter: Option<char>,
    default_quota: u64,
    quota_full: QuotaFull,
    mail_root: PathBuf,
    /// `directory.rehash`: store argon2id after a login with an older scheme.
    rehash: bool,
}

impl Directory {
    /// The configured backend (`directory.backend`) and the SRS secret; errors are fatal
    /// at start (a database that is down is not an error: its lookups are "unavailable").
    pub async fn connect(cfg: &Config) -> Result<Directory, DirectoryError> {
        match cfg.directory.backend {
            crate::config::DirectoryBackend::Files => Directory::open(cfg),
            crate::config::DirectoryBackend::Sqlite | crate::config::DirectoryBackend::Postgres => {
                let backend = Arc::new(sql::SqlBackend::open(cfg).await?);
                backend.spawn_refresh();
                Ok(Directory { admin: Some(backend.clone()), vacations: Some(backend.clone()), ..Directory::with_backend(cfg, backend)? })
            }
        }
    }

    /// The files backend and the SRS secret.
    pub fn open(cfg: &Config) -> Result<Directory, DirectoryError> {
        let files = files::FilesBackend::open(cfg)?;
        let (aliases, mailboxes) = files.counts();
        tracing::debug!(aliases, mailboxes, "directory files read");
        let files = Arc::new(files);
        let vacations = Arc::new(vacation::FilesVacations::new(cfg, files.clone()));
        Ok(Directory { admin: Some(files.clone()), vacations: Some(vacations), ..Directory::with_backend(cfg, files)? })
    }

    /// The directory over any backend.
    pub fn with_backend(cfg: &Config, backend: Arc<dyn Backend>) -> Result<Directory, DirectoryError> {
        Ok(Directory {
            backend,
            admin: None,
            vacations: None,
            srs: resolve::load_srs(cfg)?,
            delimiter: cfg.mailboxes.recipient_delimiter.chars().next(),
            default_quota: cfg.mailboxes.quota,
            quota_full: cfg.mailboxes.quota_full,
            mail_root: cfg.mail_root(),
            rehash: cfg.directory.rehash,
        })
    }

    /// The store's change interface (`postern domain|mailbox|alias`, the admin API).
    pub fn admin(&self) -> Option<&dyn admin::Admin> {
        self.admin.as_deref()
    }

    /// The store of vacation auto-replies (`postern vacation`, `app::vacation`).
    pub fn vacations(&self) -> Option<&dyn vacation::VacationStore> {
        self.vacations.as_deref()
    }

    /// Keeps noticing changes made elsewhere (files edited by hand or by the CLI): polls the
    /// backend every second until the process ends.
    pub fn spawn_poll(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let Some(me) = me.upgrade() else { return };
                me.backend.poll();
            }
        });
    }

    /// Re-read the backend's store now (SIGHUP).
    pub fn reload(&self) {
        self.backend.reload();
    }

    /// Checks a login's password; an unknown or inactive login costs the same time as a
    /// wrong password, so timing does not tell which names exist.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<bool, Unavailable> {
        let hash = self.backend.account(login).await?.filter(|a| a.active).and_then(|a| a.password_hash);
        let owned = password.to_string();
        let stored = hash.clone();
        let check = move || match stored {
            Some(h) => password::verify(&h, &owned),
            None => {
                password::verify(&password::DUMMY_HASH, &owned);
                false
            }
        };
        // argon2id takes 19 MiB and ~20 ms of one core per check: more checks at once than
        // cores only add memory (a burst of 100 logins would take 1.9 GiB), so they queue.
        let _turn = VERIFY_SLOTS.acquire().await.expect("never closed");
        let ok = tokio::task::spawn_blocking(check).await.unwrap_or(false);
        if ok && self.rehash && hash.as_deref().and_then(|h| password::parse(h).ok()).is_some_and(|(s, _)| s != password::Scheme::Argon2) {
            self.upgrade_hash(login, password).await;
        }
        Ok(ok)
    }

    /// Replaces a verified older hash by argon2id (`directory.rehash`); a store that cannot
    /// be written keeps the old one.
    async fn upgrade_hash(&self, login: &str, password: &str) {
        let Some(admin) = self.admin() else { return };
        let owned = password.to_string();
        let Ok(fresh) = tokio::task::spawn_blocking(move || password::hash(&owned)).await else { return };
        match admin.set_password(login, fresh).await {
            Ok(()) => tracing::info!(login, "password hash upgraded to argon2id"),
            Err(e) => tracing::info!(login, error = %e, "password hash not upgraded"),
        }
    }

    pub fn srs(&self) -> Option<&Srs> {
        self.srs.as_ref()
    }

    pub fn quota_full(&self) -> QuotaFull {
        self.quota_full
    }

    /// Where mailboxes live: `data_dir/mail`.
    pub fn mail_root(&self) -> &Path {
        &self.mail_root
    }

    /// Logs, once at start, the local domains that accept every local part.
    pub async fn log_open_domains(&self, cfg: &Config) {
        for d in &cfg.relay.local_domains {
            if self.backend.lists_users(d).await.unwrap_or(true) {
                continue;
            }
            if matches!(crate::routing::choose(cfg, &format!("postmaster@{d}")), crate::routing::Choice::Maildir) {
                tracing::info!(domain = %d, "no mailboxes or aliases listed: every local part is accepted into its own Maildir");
            }
        }
    }
}
