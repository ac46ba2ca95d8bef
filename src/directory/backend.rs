//! The interface every directory store answers: accounts, aliases and catch-alls by key.
//!
//! Owns: the `Backend` trait, the `Account` model and the `Unavailable` answer. Every
//! lookup may say `Unavailable` (a database that is down or slow): callers turn it into a
//! temporary reply (SMTP 451 4.3.0 at RCPT, 454 4.7.0 at AUTH, a deferral in delivery),
//! never into "no such user". Keys are normalized (`smtp::address::normalize_address`).
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

/// The store could not answer now; try again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("directory unavailable: {0}")]
pub struct Unavailable(pub String);

/// One answer of a backend.
pub type Lookup<'a, T, E = Unavailable> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// One account: a login with a password, and a mailbox when it receives mail. SMTP AUTH
/// (and IMAP/POP3 next) log in with it; the Maildir transport delivers into its mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name: an address for mail accounts, or a bare name (`postern user add`).
    pub login: String,
    /// Hash in any scheme `directory::password` verifies; None: cannot log in.
    pub password_hash: Option<String>,
    /// The account receives mail into a Maildir.
    pub mailbox: bool,
    /// Bytes; None: the configured default (`mailboxes.quota`).
    pub quota: Option<u64>,
    /// Maildir path relative to the mail root as the store keeps it (PostfixAdmin's
    /// `maildir` column); None: `DOMAIN/LOCAL`.
    pub maildir: Option<PathBuf>,
    /// An inactive account acts as absent.
    pub active: bool,
}

/// A directory store. Implementations: `files` (TOML files, re-read when they change),
/// `sql` (SQLite, PostgreSQL).
pub trait Backend: Send + Sync {
    /// The account with this login (exact name, or normalized address).
    fn account<'a>(&'a self, login: &'a str) -> Lookup<'a, Option<Account>>;
    /// Targets of the alias for exactly this normalized address.
    fn alias<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vec<String>>>;
    /// Targets of the catch-all `@domain` (normalized domain); `@other` targets keep the
    /// local part.
    fn catch_all<'a>(&'a self, domain: &'a str) -> Lookup<'a, Option<Vec<String>>>;
    /// The domain this alias domain stands for (PostfixAdmin `alias_domain`): `u@alias`
    /// is `u@target` when that exists.
    fn alias_domain<'a>(&'a self, _domain: &'a str) -> Lookup<'a, Option<String>> {
        Box::pin(std::future::ready(Ok(None)))
    }
    /// True when the domain lists its users (has any mailbox or alias): an unlisted local
    /// part there is unknown. A local domain listing nothing accepts every local part.
    fn lists_users<'a>(&'a self, domain: &'a str) -> Lookup<'a, bool>;
    /// The bytes all mailboxes of the domain may hold together; 0: no domain quota.
    fn domain_quota<'a>(&'a self, _domain: &'a str) -> Lookup<'a, u64> {
        Box::pin(std::future::ready(Ok(0)))
    }
    /// Re-read the store now (SIGHUP); stores that notice changes by themselves ignore it.
    fn reload(&self) {}
    /// Notice changes made elsewhere (called every second by the daemon): the domains a
    /// store lists must be current before any lookup asks for them.
    fn poll(&self) {}
}
