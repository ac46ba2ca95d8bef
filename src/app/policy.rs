//! Relay policy: who may send mail to which recipients, and as which senders.
//!
//! A recipient in a local domain is accepted from anyone; any other recipient only from a
//! client that may relay (authenticated, or in `relay.trusted_networks`). Addresses that
//! hide another destination — `user%other@local`, `a!b@local`, `"u@other"@local`, source
//! routes `@a,@b:u@c` — are judged by where they would really go.
use crate::config::Config;
use crate::proto::smtp::{Address, ForwardPath, Reply, ReversePath};
use std::net::IpAddr;

/// May this client relay to non-local domains without authenticating?
pub fn is_trusted(cfg: &Config, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    cfg.relay.trusted_networks.iter().any(|n| n.contains(&ip))
}

/// Every domain a recipient would be routed to, final domain first.
fn destinations(rcpt: &ForwardPath) -> Vec<String> {
    let a = &rcpt.address;
    let mut out = vec![a.domain_ascii()];
    // An empty hidden domain (`"u@"@local`) is no destination of ours.
    out.extend(a.routing_domain().map(|d| if d.is_empty() { "(invalid)".into() } else { crate::proto::smtp::address::normalize_domain(&d) }));
    out.extend(rcpt.source_route.iter().map(|d| crate::proto::smtp::address::normalize_domain(d)));
    out
}

fn is_local(cfg: &Config, domain: &str) -> bool {
    // The bare `<postmaster>` recipient has no domain and is always ours (RFC 5321 §4.5.1).
    let domain = domain.trim_end_matches('.');
    domain.is_empty() || cfg.is_local_domain(domain) || cfg.is_relay_domain(domain)
}

/// Checks one RCPT TO.
pub fn check_recipient(cfg: &Config, rcpt: &ForwardPath, may_relay: bool) -> Result<(), Reply> {
    if may_relay || destinations(rcpt).iter().all(|d| is_local(cfg, d)) {
        Ok(())
    } else {
        Err(Reply::relay_denied(&rcpt.address))
    }
}

/// Checks MAIL FROM of a relaying client against `relay.allowed_sender_domains`.
pub fn check_sender(cfg: &Config, from: &ReversePath, may_relay: bool) -> Result<(), Reply> {
    let allowed = &cfg.relay.allowed_sender_domains;
    match from {
        ReversePath::Path(a) if may_relay && !allowed.is_empty() && !domain_in(a, allowed) => {
            Err(Reply::sender_not_allowed())
        }
        _ => Ok(()),
    }
}

fn domain_in(a: &Address, list: &[String]) -> bool {
    let d = a.domain_ascii();
    list.iter().any(|x| x.eq_ignore_ascii_case(&d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::smtp::address::{parse_forward_path, parse_reverse_path};

    fn cfg() -> Config {
        let mut c = Config::default();
        c.relay.local_domains = vec!["example.com".into(), "xn--bcher-kva.example".into()];
        c
    }

    fn rcpt(s: &str) -> ForwardPath {
        parse_forward_path(s, true).unwrap()
    }

    #[test]
    fn local_accepted_remote_denied_unless_relay_allowed() {
        let c = cfg();
        assert!(check_recipient(&c, &rcpt("<u@example.com>"), false).is_ok());
        assert!(check_recipient(&c, &rcpt("<u@EXAMPLE.com>"), false).is_ok());
        assert!(check_recipient(&c, &rcpt("<u@bücher.example>"), false).is_ok());
        assert!(check_recipient(&c, &rcpt("<Postmaster>"), false).is_ok());
        let denied = check_recipient(&c, &rcpt("<u@other.net>"), false).unwrap_err();
        assert_eq!((denied.code, denied.status.map(|s| (s.0, s.1, s.2))), (554, Some((5, 7, 1))));
        assert!(check_recipient(&c, &rcpt("<u@other.net>"), true).is_ok());
    }

    #[test]
    fn relay_tricks_are_judged_by_their_real_destination() {
        let c = cfg();
        for trick in ["<user%other.net@example.com>", "<other.net!user@example.com>", "<\"u@other.net\"@example.com>", "<@other.net,@example.com:u@example.com>", "<@example.com:u@other.net>"] {
            assert!(check_recipient(&c, &rcpt(trick), false).is_err(), "{trick} must be denied");
            assert!(check_recipient(&c, &rcpt(trick), true).is_ok(), "{trick} is fine for a relay client");
        }
        // The same forms that really stay local are accepted.
        assert!(check_recipient(&c, &rcpt("<\"u@\"@example.com>"), false).is_err());
        for local in ["<user%example.com@example.com>", "<\"u@example.com\"@example.com>", "<@example.com:u@example.com>"] {
            assert!(check_recipient(&c, &rcpt(local), false).is_ok(), "{local} is local");
        }
    }

    #[test]
    fn trusted_networks_include_mapped_v4() {
        let c = Config::default();
        assert!(is_trusted(&c, "127.0.0.1".parse().unwrap()));
        assert!(is_trusted(&c, "::ffff:127.0.0.5".parse().unwrap()));
        assert!(is_trusted(&c, "::1".parse().unwrap()));
        assert!(!is_trusted(&c, "192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn allowed_sender_domains_apply_to_relay_clients() {
        let mut c = cfg();
        c.relay.allowed_sender_domains = vec!["example.com".into()];
        let ok = parse_reverse_path("<a@example.com>", false).unwrap();
        let bad = parse_reverse_path("<a@evil.test>", false).unwrap();
        assert!(check_sender(&c, &ok, true).is_ok());
        assert_eq!(check_sender(&c, &bad, true).unwrap_err().code, 553);
        assert!(check_sender(&c, &bad, false).is_ok(), "inbound mail from strangers is not limited");
        assert!(check_sender(&c, &ReversePath::Null, true).is_ok());
    }
}
