//! The resolvers of `check dns`, both aimed at `delivery.resolver` so the check sees the
//! DNS that delivery sees: postern's `DnsResolver` for plain lookups and mail-auth's
//! `MessageAuthenticator` for SPF evaluation (the same verifier inbound checks use).
use crate::outbound::mx::DnsResolver;
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use std::net::SocketAddr;
use std::time::Duration;

/// Per query. A one-shot command can afford to wait a little for a slow server.
pub const TIMEOUT: Duration = Duration::from_secs(4);
pub const ATTEMPTS: usize = 2;

pub fn dns(spec: &str) -> Result<DnsResolver, String> {
    DnsResolver::with_timeouts(spec, TIMEOUT, ATTEMPTS).map_err(|e| e.to_string())
}

/// `spec` is "system" (resolv.conf) or "ip:port" (UDP, TCP on truncation).
pub fn authenticator(spec: &str) -> Result<MessageAuthenticator, String> {
    if spec.trim().eq_ignore_ascii_case("system") {
        return MessageAuthenticator::new_system_conf()
            .map_err(|e| format!("cannot read the system resolver configuration: {e}"));
    }
    let addr: SocketAddr = spec.trim().parse().map_err(|_| format!("{spec:?} is neither \"system\" nor ip:port"))?;
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
    let mut opts = ResolverOpts::default();
    opts.timeout = TIMEOUT;
    opts.attempts = ATTEMPTS;
    // mail-auth asks for absolute names; never expand them with a search list.
    opts.ndots = 0;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![ns]), opts)
        .map_err(|e| format!("cannot build the resolver: {e}"))
}
