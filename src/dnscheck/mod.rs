//! `postern check dns DOMAIN`: what receivers will see when this server sends mail from
//! DOMAIN, and exactly which records to publish: A/AAAA and PTR (forward-confirmed) of
//! `server.hostname` and the public IPs, the EHLO name, MX, SPF (evaluated per IP), DKIM
//! (each configured selector against the key on disk), DMARC, MTA-STS, TLS-RPT, DANE
//! (TLSA for the certificate in use), BIMI syntax, and the sending IPs in DNS blocklists;
//! then the MTA-STS, TLS-RPT and TLSA records to publish, each marked published or not.
//!
//! Owns: the checks and their verdicts (`Report`). Must not touch: the queue, config files,
//! keys and certificates (read only); it never connects anywhere but the resolver and the
//! MTA-STS policy host.
mod bimi;
mod dkim;
mod dkim_key;
mod dmarc;
mod dnsbl;
mod host;
mod mx;
mod report;
mod resolver;
mod spf;
mod sts;
mod tlsa;
mod zone;

pub use report::{Finding, Publish, Published, Report, Status};

use crate::config::Config;
use crate::smtp_client::mta_sts::StsFetcher;
use crate::smtp_client::mx::{DnsResolver, MxError};
use mail_auth::MessageAuthenticator;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// MTA-STS policy fetch, per attempt.
const STS_TIMEOUT: Duration = Duration::from_secs(10);

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The mail domain (the part after @ in the From addresses this server sends).
    pub domain: String,
    /// Public addresses mail leaves from (`--ip`); empty: `server.public_ips`, then the
    /// A/AAAA records of `server.hostname`.
    pub ips: Vec<IpAddr>,
}

/// The check could not start (bad input or configuration); DNS problems are findings.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("invalid domain {domain:?}: {reason}")]
    Domain { domain: String, reason: &'static str },
    #[error("delivery.resolver: {0}")]
    Resolver(String),
    #[error("delivery.tls_ca_file: {0}")]
    Tls(#[from] crate::smtp_client::tls::TlsConfigError),
}

/// What every check needs.
struct Ctx<'a> {
    cfg: &'a Config,
    /// Lowercase A-label form, no trailing dot.
    domain: String,
    /// `server.hostname`, lowercase, no trailing dot.
    hostname: String,
    dns: DnsResolver,
    auth: MessageAuthenticator,
    sts: StsFetcher,
}

/// Runs every check for `opts.domain` with the resolver of `delivery.resolver`.
pub async fn check(cfg: &Config, opts: &Options) -> Result<Report, CheckError> {
    // The keys the daemon signs with: the file's `[[dkim]]` and those the web UI made.
    let cfg = &Config { dkim: crate::dkim::managed::effective(cfg), ..cfg.clone() };
    let ctx = context(cfg, &opts.domain)?;
    let mut out = Vec::new();
    // One probe first: with a dead resolver every lookup below would wait out its timeout.
    if let Err(e @ MxError::TempFail { .. }) = ctx.dns.lookup_txt(&ctx.domain).await {
        let text = format!("cannot query DNS for {} through {}: {e}", ctx.domain, cfg.delivery.resolver);
        let fix = "check delivery.resolver; if it answers for other names, the domain's name servers are failing";
        out.push(Finding::new(Status::Fail, "DNS", text).fix(fix));
        return Ok(Report { domain: ctx.domain, hostname: ctx.hostname, findings: out, publish: Vec::new() });
    }
    let ips = host::check(&ctx, &opts.ips, &mut out).await;
    spf::helo(&ctx, &ips, &mut out).await;
    let mx_hosts = mx::check(&ctx, &ips, &mut out).await;
    let spf_pass = spf::check(&ctx, &ips, &mut out).await;
    let dkim_pass = dkim::check(&ctx, &mut out).await;
    let dmarc_policy = dmarc::check(&ctx, spf_pass, dkim_pass, &mut out).await;
    let mut publish = Vec::new();
    let sts_published = sts::mta_sts(&ctx, &mx_hosts, &mut out, &mut publish).await;
    sts::tls_rpt(&ctx, sts_published, &mut out, &mut publish).await;
    let ours = own_mx_hosts(&ctx, &mx_hosts, &ips).await;
    tlsa::check(&ctx, &ours, &mut out, &mut publish).await;
    bimi::check(&ctx, dmarc_policy.as_ref(), &mut out).await;
    dnsbl::check(&ctx, &ips, &mut out).await;
    Ok(Report { domain: ctx.domain, hostname: ctx.hostname, findings: out, publish })
}

/// The MX hosts this server answers for (its own name, or a name resolving to one of its
/// IPs): the TLSA records pin its certificate there. None of them: `server.hostname`.
async fn own_mx_hosts(ctx: &Ctx<'_>, mx_hosts: &[String], ips: &[IpAddr]) -> Vec<String> {
    let mut ours = Vec::new();
    for host in mx_hosts {
        let mine = host.eq_ignore_ascii_case(&ctx.hostname)
            || ctx.dns.lookup_ip(host).await.is_ok_and(|addrs| addrs.iter().any(|a| ips.contains(a)));
        if mine && is_hostname(host) {
            ours.push(host.to_ascii_lowercase());
        }
    }
    if ours.is_empty() {
        ours.push(ctx.hostname.clone());
    }
    ours
}

fn context<'a>(cfg: &'a Config, domain: &str) -> Result<Ctx<'a>, CheckError> {
    let domain = normalize_domain(domain)?;
    let hostname = cfg.server.hostname.trim().trim_end_matches('.').to_ascii_lowercase();
    let spec = &cfg.delivery.resolver;
    let dns = resolver::dns(spec).map_err(CheckError::Resolver)?;
    let auth = resolver::authenticator(spec).map_err(CheckError::Resolver)?;
    let ca: Vec<_> = cfg.delivery.tls_ca_file.iter().cloned().collect();
    let tls = Arc::new(crate::smtp_client::tls::verified_config(&ca)?);
    let sts = StsFetcher::new(dns.clone(), tls).with_port(cfg.delivery.mta_sts_port).with_timeout(STS_TIMEOUT);
    Ok(Ctx { cfg, domain, hostname, dns, auth, sts })
}

/// Lowercase ASCII (IDNA) form without a trailing dot; at least two labels.
fn normalize_domain(domain: &str) -> Result<String, CheckError> {
    let bad = |reason| CheckError::Domain { domain: domain.to_string(), reason };
    let trimmed = domain.trim().trim_end_matches('.');
    let ascii = crate::proto::smtp::address::ascii_domain(trimmed).ok_or_else(|| bad("not a valid domain name"))?;
    if !is_hostname(&ascii) {
        return Err(bad("expected a domain name such as example.com"));
    }
    Ok(ascii.to_ascii_lowercase())
}

/// A fully qualified host name: two or more LDH labels (underscore allowed for `_dmarc` style
/// names is deliberately not), not an address.
fn is_hostname(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && name.parse::<IpAddr>().is_err()
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_host_names() {
        assert_eq!(normalize_domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(normalize_domain("bücher.example").unwrap(), "xn--bcher-kva.example");
        assert!(normalize_domain("localhost").is_err());
        assert!(normalize_domain("192.0.2.1").is_err());
        assert!(normalize_domain("a..b").is_err());
        assert!(is_hostname("mail.example.com"));
        assert!(!is_hostname("mail"));
        assert!(!is_hostname("-x.example.com"));
        assert!(!is_hostname("1.2.3.4"));
    }
}

/// The TXT record that publishes the key of one `[[dkim]]` entry (or a key the web UI
/// made), read from the key file.
pub fn dkim_record(cfg: &crate::dkim::DkimKeyConfig) -> Result<crate::dkim::GeneratedKey, String> {
    let domain = cfg.domain.trim().trim_end_matches('.').to_ascii_lowercase();
    Ok(dkim_key::load(cfg)?.record(cfg, &domain))
}
