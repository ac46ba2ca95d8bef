//! The DNS resolver behind the checks: one hickory `TokioResolver` (with its answer cache)
//! wrapped in mail-auth's `MessageAuthenticator`, built once at start-up.
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::TokioResolver;
use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use mail_auth::hickory_resolver::net::runtime::TokioRuntimeProvider;
use std::net::SocketAddr;
use std::time::Duration;

/// Per query; `inbound.timeout` bounds the whole message on top of this.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: usize = 2;
/// Answers cached across messages (hickory's LRU cache, entries live for their TTL).
const CACHE_ENTRIES: u64 = 8192;
/// A name that did not exist may be published any minute (new DKIM selector, new SPF).
const NEGATIVE_TTL_CAP: Duration = Duration::from_secs(300);

/// `spec` is "system" (resolv.conf) or "ip:port" (UDP, TCP on truncation, to that server).
pub fn authenticator(spec: &str) -> Result<MessageAuthenticator, String> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = if spec.trim().eq_ignore_ascii_case("system") {
        TokioResolver::builder(provider).map_err(|e| format!("cannot read the system resolver configuration: {e}"))?
    } else {
        let addr: SocketAddr =
            spec.trim().parse().map_err(|_| format!("{spec:?} is neither \"system\" nor ip:port"))?;
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        TokioResolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), provider)
    };
    let opts = builder.options_mut();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = ATTEMPTS;
    opts.cache_size = CACHE_ENTRIES;
    opts.negative_max_ttl = Some(NEGATIVE_TTL_CAP);
    // mail-auth asks for absolute names; never expand them with a search list.
    opts.ndots = 0;
    let resolver = builder.build().map_err(|e| format!("cannot build the resolver: {e}"))?;
    Ok(MessageAuthenticator(resolver))
}
