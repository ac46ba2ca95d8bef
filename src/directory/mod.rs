//! Who exists: SMTP AUTH accounts, virtual mailboxes, aliases (with catch-alls and
//! `+` subaddressing) and the SRS keys for forwarded mail.
//!
//! Owns: reading the users, aliases and mailboxes files, re-reading the latter two when
//! they change (checked on every lookup: a `stat` per file, no restart or signal needed),
//! and answering "does this recipient exist, and where does it really go?".
//! Read by `inbound` (RCPT checks, alias expansion) and `transport` (Maildir location, quota).
pub mod aliases;
pub mod mailboxes;
pub mod password;
mod resolve;
pub mod srs;
pub mod users;

pub use resolve::{Mailbox, Refusal, Resolved};
pub use srs::{Srs, SrsError};
pub use users::{UserError, Users};

use crate::config::{Config, QuotaFull};
use aliases::AliasTable;
use mailboxes::MailboxTable;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("SRS secret {path}: {source}")]
    SrsSecret { path: String, source: std::io::Error },
}

/// `local@domain` with the local part lower-cased and the domain in lower-case A-labels:
/// the form every table is keyed by.
pub use crate::smtp::address::{normalize_address as normalize, normalize_domain};

/// One consistent view of the aliases and mailboxes files.
#[derive(Debug, Default)]
pub struct Snapshot {
    aliases: AliasTable,
    mailboxes: MailboxTable,
    /// Domains with at least one mailbox or alias: only listed local parts exist there.
    listed_domains: HashSet<String>,
}

impl Snapshot {
    fn new(aliases: AliasTable, mailboxes: MailboxTable) -> Snapshot {
        let listed_domains = aliases.domains().chain(mailboxes.domains()).map(str::to_string).collect();
        Snapshot { aliases, mailboxes, listed_domains }
    }

    /// True when `domain` (normalized) has entries, so unknown local parts are refused.
    pub fn is_listed_domain(&self, domain: &str) -> bool {
        self.listed_domains.contains(domain)
    }
}

/// What identifies a version of a file: a change of any of these triggers a reload.
type Stamp = Option<(std::time::SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// The directory: the current snapshot plus what is needed to notice file changes.
pub struct Directory {
    aliases_file: PathBuf,
    mailboxes_file: PathBuf,
    current: RwLock<Arc<Snapshot>>,
    /// Stamps of the files the current snapshot (or the last failed reload) came from.
    stamps: Mutex<(Stamp, Stamp)>,
    srs: Option<Srs>,
    delimiter: Option<char>,
    default_quota: u64,
    quota_full: QuotaFull,
    mail_root: PathBuf,
}

impl Directory {
    /// Loads the aliases and mailboxes files and the SRS secret; errors are fatal at start.
    pub fn open(cfg: &Config) -> Result<Directory, DirectoryError> {
        let (aliases_file, mailboxes_file) = (cfg.aliases.file.clone(), cfg.mailboxes.file.clone());
        let stamps = (stamp(&aliases_file), stamp(&mailboxes_file));
        let snapshot = load(&aliases_file, &mailboxes_file)?;
        Ok(Directory {
            aliases_file,
            mailboxes_file,
            current: RwLock::new(Arc::new(snapshot)),
            stamps: Mutex::new(stamps),
            srs: resolve::load_srs(cfg)?,
            delimiter: cfg.mailboxes.recipient_delimiter.chars().next(),
            default_quota: cfg.mailboxes.quota,
            quota_full: cfg.mailboxes.quota_full,
            mail_root: cfg.server.data_dir.join("mail"),
        })
    }

    /// The current tables, re-read first when a file changed since the last look. A file
    /// that no longer parses is logged and the previous tables stay in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        let now = (stamp(&self.aliases_file), stamp(&self.mailboxes_file));
        let mut stamps = self.stamps.lock().unwrap();
        if *stamps != now {
            *stamps = now;
            match load(&self.aliases_file, &self.mailboxes_file) {
                Ok(s) => {
                    tracing::info!(aliases = s.aliases.len(), mailboxes = s.mailboxes.len(), "directory reloaded");
                    *self.current.write().unwrap() = Arc::new(s);
                }
                Err(e) => tracing::error!(error = %e, "directory not reloaded; keeping the previous tables"),
            }
        }
        self.current.read().unwrap().clone()
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
    pub fn log_open_domains(&self, cfg: &Config) {
        let snap = self.snapshot();
        for d in cfg.relay.local_domains.iter().filter(|d| !snap.is_listed_domain(d)) {
            if matches!(crate::routing::choose(cfg, &format!("postmaster@{d}")), crate::routing::Choice::Maildir) {
                tracing::info!(domain = %d, "no mailboxes or aliases listed: every local part is accepted into its own Maildir");
            }
        }
    }
}

fn read_optional(path: &Path) -> Result<String, DirectoryError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(DirectoryError::Read { path: path.display().to_string(), source }),
    }
}

fn load(aliases: &Path, mailboxes: &Path) -> Result<Snapshot, DirectoryError> {
    let a = AliasTable::parse(&read_optional(aliases)?, aliases)?;
    let m = MailboxTable::parse(&read_optional(mailboxes)?, mailboxes)?;
    Ok(Snapshot::new(a, m))
}
