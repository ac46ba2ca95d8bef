//! Login to a mailbox, shared by IMAP and POP3: the per-IP and per-account failure
//! throttle (`net::limits::AuthFailures`, shared through Redis in a cluster), the
//! directory's password check, and the account's Maildir opened as a `mailstore::Store`.
//! Passwords are never logged.
use crate::app::Services;
use crate::mailstore::Store;
use std::net::SocketAddr;

/// A logged-in account and its mail.
#[derive(Debug)]
pub struct Login {
    /// The account's login name as the directory knows it.
    pub account: String,
    pub store: Store,
    /// Bytes the account may store (the directory's quota); 0: unlimited.
    pub quota: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong name or password, an inactive account, or one without a mailbox.
    Denied,
    /// Too many failures from this client or for this account: refused without a check.
    Throttled,
    /// The directory could not answer: a temporary failure, try again later.
    Unavailable(String),
}

/// Failures for one account (from any client) before its logins are refused for the
/// window: higher than the per-IP limit, so one attacker cannot lock a user out as fast
/// as he is locked out himself, yet a name guessed from many addresses is stopped.
const ACCOUNT_FACTOR: u32 = 4;

/// Checks `user`/`password` for `protocol` ("imap", "pop3") and opens the mailbox.
pub async fn login(ctx: &Services, peer: SocketAddr, protocol: &'static str, user: &str, password: &str) -> Result<Login, LoginError> {
    let ip = peer.ip();
    let limit = ctx.config.limits.auth_failures;
    let fails = &ctx.auth_failures;
    if fails.count(ip).await >= limit || fails.count_account(user).await >= limit.saturating_mul(ACCOUNT_FACTOR) {
        tracing::warn!(client = %ip, protocol, "login refused: too many authentication failures");
        return Err(LoginError::Throttled);
    }
    let unavailable = |e: crate::directory::Unavailable| {
        tracing::warn!(client = %ip, protocol, error = %e, "login lookup failed; answering with a temporary error");
        LoginError::Unavailable(e.to_string())
    };
    let ok = ctx.directory.authenticate(user, password).await.map_err(unavailable)?;
    let mailbox = if ok { ctx.directory.login_mailbox(user).await.map_err(unavailable)? } else { None };
    let dir = mailbox.as_ref().and_then(|m| m.dir(ctx.directory.mail_root()));
    let (Some(mailbox), Some(dir)) = (mailbox, dir) else {
        let failures = fails.record(ip).await.max(fails.record_account(user).await);
        crate::metrics::auth_failure();
        tracing::warn!(client = %ip, protocol, failures, "login failed");
        return Err(LoginError::Denied);
    };
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(|e| LoginError::Unavailable(e.to_string()))?
        .map_err(|e| {
            tracing::error!(client = %ip, protocol, account = %mailbox.address, error = %e, "cannot open the mailbox");
            LoginError::Unavailable(e.to_string())
        })?;
    fails.clear(ip).await;
    tracing::info!(client = %ip, protocol, account = %mailbox.address, "logged in");
    Ok(Login { account: mailbox.address, store, quota: mailbox.quota })
}

/// Whether a password may be sent on this connection: always over TLS; without TLS only
/// from loopback and only when `tls.plaintext_login_loopback` allows it.
pub fn plaintext_login_allowed(ctx: &Services, peer: SocketAddr, tls: bool) -> bool {
    tls || (ctx.config.tls.plaintext_login_loopback && peer.ip().is_loopback())
}
