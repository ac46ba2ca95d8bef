//! The `files` directory backend (the embedded default): aliases and mailboxes in TOML
//! files, accounts in `users.toml` (plus `users.accounts_file` and the environment's).
//!
//! Owns: reading those files and re-reading each when it changes (a `stat` per file and
//! lookup, no restart or signal needed; SIGHUP forces it). A file that no longer parses is
//! logged and the previous tables stay in force. One account joins the users file and the
//! mailboxes file by address: a mailbox `alice@example.com` logs in with the password of
//! the user `alice@example.com`.
use super::aliases::AliasTable;
use super::backend::{Account, Backend, Lookup, Unavailable};
use super::mailboxes::MailboxTable;
use super::{DirectoryError, Users, normalize};
use crate::config::{Config, DomainSets, ListedDomains};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// One consistent view of the aliases and mailboxes files.
#[derive(Debug, Default)]
struct Tables {
    aliases: AliasTable,
    mailboxes: MailboxTable,
    /// Domains with at least one mailbox or alias: only listed local parts exist there.
    listed_domains: HashSet<String>,
}

impl Tables {
    /// Reads both files; the `[[domain]]` entries become local (or relayed) domains in
    /// `listed`.
    fn load(aliases: &Path, mailboxes: &Path, listed: &ListedDomains) -> Result<Tables, DirectoryError> {
        let aliases = AliasTable::parse(&read_optional(aliases)?, aliases)?;
        let mailboxes = MailboxTable::parse(&read_optional(mailboxes)?, mailboxes)?;
        let listed_domains = aliases.domains().chain(mailboxes.domains()).map(str::to_string).collect();
        let mut sets = DomainSets::default();
        for (d, backup) in mailboxes.listed_domains() {
            if *backup { sets.relay.insert(d.clone()) } else { sets.local.insert(d.clone()) };
        }
        listed.replace(sets);
        Ok(Tables { aliases, mailboxes, listed_domains })
    }
}

fn read_optional(path: &Path) -> Result<String, DirectoryError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(DirectoryError::Read { path: path.display().to_string(), source }),
    }
}

/// What identifies a version of a file: a change of any of these triggers a reload.
type Stamp = Option<(std::time::SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// A value read from files, with the stamps of the files it came from.
struct Watched<T> {
    files: Vec<PathBuf>,
    current: RwLock<Arc<T>>,
    /// Stamps of the files the current value (or the last failed reload) came from.
    stamps: Mutex<Vec<Stamp>>,
}

impl<T> Watched<T> {
    fn new(files: Vec<PathBuf>, value: T) -> Watched<T> {
        let stamps = files.iter().map(|f| stamp(f)).collect();
        Watched { files, current: RwLock::new(Arc::new(value)), stamps: Mutex::new(stamps) }
    }

    /// The current value, re-made by `load` first when a file changed since the last look.
    fn get(&self, what: &str, load: impl FnOnce(&T) -> Result<T, String>) -> Arc<T> {
        let now: Vec<Stamp> = self.files.iter().map(|f| stamp(f)).collect();
        let mut stamps = self.stamps.lock().unwrap();
        if *stamps != now {
            *stamps = now;
            let old = self.current.read().unwrap().clone();
            match load(&old) {
                Ok(fresh) => {
                    tracing::info!("{what} reloaded");
                    *self.current.write().unwrap() = Arc::new(fresh);
                }
                Err(e) => tracing::error!(error = %e, "{what} not reloaded; keeping the previous ones"),
            }
        }
        self.current.read().unwrap().clone()
    }

    /// The next `get` re-reads whatever the stamps say.
    fn invalidate(&self) {
        self.stamps.lock().unwrap().iter_mut().for_each(|s| *s = Some((std::time::UNIX_EPOCH, 0, 0)));
    }
}

pub struct FilesBackend {
    cfg: crate::config::Users,
    listed: ListedDomains,
    /// `relay.local_domains`: domains of the config file, shown but not changed by `Admin`.
    pub(super) config_domains: Vec<String>,
    aliases_file: PathBuf,
    mailboxes_file: PathBuf,
    tables: Watched<Tables>,
    users: Watched<Users>,
}

impl FilesBackend {
    /// Reads every file once; an unreadable or invalid file is an error at start.
    pub fn open(cfg: &Config) -> Result<FilesBackend, DirectoryError> {
        let (aliases_file, mailboxes_file) = (cfg.aliases.file.clone(), cfg.mailboxes.file.clone());
        let tables = Tables::load(&aliases_file, &mailboxes_file, &cfg.relay.listed)?;
        let users = Users::load_all(&cfg.users, None)?;
        let user_files = std::iter::once(cfg.users.file.clone()).chain(cfg.users.accounts_file.clone()).collect();
        Ok(FilesBackend {
            cfg: cfg.users.clone(),
            listed: cfg.relay.listed.clone(),
            config_domains: cfg.relay.local_domains.clone(),
            tables: Watched::new(vec![aliases_file.clone(), mailboxes_file.clone()], tables),
            users: Watched::new(user_files, users),
            aliases_file,
            mailboxes_file,
        })
    }

    fn tables(&self) -> Arc<Tables> {
        self.tables.get("directory", |_| Tables::load(&self.aliases_file, &self.mailboxes_file, &self.listed).map_err(|e| e.to_string()))
    }

    fn users(&self) -> Arc<Users> {
        self.users.get("users", |old| Users::load_all(&self.cfg, Some(old)).map_err(|e| e.to_string()))
    }

    pub(super) fn mailboxes_path(&self) -> &Path {
        &self.mailboxes_file
    }

    pub(super) fn aliases_path(&self) -> &Path {
        &self.aliases_file
    }

    pub(super) fn users_path(&self) -> &Path {
        &self.cfg.file
    }

    /// Re-reads every file now (after a change made through `Admin`).
    pub(super) fn reload_now(&self) {
        self.tables.invalidate();
        self.users.invalidate();
        let _ = (self.tables(), self.users());
    }

    /// Sizes of the tables, for the start-up log.
    pub fn counts(&self) -> (usize, usize) {
        let t = self.tables();
        (t.aliases.len(), t.mailboxes.len())
    }
}

impl Backend for FilesBackend {
    fn account<'a>(&'a self, login: &'a str) -> Lookup<'a, Option<Account>> {
        Box::pin(async move {
            let users = self.users();
            let key = normalize(login);
            let password_hash = users.hash(login).or_else(|| users.hash(&key)).map(str::to_string);
            let mailbox = self.tables().mailboxes.get(&key);
            if password_hash.is_none() && mailbox.is_none() {
                return Ok(None);
            }
            Ok(Some(Account {
                login: if mailbox.is_some() { key } else { login.to_string() },
                password_hash,
                mailbox: mailbox.is_some(),
                quota: mailbox.flatten(),
                maildir: None,
                active: true,
            }))
        })
    }

    fn alias<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vec<String>>> {
        Box::pin(async move { Ok::<_, Unavailable>(self.tables().aliases.get(address).map(<[String]>::to_vec)) })
    }

    fn catch_all<'a>(&'a self, domain: &'a str) -> Lookup<'a, Option<Vec<String>>> {
        Box::pin(async move { Ok(self.tables().aliases.catch_all(domain).map(<[String]>::to_vec)) })
    }

    fn alias_domain<'a>(&'a self, domain: &'a str) -> Lookup<'a, Option<String>> {
        Box::pin(async move { Ok(self.tables().mailboxes.alias_domain(domain).map(str::to_string)) })
    }

    fn lists_users<'a>(&'a self, domain: &'a str) -> Lookup<'a, bool> {
        Box::pin(async move { Ok(self.tables().listed_domains.contains(domain)) })
    }

    fn domain_quota<'a>(&'a self, domain: &'a str) -> Lookup<'a, u64> {
        Box::pin(async move { Ok(self.tables().mailboxes.domain_quota(domain)) })
    }

    fn reload(&self) {
        self.reload_now();
    }

    fn poll(&self) {
        let _ = self.tables();
    }
}
