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

/// Checks `user`/`password` for `protocol` ("imap", "pop3") and opens the mailbox.
pub async fn login(ctx: &Services, peer: SocketAddr, protocol: &'static str, user: &str, password: &str) -> Result<Login, LoginError> {
    let _ = (ctx, peer, protocol, user, password);
    todo!("access")
}

/// Whether a password may be sent on this connection: always over TLS; without TLS only
/// when the configuration allows plaintext logins from loopback clients.
pub fn plaintext_login_allowed(ctx: &Services, peer: SocketAddr, tls: bool) -> bool {
    let _ = (ctx, peer);
    tls
}
