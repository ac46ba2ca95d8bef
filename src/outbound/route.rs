//! Routing: which transport and destination each recipient goes to.
//!
//! Local domains are delivered into Maildirs; everything else goes to the smarthosts
//! when configured (Postfix: relayhost), else to the domain's MX hosts.
use crate::config::Config;
use crate::transport::Transport;
use crate::transport::smtp::SMARTHOST;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Smtp,
    Maildir,
}

/// Recipients with the same target are delivered together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub kind: Kind,
    /// The destination: a recipient domain, or `[smarthost]`.
    pub key: String,
}

pub struct Router {
    cfg: Arc<Config>,
    smtp: Arc<dyn Transport>,
    maildir: Arc<dyn Transport>,
}

impl Router {
    pub fn new(cfg: Arc<Config>, smtp: Arc<dyn Transport>, maildir: Arc<dyn Transport>) -> Router {
        Router { cfg, smtp, maildir }
    }

    pub fn route(&self, address: &str) -> Target {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_ascii_lowercase());
        if self.cfg.is_local_domain(&domain) {
            Target { kind: Kind::Maildir, key: domain }
        } else if !self.cfg.delivery.smarthost.is_empty() {
            Target { kind: Kind::Smtp, key: SMARTHOST.into() }
        } else {
            Target { kind: Kind::Smtp, key: domain }
        }
    }

    pub fn transport(&self, t: &Target) -> Arc<dyn Transport> {
        match t.kind {
            Kind::Smtp => self.smtp.clone(),
            Kind::Maildir => self.maildir.clone(),
        }
    }
}
