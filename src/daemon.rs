//! The daemon's life: open the queue, bind listeners, serve, and stop gracefully.
use crate::config::{Config, Loaded};
use crate::smtp_client::mx::DnsResolver;
use crate::delivery::route::Router;
use crate::delivery::scheduler::Scheduler;
use crate::smtp_client::tls::OutboundTls;
use crate::transport::maildir::MaildirTransport;
use crate::transport::smtp::SmtpTransport;
use crate::transport::webhook::WebhookTransport;
use crate::app::Services;
use crate::queue::Queue;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the queue in {dir}: {msg}")]
    Queue { dir: String, msg: String },
    #[error("{0}")]
    Directory(#[from] crate::directory::DirectoryError),
    #[error("{0}")]
    Tls(#[from] crate::net::tls::TlsError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("delivery: {0}")]
    Delivery(String),
    #[error("{0}")]
    Cluster(String),
    #[error("{0}")]
    Checks(#[from] crate::app::checks::SetupError),
}

pub async fn run(loaded: Loaded) -> Result<(), StartError> {
    let cfg = Arc::new(loaded.config);
    match &loaded.source {
        Some(p) => tracing::info!(config = %p.display(), "starting"),
        None => tracing::info!("starting with the embedded default configuration"),
    }
    for name in &loaded.env_applied {
        tracing::info!(variable = %name, "applied environment override");
    }
    for why in &loaded.env_ignored {
        tracing::warn!("environment variable has no effect: {why}");
    }
    std::fs::create_dir_all(&cfg.server.data_dir)?;
    let queue = Queue::open(&cfg.server.data_dir).map_err(|e| StartError::Queue {
        dir: cfg.server.data_dir.display().to_string(),
        msg: e.to_string(),
    })?;
    let tls = crate::net::tls::load(&cfg)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dkim = crate::dkim::DkimSigner::load(&crate::dkim::managed::effective(&cfg)).map_err(|e| StartError::Delivery(e.to_string()))?;
    let checks = crate::app::checks::Checker::from_config(&cfg)?;
    let directory = Arc::new(crate::directory::Directory::connect(&cfg).await?);
    directory.spawn_poll();
    directory.log_open_domains(&cfg).await;
    let cluster = crate::limits::redis::Store::from_config(&cfg).map_err(StartError::Cluster)?;
    let ctx = Services::new(cfg.clone(), queue.clone(), tls, dkim, checks, directory.clone(), stop_rx, cluster.clone());
    let bound = crate::server::listener::bind_all(&ctx).await?;
    let control = crate::http::control::bind(&cfg.server.data_dir)?;
    let http = crate::http::start(&ctx, control).await?;
    if let Some(store) = &cluster {
        tracing::info!(node = %store.node(), "cluster: limits shared through Redis");
        let http = http.map(|a| a.to_string()).unwrap_or_default();
        crate::cluster::spawn_heartbeat(store.clone(), queue.clone(), http, ctx.draining.subscribe());
    }
    crate::admin::start(&ctx).await?;
    let install = {
        let (ctx, cfg) = (ctx.clone(), cfg.clone());
        Box::new(move || match crate::net::tls::load(&cfg) {
            Ok(tls) => {
                *ctx.tls.write().unwrap() = tls;
                tracing::info!("acme: the new certificate is in use on every TLS listener");
            }
            Err(e) => tracing::error!("acme: keeping the old certificate: {e}"),
        })
    };
    crate::acme::spawn(cfg.clone(), ctx.acme_challenges.clone(), ctx.shutdown.clone(), install).await?;
    for b in bound {
        tokio::spawn(crate::server::listener::serve(ctx.clone(), b));
    }
    let scheduler = delivery(&cfg, &queue, &directory, cluster.as_ref())?;
    tokio::spawn(scheduler.run(ctx.shutdown.clone()));
    // Handlers first: a SIGHUP right after "ready" must reload, not kill (default action).
    let signals = Signals::install()?;
    tracing::info!(queued = queue.len(), "ready");
    signals.run_until_stopped(&ctx, loaded.source.as_deref()).await;
    tracing::info!(sessions = ctx.connections.open_sessions(), "stopping: no new connections");
    let _ = stop_tx.send(true);
    let grace = cfg.limits.shutdown_grace.get();
    let started = tokio::time::Instant::now();
    while ctx.connections.open_sessions() > 0 && started.elapsed() < grace {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(crate::http::control::socket_path(&cfg.server.data_dir));
    // Delivery progress is recorded lazily: make it durable, so a delivered message is not
    // delivered again after a clean restart.
    if let Err(e) = queue.sync().await {
        tracing::error!(error = %e, "cannot flush the queue at shutdown");
    }
    tracing::info!(sessions_cut = ctx.connections.open_sessions(), "stopped");
    Ok(())
}

/// DANE when `delivery.dane` is on and the resolver can be trusted with DNSSEC verdicts
/// (on loopback); off otherwise (logged once: the default is on, and most hosts without a
/// local validating resolver did not ask for DANE), and always off towards smarthosts.
fn dane(d: &crate::config::Delivery) -> Option<crate::smtp_client::dane::Dane> {
    if !d.dane || !d.smarthost.is_empty() {
        return None;
    }
    match crate::smtp_client::secure_dns::SecureDns::from_spec(&d.resolver, std::time::Duration::from_secs(5)) {
        Ok(dns) => Some(crate::smtp_client::dane::Dane::new(dns)),
        Err(e) => {
            tracing::info!(reason = %e, "DANE off: no validating resolver on loopback (delivery.resolver); outbound TLS follows MTA-STS and delivery.tls");
            None
        }
    }
}

/// TLS-RPT (`delivery.tlsrpt`): the session log the SMTP transport writes, and the task
/// that sends the reports every `tlsrpt_interval`.
fn tlsrpt(
    cfg: &Arc<Config>,
    queue: &Queue,
    resolver: &Arc<DnsResolver>,
    tls: &OutboundTls,
) -> Result<Option<Arc<crate::smtp_client::tlsrpt::SessionLog>>, StartError> {
    let d = &cfg.delivery;
    if !d.tlsrpt {
        return Ok(None);
    }
    let dir = cfg.server.data_dir.join("tlsrpt");
    let log = crate::smtp_client::tlsrpt::SessionLog::new(&dir)
        .map_err(|e| StartError::Delivery(format!("delivery.tlsrpt: {}: {e}", dir.display())))?;
    let log = Arc::new(log);
    let host = &cfg.server.hostname;
    let or = |v: &str, default: String| if v.is_empty() { default } else { v.to_string() };
    let contact = or(&d.tlsrpt_contact, format!("postmaster@{host}"));
    let sender = crate::delivery::tlsrpt_send::TlsRptSender {
        me: crate::delivery::tlsrpt::Reporter {
            organization: or(&d.tlsrpt_organization, host.clone()),
            contact: contact.clone(),
            submitter: host.clone(),
        },
        from: contact,
        queue: queue.clone(),
        resolver: resolver.clone(),
        https: tls.config(crate::smtp_client::tls::TlsPolicy::Verify).expect("verify config exists"),
        log: log.clone(),
    };
    tokio::spawn(sender.run(d.tlsrpt_interval.get().max(std::time::Duration::from_secs(1))));
    Ok(Some(log))
}

/// Builds the delivery side: resolver, outbound TLS, transports, router, scheduler.
fn delivery(
    cfg: &Arc<Config>,
    queue: &Queue,
    directory: &Arc<crate::directory::Directory>,
    cluster: Option<&Arc<crate::limits::redis::Store>>,
) -> Result<Arc<Scheduler>, StartError> {
    let d = &cfg.delivery;
    let resolver = DnsResolver::new(&d.resolver).map_err(|e| StartError::Delivery(format!("delivery.resolver: {e}")))?;
    let ca: Vec<_> = d.tls_ca_file.iter().cloned().collect();
    let tls = OutboundTls::new(&ca).map_err(|e| StartError::Delivery(format!("delivery.tls_ca_file: {e}")))?;
    let credentials = if d.smarthost_username.is_empty() {
        None
    } else {
        let password = match &d.smarthost_password_file {
            Some(f) => std::fs::read_to_string(f)
                .map_err(|e| StartError::Delivery(format!("delivery.smarthost_password_file {}: {e}", f.display())))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            None => d.smarthost_password.clone(),
        };
        let user = d.smarthost_username.clone();
        match crate::transport::xoauth2::TokenSource::from_config(cfg).map_err(|e| StartError::Delivery(e.to_string()))? {
            Some(tokens) => Some(crate::transport::smtp::Credentials::OAuth2 { user, tokens }),
            None => Some(crate::transport::smtp::Credentials::Password { user, password }),
        }
    };
    let sts = d.mta_sts.then(|| {
        let verify = tls.config(crate::smtp_client::tls::TlsPolicy::Verify).expect("verify config exists");
        let fetcher = crate::smtp_client::mta_sts::StsFetcher::new(resolver.clone(), verify).with_port(d.mta_sts_port);
        crate::smtp_client::sts_cache::StsCache::new(fetcher)
    });
    let resolver = Arc::new(resolver);
    let tlsrpt = tlsrpt(cfg, queue, &resolver, &tls)?;
    let smtp = Arc::new(
        SmtpTransport::new(cfg.clone(), resolver, tls, credentials, sts)
            .with_cluster(cluster.cloned())
            .with_dane(dane(d))
            .with_tlsrpt(tlsrpt),
    );
    let maildir = Arc::new(MaildirTransport::new(directory.clone(), &cfg.server.hostname));
    let mut webhooks: Vec<Option<Arc<dyn crate::transport::Transport>>> = Vec::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        webhooks.push(match r.transport {
            crate::config::RouteTransport::Webhook => Some(Arc::new(
                WebhookTransport::new(r, &ca).map_err(|e| StartError::Delivery(format!("route[{i}]: {e}")))?,
            )),
            _ => None,
        });
    }
    let router = Router::new(cfg.clone(), smtp, maildir, webhooks);
    Ok(Scheduler::new(queue.clone(), cfg.clone(), router, directory.clone(), cluster))
}

/// SIGTERM, SIGINT and SIGHUP, installed before the daemon reports ready.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Serves until SIGTERM/SIGINT; SIGHUP reloads what can change without a restart.
    async fn run_until_stopped(mut self, ctx: &Services, source: Option<&std::path::Path>) {
        loop {
            tokio::select! {
                _ = self.term.recv() => return tracing::info!("SIGTERM"),
                _ = self.int.recv() => return tracing::info!("SIGINT"),
                _ = self.hup.recv() => reload(ctx, source),
                _ = ctx.stop_requested.notified() => return tracing::info!("drain finished"),
            }
        }
    }
}

/// Re-reads the configuration and swaps in TLS certificates, DKIM keys and users.
/// Sessions in progress keep what they started with; a bad new file changes nothing.
/// Other keys (listeners, limits, relay rules) take effect at the next restart.
fn reload(ctx: &Services, source: Option<&std::path::Path>) {
    tracing::info!("SIGHUP: reloading");
    let cfg = match crate::config::load(source) {
        Ok(l) => l.config,
        Err(e) => return tracing::error!("reload failed, keeping the running configuration: {e}"),
    };
    match crate::net::tls::load(&cfg) {
        Ok(tls) => *ctx.tls.write().unwrap() = tls,
        Err(e) => tracing::error!("reload: keeping the old certificate: {e}"),
    }
    match crate::dkim::DkimSigner::load(&crate::dkim::managed::effective(&cfg)) {
        Ok(d) => *ctx.dkim.write().unwrap() = d,
        Err(e) => tracing::error!("reload: keeping the old DKIM keys: {e}"),
    }
    ctx.directory.reload();
    tracing::info!("reloaded certificates, DKIM keys and users");
}
