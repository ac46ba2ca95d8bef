//! Routing: the transport map. Which transport and destination each recipient goes to.
//!
//! `[[route]]` entries are tried in order, first match wins; an entry matches on the whole
//! address, on the address without its `+tag`, on the domain, on `.parent` domains, or `*`.
//! Without a match: local domains are delivered into Maildirs; everything else goes to the
//! smarthosts when configured (Postfix: relayhost), else to the domain's MX hosts.
use crate::config::{Config, RouteTransport};
use crate::transport::smtp::SMARTHOST;
use crate::transport::{BoxFuture, Job, JobResult, Transport, Verdict};
use std::sync::Arc;

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
        let p = crate::directory::normalize(p);
        return p == address || base == Some(p.as_str());
    }
    let p = crate::directory::normalize_domain(p.trim_start_matches('.'));
    if pattern.trim().starts_with('.') {
        domain.len() > p.len() && domain.ends_with(&p) && domain.as_bytes()[domain.len() - p.len() - 1] == b'.'
    } else {
        domain == p
    }
}

/// The transport map lookup; `address` in any case (it is normalized here).
pub fn choose(cfg: &Config, address: &str) -> Choice {
    let address = crate::directory::normalize(address);
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Smtp,
    Maildir,
    /// Index into `Config::routes`.
    Webhook(usize),
    Reject,
}

/// Recipients with the same target are delivered together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub kind: Kind,
    /// The destination (concurrency and backoff are per destination): a recipient
    /// domain, `[smarthost]`, or the webhook URL without its query.
    pub key: String,
}

pub struct Router {
    cfg: Arc<Config>,
    smtp: Arc<dyn Transport>,
    maildir: Arc<dyn Transport>,
    /// One per `[[route]]` entry; None for entries that are not webhooks.
    webhooks: Vec<Option<Arc<dyn Transport>>>,
    reject: Arc<dyn Transport>,
}

impl Router {
    /// `webhooks[i]` serves `cfg.routes[i]` when that entry is a webhook.
    pub fn new(
        cfg: Arc<Config>,
        smtp: Arc<dyn Transport>,
        maildir: Arc<dyn Transport>,
        webhooks: Vec<Option<Arc<dyn Transport>>>,
    ) -> Router {
        Router { cfg, smtp, maildir, webhooks, reject: Arc::new(RejectTransport) }
    }

    pub fn route(&self, address: &str) -> Target {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let domain = crate::directory::normalize_domain(domain);
        match choose(&self.cfg, address) {
            Choice::Mx => Target { kind: Kind::Smtp, key: domain },
            Choice::Smarthost => Target { kind: Kind::Smtp, key: SMARTHOST.into() },
            Choice::Maildir => Target { kind: Kind::Maildir, key: domain },
            Choice::Webhook(i) => Target { kind: Kind::Webhook(i), key: webhook_key(&self.cfg.routes[i].url) },
            Choice::Reject => Target { kind: Kind::Reject, key: "reject".into() },
        }
    }

    pub fn transport(&self, t: &Target) -> Arc<dyn Transport> {
        match t.kind {
            Kind::Smtp => self.smtp.clone(),
            Kind::Maildir => self.maildir.clone(),
            Kind::Webhook(i) => self.webhooks.get(i).cloned().flatten().unwrap_or_else(|| self.reject.clone()),
            Kind::Reject => self.reject.clone(),
        }
    }
}

/// `scheme://host:port/path`: the URL without query or credentials (they may hold secrets).
pub fn webhook_key(url: &str) -> String {
    match url.parse::<hyper::Uri>() {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme_str().unwrap_or("http"),
            u.authority().map_or("", |a| a.as_str().rsplit('@').next().unwrap_or("")),
            u.path()
        ),
        Err(_) => "webhook".into(),
    }
}

/// Bounces what the transport map rejects but got queued anyway (e.g. the map changed, or
/// an alias led there).
struct RejectTransport;

impl Transport for RejectTransport {
    fn name(&self) -> &'static str {
        "reject"
    }
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult> {
        let text = "mail for this recipient is rejected by the transport map".to_string();
        Box::pin(async move { JobResult::all(job, Verdict::Failed, (5, 7, 1), text, "none") })
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

    #[test]
    fn webhook_key_hides_credentials_and_query() {
        assert_eq!(webhook_key("https://user:pw@api.test:8443/v1/in?key=secret"), "https://api.test:8443/v1/in");
        assert_eq!(webhook_key("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x");
    }
}
