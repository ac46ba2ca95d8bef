//! MTA-STS (RFC 8461): policy discovery (`_mta-sts` TXT), the HTTPS policy fetch, the
//! policy text parser and MX-pattern matching.
//!
//! Owns: turning a recipient domain into an `StsPolicy` (or "none published"). Must not
//! touch: caching across attempts and enforcement (the scheduler keeps policies for
//! `max_age` and, in `enforce` mode, only delivers to matching MX hosts with `verify` TLS).
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::mx::{DnsResolver, MxError, MxHost};
use super::tls::server_name;

/// RFC 8461 §3.3: policy bodies are small; refuse anything larger.
const MAX_POLICY_BYTES: usize = 64 * 1024;
/// RFC 8461 §3.2: max_age is at most one year.
const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Path of the policy on `mta-sts.<domain>`.
pub use crate::proto::mta_sts::POLICY_PATH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsMode {
    /// Deliver only to matching MX hosts over verified TLS.
    Enforce,
    /// Report failures but deliver anyway.
    Testing,
    /// The domain withdrew its policy.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsPolicy {
    /// The `id=` of the TXT record the policy was fetched for.
    pub id: String,
    pub mode: StsMode,
    /// MX patterns: `mail.example.com` or `*.example.com`, lower-case.
    pub mx: Vec<String>,
    /// Seconds the policy may be cached.
    pub max_age: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsError {
    #[error("MTA-STS TXT lookup failed: {0}")]
    Dns(MxError),
    #[error("MTA-STS policy fetch from {host} failed: {reason}")]
    Fetch { host: String, reason: String },
    #[error("MTA-STS policy of {domain} is invalid: {reason}")]
    Policy { domain: String, reason: String },
}

impl StsPolicy {
    /// RFC 8461 §4.1: exact match, or `*.` matching exactly one leftmost label.
    pub fn matches(&self, mx_host: &str) -> bool {
        let host = mx_host.trim_end_matches('.').to_ascii_lowercase();
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(parent) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
                None => *pattern == host,
            })
    }

    /// The policy as its text lines (RFC 8460 §4.4 policy-string).
    pub fn lines(&self) -> Vec<String> {
        let mode = match self.mode {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        };
        let mut lines = vec!["version: STSv1".to_string(), format!("mode: {mode}")];
        lines.extend(self.mx.iter().map(|m| format!("mx: {m}")));
        lines.push(format!("max_age: {}", self.max_age));
        lines
    }

    /// The MX hosts delivery may use under this policy (all of them unless `enforce`).
    pub fn allowed_hosts(&self, hosts: Vec<MxHost>) -> Vec<MxHost> {
        if self.mode != StsMode::Enforce {
            return hosts;
        }
        hosts
            .into_iter()
            .filter(|h| self.matches(&h.name))
            .collect()
    }
}

/// The `id` of the single `v=STSv1` record among `records`; `None` means "no MTA-STS"
/// (RFC 8461 §3.1: zero or several such records, or a malformed one).
pub fn parse_txt(records: &[String]) -> Option<String> {
    let mut sts = records.iter().filter(|r| {
        let r = r.trim_start();
        r.starts_with("v=STSv1;") || r == "v=STSv1"
    });
    let record = sts.next()?;
    if sts.next().is_some() {
        return None;
    }
    let id = record
        .split(';')
        .map(str::trim)
        .find_map(|f| f.strip_prefix("id="))?;
    let valid = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| id.to_string())
}

/// Parses a policy body (RFC 8461 §3.2); `id` comes from the TXT record.
pub fn parse_policy(domain: &str, id: &str, text: &str) -> Result<StsPolicy, StsError> {
    let bad = |reason: String| StsError::Policy {
        domain: domain.to_string(),
        reason,
    };
    let (mut version, mut mode, mut max_age, mut mx) = (None, None, None, Vec::new());
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(bad(format!("line without ':': {line:?}")));
        };
        let value = value.trim();
        match key.trim() {
            "version" => version = Some(value.to_string()),
            "mode" => {
                mode = Some(match value {
                    "enforce" => StsMode::Enforce,
                    "testing" => StsMode::Testing,
                    "none" => StsMode::None,
                    other => return Err(bad(format!("unknown mode {other:?}"))),
                })
            }
            "max_age" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| bad(format!("bad max_age {value:?}")))?;
                max_age = Some(n.min(MAX_AGE_LIMIT));
            }
            "mx" => mx.push(value.trim_end_matches('.').to_ascii_lowercase()),
            _ => {} // §3.2: unknown fields are ignored.
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err(bad("missing or unsupported version".into()));
    }
    let mode = mode.ok_or_else(|| bad("missing mode".into()))?;
    let max_age = max_age.ok_or_else(|| bad("missing max_age".into()))?;
    if mx.is_empty() && mode != StsMode::None {
        return Err(bad("no mx patterns".into()));
    }
    Ok(StsPolicy {
        id: id.to_string(),
        mode,
        mx,
        max_age,
    })
}

/// Discovers and fetches policies. The HTTPS port is 443 by the RFC; tests use another.
#[derive(Debug, Clone)]
pub struct StsFetcher {
    resolver: DnsResolver,
    /// Must verify certificates (RFC 8461 §3.3): use `OutboundTls::config(TlsPolicy::Verify)`.
    tls: Arc<rustls::ClientConfig>,
    port: u16,
    timeout: Duration,
}

impl StsFetcher {
    pub fn new(resolver: DnsResolver, tls: Arc<rustls::ClientConfig>) -> StsFetcher {
        StsFetcher {
            resolver,
            tls,
            port: 443,
            timeout: Duration::from_secs(10),
        }
    }

    /// Fetch from another port than 443 (for a test server).
    pub fn with_port(mut self, port: u16) -> StsFetcher {
        self.port = port;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> StsFetcher {
        self.timeout = timeout;
        self
    }

    /// The TXT record's id, or `None` when the domain publishes no MTA-STS record.
    pub async fn policy_id(&self, domain: &str) -> Result<Option<String>, StsError> {
        match self
            .resolver
            .lookup_txt(&format!("_mta-sts.{domain}"))
            .await
        {
            Ok(records) => Ok(parse_txt(&records)),
            Err(e) if e.is_permanent() => Ok(None),
            Err(e) => Err(StsError::Dns(e)),
        }
    }

    /// TXT lookup then HTTPS fetch; `Ok(None)` when no policy is published.
    pub async fn discover(&self, domain: &str) -> Result<Option<StsPolicy>, StsError> {
        let Some(id) = self.policy_id(domain).await? else {
            return Ok(None);
        };
        let text = self.fetch(domain).await?;
        parse_policy(domain, &id, &text).map(Some)
    }

    /// GET `https://mta-sts.<domain>/.well-known/mta-sts.txt` (no redirects, 200 only).
    pub async fn fetch(&self, domain: &str) -> Result<String, StsError> {
        let host = format!("mta-sts.{}", domain.trim_end_matches('.'));
        let fail = |reason: String| StsError::Fetch {
            host: host.clone(),
            reason,
        };
        let ips = self
            .resolver
            .lookup_ip(&host)
            .await
            .map_err(|e| fail(e.text()))?;
        let ip = *ips.first().ok_or_else(|| fail("no address".into()))?;
        let addr = SocketAddr::new(ip, self.port);
        match tokio::time::timeout(self.timeout, self.get(&host, addr)).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(format!("timed out after {:?}", self.timeout))),
        }
    }

    async fn get(&self, host: &str, addr: SocketAddr) -> Result<String, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(server_name(host)?, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        tokio::spawn(conn);
        let request = hyper::Request::get(POLICY_PATH)
            .header(hyper::header::HOST, host)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(format!("HTTP status {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_POLICY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|_| "policy is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_record_rules() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_txt(&s(&["v=STSv1; id=20160831085700Z;"])),
            Some("20160831085700Z".into())
        );
        assert_eq!(
            parse_txt(&s(&["v=spf1 -all", "v=STSv1;id=abc"])),
            Some("abc".into())
        );
        assert_eq!(
            parse_txt(&s(&["v=STSv1; id=a", "v=STSv1; id=b"])),
            None,
            "two records"
        );
        assert_eq!(parse_txt(&s(&["v=STSv1; id=not-alnum!"])), None);
        assert_eq!(parse_txt(&s(&["v=STSv1;"])), None, "id is required");
        assert_eq!(parse_txt(&s(&["v=STSv10; id=x"])), None);
    }

    #[test]
    fn policy_text_and_matching() {
        let text = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
                    mx: *.Example.net.\r\nmax_age: 99999999\r\nextension: ignored\r\n";
        let p = parse_policy("example.com", "id1", text).unwrap();
        assert_eq!(p.mode, StsMode::Enforce);
        assert_eq!(p.max_age, MAX_AGE_LIMIT);
        assert!(p.matches("mail.example.com."));
        assert!(p.matches("MX1.example.net"));
        assert!(
            !p.matches("a.b.example.net"),
            "wildcard covers one label only"
        );
        assert!(!p.matches("example.net"));
        assert!(!p.matches("evil-mail.example.com"));
    }

    #[test]
    fn invalid_policies() {
        let missing_mx = "version: STSv1\nmode: enforce\nmax_age: 10\n";
        assert!(parse_policy("d", "i", missing_mx).is_err());
        let none_mode = "version: STSv1\nmode: none\nmax_age: 10\n";
        assert_eq!(
            parse_policy("d", "i", none_mode).unwrap().mode,
            StsMode::None
        );
        assert!(
            parse_policy(
                "d",
                "i",
                "version: STSv2\nmode: testing\nmx: a\nmax_age: 1\n"
            )
            .is_err()
        );
        assert!(
            parse_policy(
                "d",
                "i",
                "version: STSv1\nmode: sometimes\nmx: a\nmax_age: 1\n"
            )
            .is_err()
        );
    }
}
