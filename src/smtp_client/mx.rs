//! DNS for delivery: MX resolution (RFC 5321 §5.1, null MX RFC 7505) and thin A/AAAA, TXT,
//! PTR helpers over one hickory `TokioResolver` (with its cache).
//!
//! Owns: turning a recipient domain into an ordered list of MX hosts with addresses, and the
//! classification of DNS failures into permanent/temporary delivery errors with their
//! enhanced status codes. Must not touch: SMTP, the queue, scheduling decisions.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolverConfig,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use rand::seq::SliceRandom;

/// Per-query timeout and attempts used by `DnsResolver::new`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_ATTEMPTS: usize = 2;

/// One mail exchanger with the addresses it resolved to (A before AAAA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// Host name without the trailing dot, or the address literal as written (`[127.0.0.2]`).
    pub name: String,
    pub preference: u16,
    pub addrs: Vec<IpAddr>,
}

/// The resolver spec could not be turned into a resolver.
#[derive(Debug, thiserror::Error)]
pub enum DnsConfigError {
    #[error("invalid resolver {spec:?}: expected \"system\" or \"ip:port\"")]
    BadSpec { spec: String },
    #[error("cannot read the system resolver configuration: {0}")]
    System(String),
    #[error("cannot build the resolver: {0}")]
    Build(String),
}

/// Why a domain (or name) could not be resolved for delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MxError {
    /// RFC 7505: the domain publishes a single `MX 0 .`: it accepts no mail.
    #[error("Domain {domain} does not accept mail (nullMX)")]
    NullMx { domain: String },
    /// NXDOMAIN for the domain itself.
    #[error(
        "Host or domain name not found. Name service error for name={domain} type={rtype}: Host not found"
    )]
    NotFound { domain: String, rtype: &'static str },
    /// The domain exists but has neither MX nor A/AAAA records.
    #[error(
        "Host or domain name not found. Name service error for name={domain} type=A: Host found but no data record of requested type"
    )]
    NoAddress { domain: String },
    /// Not a syntactically valid domain name or address literal.
    #[error("Invalid domain name or address literal {domain:?}")]
    InvalidName { domain: String },
    /// SERVFAIL, REFUSED, timeout, no server reachable: try again later.
    #[error(
        "Host or domain name not found. Name service error for name={domain} type={rtype}: {reason}, try again"
    )]
    TempFail {
        domain: String,
        rtype: &'static str,
        reason: String,
    },
    /// MX records exist but none of the hosts has a usable address right now.
    #[error("No MX host for {domain} has an address: {reason}")]
    NoReachableMx { domain: String, reason: String },
}

impl MxError {
    pub fn is_permanent(&self) -> bool {
        match self {
            MxError::NullMx { .. }
            | MxError::NotFound { .. }
            | MxError::NoAddress { .. }
            | MxError::InvalidName { .. } => true,
            MxError::TempFail { .. } | MxError::NoReachableMx { .. } => false,
        }
    }

    /// Enhanced status code for a DSN (RFC 3463, RFC 7505 §4.2 for null MX).
    pub fn status(&self) -> (u8, u16, u16) {
        match self {
            MxError::NullMx { .. } => (5, 1, 10),
            MxError::NotFound { .. } | MxError::InvalidName { .. } => (5, 1, 2),
            MxError::NoAddress { .. } => (5, 4, 4),
            MxError::TempFail { .. } | MxError::NoReachableMx { .. } => (4, 4, 3),
        }
    }

    /// Human text for logs and the DSN diagnostic.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

/// How a failed lookup is classified before it becomes an `MxError`.
enum LookupFailure {
    /// NOERROR with no records of that type.
    NoData,
    NxDomain,
    Temporary(String),
}

fn classify(err: &NetError) -> LookupFailure {
    if err.is_nx_domain() {
        LookupFailure::NxDomain
    } else if err.is_no_records_found() {
        LookupFailure::NoData
    } else {
        LookupFailure::Temporary(err.to_string())
    }
}

/// A shared DNS resolver; cheap to clone (hickory's resolver is an `Arc` inside).
#[derive(Clone)]
pub struct DnsResolver {
    inner: TokioResolver,
}

impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolver").finish_non_exhaustive()
    }
}

impl DnsResolver {
    /// `spec` is `"system"` (resolv.conf) or `"ip:port"` (UDP and TCP to that server),
    /// with 5 s per query and 2 attempts.
    pub fn new(spec: &str) -> Result<Self, DnsConfigError> {
        Self::with_timeouts(spec, DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS)
    }

    /// Like `new` with an explicit per-query timeout and attempt count (tests shrink them).
    pub fn with_timeouts(
        spec: &str,
        timeout: Duration,
        attempts: usize,
    ) -> Result<Self, DnsConfigError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if spec.trim().eq_ignore_ascii_case("system") {
            TokioResolver::builder(provider).map_err(|e| DnsConfigError::System(e.to_string()))?
        } else {
            let addr: SocketAddr = spec.trim().parse().map_err(|_| DnsConfigError::BadSpec {
                spec: spec.to_string(),
            })?;
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                provider,
            )
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = attempts;
        // Mail goes to whatever answers first; A before AAAA suits IPv4-only hosts.
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        // Names we query are absolute: no search-list expansion.
        opts.ndots = 0;
        let inner = builder
            .build()
            .map_err(|e| DnsConfigError::Build(e.to_string()))?;
        Ok(DnsResolver { inner })
    }

    /// MX hosts for `domain`, best first; hosts of equal preference are shuffled.
    pub async fn resolve_mx(&self, domain: &str) -> Result<Vec<MxHost>, MxError> {
        if let Some(literal) = address_literal(domain)? {
            return Ok(vec![MxHost {
                name: domain.to_string(),
                preference: 0,
                addrs: vec![literal],
            }]);
        }
        let name = absolute_name(domain)?;
        let records = match self.inner.mx_lookup(name.clone()).await {
            Ok(lookup) => mx_records(lookup.answers()),
            Err(e) => match classify(&e) {
                LookupFailure::NoData => Vec::new(),
                LookupFailure::NxDomain => {
                    return Err(MxError::NotFound {
                        domain: domain.to_string(),
                        rtype: "MX",
                    });
                }
                LookupFailure::Temporary(reason) => {
                    return Err(MxError::TempFail {
                        domain: domain.to_string(),
                        rtype: "MX",
                        reason,
                    });
                }
            },
        };
        if records.is_empty() {
            return self.implicit_mx(domain, name).await;
        }
        if records.iter().any(|(_, exchange)| exchange.is_root()) {
            // RFC 7505 §3: a null MX is the only MX; treat any "." target as "no mail".
            return Err(MxError::NullMx {
                domain: domain.to_string(),
            });
        }
        self.resolve_hosts(domain, records).await
    }

    /// RFC 5321 §5.1: without MX records the domain itself is the implicit MX (preference 0).
    async fn implicit_mx(&self, domain: &str, name: Name) -> Result<Vec<MxHost>, MxError> {
        match self.inner.lookup_ip(name).await {
            Ok(ips) => {
                let addrs: Vec<IpAddr> = ips.iter().collect();
                if addrs.is_empty() {
                    return Err(MxError::NoAddress {
                        domain: domain.to_string(),
                    });
                }
                Ok(vec![MxHost {
                    name: trim_dot(domain),
                    preference: 0,
                    addrs,
                }])
            }
            Err(e) => Err(match classify(&e) {
                LookupFailure::NoData => MxError::NoAddress {
                    domain: domain.to_string(),
                },
                LookupFailure::NxDomain => MxError::NotFound {
                    domain: domain.to_string(),
                    rtype: "A",
                },
                LookupFailure::Temporary(reason) => MxError::TempFail {
                    domain: domain.to_string(),
                    rtype: "A",
                    reason,
                },
            }),
        }
    }

    /// Address lookup per MX host; hosts that do not resolve are skipped.
    async fn resolve_hosts(
        &self,
        domain: &str,
        mut records: Vec<(u16, Name)>,
    ) -> Result<Vec<MxHost>, MxError> {
        records.sort_by_key(|(pref, _)| *pref);
        shuffle_equal_preference(&mut records);
        let mut hosts = Vec::with_capacity(records.len());
        let mut last_error = String::new();
        for (preference, exchange) in records {
            let host = trim_dot(&exchange.to_ascii());
            if hosts
                .iter()
                .any(|h: &MxHost| h.name.eq_ignore_ascii_case(&host))
            {
                continue;
            }
            match self.inner.lookup_ip(exchange).await {
                Ok(ips) => {
                    let addrs: Vec<IpAddr> = ips.iter().collect();
                    if addrs.is_empty() {
                        last_error = format!("{host}: no address records");
                    } else {
                        hosts.push(MxHost {
                            name: host,
                            preference,
                            addrs,
                        });
                    }
                }
                Err(e) => {
                    tracing::debug!(mx = %host, error = %e, "MX host address lookup failed");
                    last_error = format!("{host}: {e}");
                }
            }
        }
        if hosts.is_empty() {
            return Err(MxError::NoReachableMx {
                domain: domain.to_string(),
                reason: last_error,
            });
        }
        Ok(hosts)
    }

    /// A and AAAA records of `host` (A first). NODATA gives an empty list.
    pub async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, MxError> {
        let name = absolute_name(host)?;
        match self.inner.lookup_ip(name).await {
            Ok(ips) => Ok(ips.iter().collect()),
            Err(e) => lookup_error(host, "A", &e).map(|()| Vec::new()),
        }
    }

    /// TXT records of `name`, each record's strings concatenated (as SPF/DKIM/MTA-STS want).
    pub async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, MxError> {
        let fqdn = absolute_name(name)?;
        match self.inner.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::TXT(txt) => {
                        let bytes: Vec<u8> = txt
                            .txt_data
                            .iter()
                            .flat_map(|s| s.iter().copied())
                            .collect();
                        Some(String::from_utf8_lossy(&bytes).into_owned())
                    }
                    _ => None,
                })
                .collect()),
            Err(e) => lookup_error(name, "TXT", &e).map(|()| Vec::new()),
        }
    }

    /// The records of one type at `name` (TLSA, or A alone as DNS blocklists answer).
    /// NODATA gives an empty list; NXDOMAIN is `NotFound`.
    pub async fn lookup_rdata(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, MxError> {
        let fqdn = absolute_name(name)?;
        match self.inner.lookup(fqdn, rtype).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|rec| rec.data.record_type() == rtype)
                .map(|rec| rec.data.clone())
                .collect()),
            Err(e) => lookup_error(name, rtype.into(), &e).map(|()| Vec::new()),
        }
    }

    /// PTR names of `ip`, without trailing dots.
    pub async fn lookup_ptr(&self, ip: IpAddr) -> Result<Vec<String>, MxError> {
        match self.inner.reverse_lookup(Name::from(ip)).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::PTR(ptr) => Some(trim_dot(&ptr.0.to_ascii())),
                    _ => None,
                })
                .collect()),
            Err(e) => lookup_error(&ip.to_string(), "PTR", &e).map(|()| Vec::new()),
        }
    }
}

/// NODATA is `Ok(())` (an empty answer); NXDOMAIN and temporary failures are errors.
fn lookup_error(name: &str, rtype: &'static str, err: &NetError) -> Result<(), MxError> {
    match classify(err) {
        LookupFailure::NoData => Ok(()),
        LookupFailure::NxDomain => Err(MxError::NotFound {
            domain: name.to_string(),
            rtype,
        }),
        LookupFailure::Temporary(reason) => Err(MxError::TempFail {
            domain: name.to_string(),
            rtype,
            reason,
        }),
    }
}

fn mx_records(answers: &[hickory_resolver::proto::rr::Record]) -> Vec<(u16, Name)> {
    answers
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
            _ => None,
        })
        .collect()
}

/// Shuffle each run of equal preference in a list already sorted by preference.
fn shuffle_equal_preference(records: &mut [(u16, Name)]) {
    let mut rng = rand::thread_rng();
    let mut start = 0;
    while start < records.len() {
        let pref = records[start].0;
        let end = start
            + records[start..]
                .iter()
                .take_while(|(p, _)| *p == pref)
                .count();
        records[start..end].shuffle(&mut rng);
        start = end;
    }
}

/// `[192.0.2.1]` / `[IPv6:2001:db8::1]` -> the address; `Ok(None)` for a domain name.
fn address_literal(domain: &str) -> Result<Option<IpAddr>, MxError> {
    let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) else {
        return Ok(None);
    };
    let invalid = || MxError::InvalidName {
        domain: domain.to_string(),
    };
    let prefix = inner.get(..5).unwrap_or("");
    if prefix.eq_ignore_ascii_case("ipv6:") {
        let v6: Ipv6Addr = inner[5..].parse().map_err(|_| invalid())?;
        return Ok(Some(IpAddr::V6(v6)));
    }
    let v4: Ipv4Addr = inner.parse().map_err(|_| invalid())?;
    Ok(Some(IpAddr::V4(v4)))
}

/// IDNA-encode and make absolute, so no search domain is ever appended.
fn absolute_name(domain: &str) -> Result<Name, MxError> {
    let invalid = || MxError::InvalidName {
        domain: domain.to_string(),
    };
    let trimmed = domain.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(invalid());
    }
    let ascii = crate::proto::smtp::address::ascii_domain(trimmed).ok_or_else(invalid)?;
    Name::from_ascii(format!("{ascii}.")).map_err(|_| invalid())
}

fn trim_dot(name: &str) -> String {
    name.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_literals() {
        assert_eq!(
            address_literal("[127.0.0.2]").unwrap(),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(
            address_literal("[IPv6:::1]").unwrap(),
            Some("::1".parse().unwrap())
        );
        assert_eq!(address_literal("example.com").unwrap(), None);
        assert!(address_literal("[300.1.1.1]").is_err());
        assert!(
            address_literal("[::1]").is_err(),
            "IPv6 literals need the IPv6: tag"
        );
    }

    #[test]
    fn equal_preferences_stay_grouped() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        for _ in 0..20 {
            let mut v = vec![
                (10, n("a.")),
                (10, n("b.")),
                (20, n("c.")),
                (20, n("d.")),
                (30, n("e.")),
            ];
            shuffle_equal_preference(&mut v);
            let prefs: Vec<u16> = v.iter().map(|(p, _)| *p).collect();
            assert_eq!(prefs, [10, 10, 20, 20, 30]);
            assert_eq!(v[4].1, n("e."));
        }
    }

    #[test]
    fn status_codes() {
        let d = || "x.test".to_string();
        assert_eq!(MxError::NullMx { domain: d() }.status(), (5, 1, 10));
        assert_eq!(
            MxError::NotFound {
                domain: d(),
                rtype: "MX"
            }
            .status(),
            (5, 1, 2)
        );
        let t = MxError::TempFail {
            domain: d(),
            rtype: "MX",
            reason: "timeout".into(),
        };
        assert_eq!(t.status(), (4, 4, 3));
        assert!(!t.is_permanent());
    }
}
