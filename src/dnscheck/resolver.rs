//! The resolvers of `check dns`, both aimed at `delivery.resolver` so the check sees the
//! DNS that delivery sees: postern's `DnsResolver` for plain lookups and mail-auth's
//! `MessageAuthenticator` for SPF evaluation (the same verifier inbound checks use).
use crate::smtp_client::mx::DnsResolver;
use mail_auth::MessageAuthenticator;
use std::time::Duration;

/// Per query. A one-shot command can afford to wait a little for a slow server.
pub const TIMEOUT: Duration = Duration::from_secs(4);
pub const ATTEMPTS: usize = 2;

pub fn dns(spec: &str) -> Result<DnsResolver, String> {
    DnsResolver::with_timeouts(spec, TIMEOUT, ATTEMPTS).map_err(|e| e.to_string())
}

/// mail-auth's verifier on the same resolver settings the inbound checks use.
pub fn authenticator(spec: &str) -> Result<MessageAuthenticator, String> {
    crate::app::checks::resolver::authenticator(spec)
}
