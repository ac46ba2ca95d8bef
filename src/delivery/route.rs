//! The router: hands each recipient to the transport that `crate::routing` chose for it,
//! grouped by transport and destination.
pub use crate::routing::{Choice, choose};
use crate::config::Config;
use crate::transport::smtp::SMARTHOST;
use crate::transport::{BoxFuture, Job, JobResult, Transport, Verdict};
use std::sync::Arc;

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
            Choice::Webhook(i) => Target { kind: Kind::Webhook(i), key: crate::transport::webhook::webhook_key(&self.cfg.routes[i].url) },
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

