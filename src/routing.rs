//! Routing: the transport map. Which transport each recipient address goes to.
//!
//! `[[route]]` entries are tried in order, first match wins; an entry matches on the whole
//! address, on the address without its `+tag`, on the domain, on `.parent` domains, or `*`.
//! Without a match: local domains are delivered into Maildirs; everything else goes to the
//! smarthosts when configured (Postfix: relayhost), else to the domain's MX hosts.
//!
//! Owns: the answer for one address, from the configuration alone. Must not touch:
//! transports or the directory (both use it: it sits below them).
use crate::config::{Config, RouteTransport};
use crate::proto::smtp::address::{normalize_address, normalize_domain};

/// The transport map's answer for one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Mx,
    Smarthost,
    Maildir,
    /// Index of the `[[route]]` entry with the webhook's URL and token.
    Webhook(usize),
    Reject,
}

/// Does `pattern` (from a `[[route]]`) match `address` (normalized)?
fn matches(pattern: &str, address: &str, base: Option<&str>) -> bool {
    let p = pattern.trim().trim_end_matches('.');
    if p == "*" {
        return true;
    }
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    if p.contains('@') {
        let p = normalize_address(p);
        return p == address || base == Some(p.as_str());
    }
    let p = normalize_domain(p.trim_start_matches('.'));
    if pattern.trim().starts_with('.') {
        domain.len() > p.len() && domain.ends_with(&p) && domain.as_bytes()[domain.len() - p.len() - 1] == b'.'
    } else {
        domain == p
    }
}

/// The transport map lookup; `address` in any case (it is normalized here).
pub fn choose(cfg: &Config, address: &str) -> Choice {
    let address = normalize_address(address);
    let base = cfg.mailboxes.recipient_delimiter.chars().next().and_then(|delim| {
        let (local, domain) = address.rsplit_once('@')?;
        let (user, _) = local.split_once(delim)?;
        (!user.is_empty()).then(|| format!("{user}@{domain}"))
    });
    if let Some((i, r)) = cfg.routes.iter().enumerate().find(|(_, r)| matches(&r.pattern, &address, base.as_deref())) {
        return match r.transport {
            RouteTransport::Mx => Choice::Mx,
            RouteTransport::Smarthost => Choice::Smarthost,
            RouteTransport::Maildir => Choice::Maildir,
            RouteTransport::Webhook => Choice::Webhook(i),
            RouteTransport::Reject => Choice::Reject,
        };
    }
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    if cfg.is_local_domain(domain) {
        Choice::Maildir
    } else if !cfg.delivery.smarthost.is_empty() {
        Choice::Smarthost
    } else {
        Choice::Mx
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Route;

    fn route(pattern: &str, transport: RouteTransport) -> Route {
        let t = format!("match = {pattern:?}\ntransport = {:?}\nurl = \"http://127.0.0.1:9/x\"\n", transport.name());
        let mut r: Route = toml::from_str(&t).unwrap();
        if transport != RouteTransport::Webhook {
            r.url.clear();
        }
        r
    }

    fn cfg(routes: Vec<Route>) -> Config {
        let mut c = Config::default();
        c.relay.local_domains = vec!["example.com".into()];
        c.routes = routes;
        c
    }

    #[test]
    fn defaults_without_routes() {
        let mut c = cfg(vec![]);
        assert_eq!(choose(&c, "a@EXAMPLE.com"), Choice::Maildir);
        assert_eq!(choose(&c, "a@other.net"), Choice::Mx);
        c.delivery.smarthost = vec!["[relay.test]:587".into()];
        assert_eq!(choose(&c, "a@other.net"), Choice::Smarthost);
    }

    #[test]
    fn first_match_wins_over_address_base_domain_subdomain_and_star() {
        let c = cfg(vec![
            route("ceo@example.com", RouteTransport::Mx),
            route("api.example.com", RouteTransport::Webhook),
            route(".blocked.test", RouteTransport::Reject),
            route("example.com", RouteTransport::Maildir),
            route("*", RouteTransport::Reject),
        ]);
        assert_eq!(choose(&c, "CEO@example.com"), Choice::Mx);
        assert_eq!(choose(&c, "ceo+news@example.com"), Choice::Mx, "subaddress matches its base");
        assert_eq!(choose(&c, "x@api.example.com"), Choice::Webhook(1));
        assert_eq!(choose(&c, "x@mx.blocked.test"), Choice::Reject);
        assert_eq!(choose(&c, "x@blocked.test"), Choice::Reject, "falls through to *");
        assert_eq!(choose(&c, "x@example.com"), Choice::Maildir);
        assert_eq!(choose(&c, "x@elsewhere.net"), Choice::Reject);
    }
}
