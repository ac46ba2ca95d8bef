//! SMTP delivery to the MX hosts of a domain, or to the configured smarthosts (in order,
//! with failover), reusing idle connections for the next message to the same server.
use super::{BoxFuture, Job, JobResult, RcptResult, Transport, Verdict};
use crate::config::{Config, smarthost};
use crate::limits::redis::Store;
use crate::smtp_client::client::{
    ClientError, OutboundMessage, OutboundRcpt, RcptOutcome, Secret, SessionParams, SmtpClient, Timeouts, open_session,
};
use crate::smtp_client::dane::{Dane, HostPolicy, dane_config};
use crate::smtp_client::mta_sts::StsMode;
use crate::smtp_client::mx::{DnsResolver, MxHost};
use crate::smtp_client::sts_cache::StsCache;
use crate::smtp_client::tls::{OutboundTls, TlsPolicy};
use crate::smtp_client::tlsrpt::{PolicyType, ReportPolicy, SessionLog, SessionRecord, failure_type};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The destination key of smarthost delivery (brackets: never a domain name).
pub const SMARTHOST: &str = "[smarthost]";
/// Idle connections older than this are closed rather than reused.
const IDLE_REUSE: Duration = Duration::from_secs(10);
/// Messages per connection before it is closed (keeps long sessions fair).
const MAX_USES: u32 = 100;

struct Pooled {
    client: SmtpClient,
    idle_since: Instant,
    uses: u32,
    /// In a cluster: this connection's share of `concurrency_per_destination`.
    lease: Option<Lease>,
}

/// How long a connection lease lives without renewal (a dead node's leases expire), and
/// how long a new connection waits for one before the attempt is deferred.
const LEASE_TTL: Duration = Duration::from_secs(120);
const LEASE_WAIT: Duration = Duration::from_secs(30);

/// One of the cluster-wide connections to a destination; given back when dropped.
struct Lease {
    store: Arc<Store>,
    name: String,
    id: String,
}

impl Lease {
    fn renew(&self, limit: usize) {
        let (store, name, id) = (self.store.clone(), self.name.clone(), self.id.clone());
        tokio::spawn(async move { store.lease(&name, limit, &id, LEASE_TTL).await });
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (store, name, id) = (self.store.clone(), std::mem::take(&mut self.name), std::mem::take(&mut self.id));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { store.release(&name, &id).await });
        }
    }
}

/// Idle connections per (server name, address).
/// Connections are reused only for the same server reached the same way: name, address,
/// TLS policy, and whether it is a smarthost (authenticated) or an MX.
/// The label is the TLS policy source (a DANE-verified connection is not reused for a
/// WebPKI-verified destination and vice versa).
type PoolKey = (String, SocketAddr, TlsPolicy, bool, &'static str);
type Pool = HashMap<PoolKey, Vec<Pooled>>;

/// One server to try: its name (for TLS and logs), addresses, and how to talk to it.
#[derive(Clone)]
struct Hop {
    name: String,
    addrs: Vec<SocketAddr>,
    implicit_tls: bool,
    tls: TlsPolicy,
    /// A configured smarthost: we authenticate when credentials are set.
    smarthost: bool,
    /// Which policy set `tls`, for the delivery log: dane, mta-sts, opportunistic, ...
    label: &'static str,
    /// DANE: the client config that verifies against this host's TLSA records.
    dane: Option<Arc<rustls::ClientConfig>>,
    /// The policy as TLS-RPT reports it.
    report: ReportPolicy,
}

/// The log label of the configured `delivery.tls` level.
fn policy_label(p: TlsPolicy) -> &'static str {
    match p {
        TlsPolicy::None => "none",
        TlsPolicy::May => "opportunistic",
        TlsPolicy::Encrypt => "encrypt",
        TlsPolicy::Verify => "verify",
    }
}

/// How we log in to the smarthosts.
pub enum Credentials {
    Password { user: String, password: String },
    /// AUTH XOAUTH2 with tokens from the endpoint (refreshed before they expire).
    OAuth2 { user: String, tokens: super::xoauth2::TokenSource },
}

pub struct SmtpTransport {
    cfg: Arc<Config>,
    resolver: Arc<DnsResolver>,
    tls: OutboundTls,
    policy: TlsPolicy,
    timeouts: Timeouts,
    credentials: Option<Credentials>,
    sts: Option<StsCache>,
    dane: Option<Dane>,
    tlsrpt: Option<Arc<SessionLog>>,
    pool: Arc<Mutex<Pool>>,
    /// With a cluster store, connections per destination are leased across nodes.
    cluster: Option<Arc<Store>>,
}

impl SmtpTransport {
    pub fn new(
        cfg: Arc<Config>,
        resolver: Arc<DnsResolver>,
        tls: OutboundTls,
        credentials: Option<Credentials>,
        sts: Option<StsCache>,
    ) -> SmtpTransport {
        let policy = match cfg.delivery.tls.as_str() {
            "none" => TlsPolicy::None,
            "encrypt" => TlsPolicy::Encrypt,
            "verify" => TlsPolicy::Verify,
            _ => TlsPolicy::May,
        };
        let timeouts = Timeouts::uniform(cfg.delivery.timeout.get());
        SmtpTransport { cfg, resolver, tls, policy, timeouts, credentials, sts, dane: None, tlsrpt: None, pool: Arc::default(), cluster: None }
    }

    /// DANE (RFC 7672) for MX delivery; `None` leaves it off.
    pub fn with_dane(mut self, dane: Option<Dane>) -> SmtpTransport {
        self.dane = dane;
        self
    }

    /// Records every MX session's TLS outcome for TLS-RPT (RFC 8460).
    pub fn with_tlsrpt(mut self, log: Option<Arc<SessionLog>>) -> SmtpTransport {
        self.tlsrpt = log;
        self
    }

    /// Appends one session to the TLS-RPT log (MX delivery only; plaintext sessions
    /// without a policy and failures that are not about TLS are not TLS sessions).
    fn report(&self, domain: &str, hop: &Hop, ip: Option<SocketAddr>, failure: Option<(&str, String)>) {
        let Some(log) = &self.tlsrpt else { return };
        if hop.smarthost {
            return;
        }
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        log.record(&SessionRecord {
            at,
            domain: domain.to_string(),
            policy: hop.report.clone(),
            mx_host: hop.name.clone(),
            ip: ip.map(|a| a.ip().to_string()),
            failure: failure.as_ref().map(|(t, _)| t.to_string()),
            detail: failure.map(|(_, d)| d),
        });
    }

    fn report_session(&self, domain: &str, hop: &Hop, addr: SocketAddr, opened: &Result<SmtpClient, ClientError>) {
        match opened {
            Ok(c) if c.is_tls() => self.report(domain, hop, Some(addr), None),
            Ok(_) => {}
            Err(e) => {
                if let Some(kind) = failure_type(e) {
                    self.report(domain, hop, Some(addr), Some((kind, e.text())));
                }
            }
        }
    }

    /// Shares `delivery.concurrency_per_destination` with the other nodes of a cluster.
    pub fn with_cluster(mut self, cluster: Option<Arc<Store>>) -> SmtpTransport {
        self.cluster = cluster;
        self
    }

    /// A lease for one more connection to `destination` across the cluster: `Ok(None)`
    /// without a cluster (or while Redis is down: local limits hold), `Err` when every
    /// lease stayed taken for [`LEASE_WAIT`].
    async fn lease(&self, destination: &str) -> Result<Option<Lease>, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let Some(store) = self.cluster.clone() else { return Ok(None) };
        let limit = self.cfg.delivery.concurrency_per_destination;
        let id = format!("{}:{}", store.node(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let deadline = Instant::now() + LEASE_WAIT;
        loop {
            match store.lease(destination, limit, &id, LEASE_TTL).await {
                Some(true) => return Ok(Some(Lease { store, name: destination.to_string(), id })),
                None => return Ok(None),
                Some(false) if Instant::now() >= deadline => {
                    return Err(format!("all {limit} connections to {destination} are in use by the cluster's nodes"));
                }
                Some(false) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn run(&self, job: &Job) -> JobResult {
        let hops = match self.hops(&job.destination).await {
            Ok(h) => h,
            Err(r) => return r(job),
        };
        let rcpts: Vec<OutboundRcpt> = job
            .rcpts
            .iter()
            .map(|&i| {
                let r = &job.env.recipients[i];
                OutboundRcpt { address: &r.address, notify: r.notify, orcpt: r.orcpt.as_deref() }
            })
            .collect();
        let msg = OutboundMessage {
            mail_from: job.sender(),
            recipients: rcpts,
            body: job.body.clone(),
            smtputf8: job.env.smtputf8,
            body_8bit: job.env.body_8bit,
            envid: job.env.envid.as_deref(),
            ret: job.env.ret,
        };
        let mut last: Option<(ClientError, &'static str)> = None;
        for hop in &hops {
            for &addr in &hop.addrs {
                match self.send_via(hop, addr, &msg, &job.destination).await {
                    Ok(outcomes) => return results(job, outcomes, &hop.name, addr, hop.label),
                    Err(e) if e.try_next_host() => {
                        tracing::info!(destination = %job.destination, tls = %hop.label, error = %e.text(), "trying next host");
                        last = Some((e, hop.label));
                    }
                    Err(e) => return from_error(job, &e, false, hop.label),
                }
            }
        }
        match last {
            Some((e, label)) => from_error(job, &e, true, label),
            None => JobResult {
                destination_failed: true,
                ..JobResult::all(job, Verdict::Deferred, (4, 4, 4), "no usable mail exchanger address".into(), "none")
            },
        }
    }

    /// One transaction on a pooled or new connection; a stale pooled connection is
    /// replaced by a fresh one once.
    async fn send_via(&self, hop: &Hop, addr: SocketAddr, msg: &OutboundMessage<'_>, destination: &str) -> Result<Vec<RcptOutcome>, ClientError> {
        let key = (hop.name.clone(), addr, hop.tls, hop.smarthost, hop.label);
        if let Some(mut p) = self.take(&key) {
            if let Some(l) = &p.lease {
                l.renew(self.cfg.delivery.concurrency_per_destination);
            }
            match p.client.send(msg).await {
                Ok(out) => {
                    p.uses += 1;
                    self.put_back(key, p);
                    return Ok(out);
                }
                // The server answered: the message, not the connection, was the problem.
                Err(e) if p.client.is_usable() => {
                    self.put_back(key, p);
                    return Err(e);
                }
                Err(_) => {} // the idle connection went stale: open a fresh one below
            }
        }
        let peer = || crate::smtp_client::client::Peer { name: hop.name.clone(), addr };
        let lease = self.lease(destination).await.map_err(|reason| ClientError::Connect { peer: peer(), reason })?;
        let mut client = match self.credentials.as_ref().filter(|_| hop.smarthost) {
            Some(Credentials::OAuth2 { user, tokens }) => {
                // A refused token (expired early, revoked) is refreshed and tried once more.
                let mut tried_refresh = false;
                loop {
                    let token = tokens.token().await.map_err(|e| ClientError::AuthUnavailable {
                        peer: crate::smtp_client::client::Peer { name: hop.name.clone(), addr },
                        reason: e.to_string(),
                    })?;
                    match self.open(hop, addr, Some((user, Secret::Bearer(&token)))).await {
                        Err(ClientError::AuthFailed { .. }) if !tried_refresh => {
                            tokens.refused(&token).await;
                            tried_refresh = true;
                        }
                        other => break other?,
                    }
                }
            }
            Some(Credentials::Password { user, password }) => self.open(hop, addr, Some((user, Secret::Password(password)))).await?,
            None => {
                let opened = self.open(hop, addr, None).await;
                self.report_session(destination, hop, addr, &opened);
                opened?
            }
        };
        let out = client.send(msg).await?;
        self.put_back(key, Pooled { client, idle_since: Instant::now(), uses: 1, lease });
        Ok(out)
    }

    async fn open(&self, hop: &Hop, addr: SocketAddr, auth: Option<(&str, Secret<'_>)>) -> Result<SmtpClient, ClientError> {
        let dane_tls = hop.dane.as_ref().map(|c| self.tls.with_verified(c.clone()));
        let params = SessionParams {
            host: &hop.name,
            addr,
            helo_name: &self.cfg.server.hostname,
            tls_policy: hop.tls,
            tls: dane_tls.as_ref().unwrap_or(&self.tls),
            implicit_tls: hop.implicit_tls,
            auth,
            allow_plaintext_auth: false,
            timeouts: self.timeouts,
        };
        open_session(&params).await
    }

    fn take(&self, key: &PoolKey) -> Option<Pooled> {
        let mut pool = self.pool.lock().unwrap();
        let list = pool.get_mut(key)?;
        while let Some(p) = list.pop() {
            if p.idle_since.elapsed() < IDLE_REUSE && p.client.is_usable() {
                return Some(p);
            }
        }
        None
    }

    fn put_back(&self, key: PoolKey, mut p: Pooled) {
        if !p.client.is_usable() || p.uses >= MAX_USES {
            tokio::spawn(async move { let _ = p.client.quit().await; });
            return;
        }
        p.idle_since = Instant::now();
        self.pool.lock().unwrap().entry(key).or_default().push(p);
        // Unless reused meanwhile, it is closed when its reuse window ends.
        let pool = self.pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(IDLE_REUSE).await;
            close_idle(&pool);
        });
    }

    /// Where to connect: the smarthosts in order, or the domain's MX hosts.
    async fn hops(&self, destination: &str) -> Result<Vec<Hop>, Box<dyn Fn(&Job) -> JobResult + Send>> {
        if destination == SMARTHOST {
            let mut hops = Vec::new();
            for s in self.cfg.delivery.smarthost.iter().filter_map(|s| smarthost::parse(s)) {
                let ips = match s.host.parse() {
                    Ok(ip) => vec![ip],
                    Err(_) => self.resolver.lookup_ip(&s.host).await.unwrap_or_default(),
                };
                let addrs = ips.into_iter().map(|ip| SocketAddr::new(ip, s.port)).collect();
                let (tls, label) = (self.policy, policy_label(self.policy));
                hops.push(Hop { name: s.host.clone(), addrs, implicit_tls: s.port == 465, tls, smarthost: true, label, dane: None, report: ReportPolicy::none() });
            }
            return Ok(hops);
        }
        match self.resolver.resolve_mx(destination).await {
            Ok(mx) => {
                if let Some(me) = mx.iter().find(|h| h.name.eq_ignore_ascii_case(&self.cfg.server.hostname)) {
                    let text = format!("mail for {destination} loops back to myself ({})", me.name);
                    return Err(Box::new(move |job| JobResult::all(job, Verdict::Failed, (5, 4, 6), text.clone(), "none")));
                }
                let hops = self.apply_sts(destination, mx.into_iter().map(|h| self.hop(h)).collect()).await?;
                self.apply_dane(destination, hops).await
            }
            Err(e) => {
                let (verdict, failed) = if e.is_permanent() { (Verdict::Failed, false) } else { (Verdict::Deferred, true) };
                Err(Box::new(move |job| JobResult {
                    destination_failed: failed,
                    ..JobResult::all(job, verdict, e.status(), e.text(), "none")
                }))
            }
        }
    }

    fn hop(&self, h: MxHost) -> Hop {
        let port = self.cfg.delivery.smtp_port;
        let addrs = h.addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        Hop { addrs, name: h.name, implicit_tls: false, tls: self.policy, smarthost: false, label: policy_label(self.policy), dane: None, report: ReportPolicy::none() }
    }

    /// RFC 8461: under an `enforce` policy only matching MX hosts are used, with verified
    /// TLS; `testing` only logs what enforcement would have refused.
    async fn apply_sts(&self, domain: &str, hops: Vec<Hop>) -> Result<Vec<Hop>, Box<dyn Fn(&Job) -> JobResult + Send>> {
        let (policy, error) = match &self.sts {
            Some(c) => c.policy_checked(domain).await,
            None => (None, None),
        };
        if let Some(kind) = error.as_ref().and_then(sts_failure_type) {
            // RFC 8460 §4.3.3: reported against the sts policy, once per failed discovery.
            let text = error.as_ref().map(|e| e.to_string()).unwrap_or_default();
            if let Some(h) = hops.first() {
                let h = Hop { report: ReportPolicy { policy_type: PolicyType::Sts, policy_string: Vec::new() }, ..h.clone() };
                self.report(domain, &h, None, Some((kind, text)));
            }
        }
        let Some(policy) = policy else {
            return Ok(hops);
        };
        let (ok, refused): (Vec<Hop>, Vec<Hop>) = hops.into_iter().partition(|h| policy.matches(&h.name));
        for h in &refused {
            tracing::warn!(domain, mx = %h.name, mode = ?policy.mode, "MX host not allowed by the MTA-STS policy");
        }
        if policy.mode == StsMode::Testing {
            return Ok(ok.into_iter().chain(refused).collect());
        }
        let report = ReportPolicy { policy_type: PolicyType::Sts, policy_string: policy.lines() };
        if ok.is_empty() {
            let text = format!("no MX host of {domain} matches its MTA-STS policy");
            for h in &refused {
                let h = Hop { report: report.clone(), ..h.clone() };
                self.report(domain, &h, None, Some(("validation-failure", text.clone())));
            }
            return Err(Box::new(move |job| JobResult {
                destination_failed: true,
                ..JobResult::all(job, Verdict::Deferred, (4, 7, 5), text.clone(), "none")
            }));
        }
        Ok(ok.into_iter().map(|h| Hop { tls: TlsPolicy::Verify, label: "mta-sts", report: report.clone(), ..h }).collect())
    }

    /// RFC 7672: with a DNSSEC-secure MX RRset, each MX host with secure usable TLSA
    /// records is reached only over TLS verified against them (DANE takes precedence over
    /// MTA-STS, RFC 8461 §2); a host whose TLSA lookup fails is skipped; when no host is
    /// left the destination is deferred (4.7.5). Insecure zones keep the other policies.
    async fn apply_dane(&self, domain: &str, hops: Vec<Hop>) -> Result<Vec<Hop>, Box<dyn Fn(&Job) -> JobResult + Send>> {
        let Some(dane) = &self.dane else { return Ok(hops) };
        if domain.starts_with('[') {
            return Ok(hops);
        }
        let defer = |text: String| -> Box<dyn Fn(&Job) -> JobResult + Send> {
            Box::new(move |job| JobResult {
                destination_failed: true,
                ..JobResult::all(job, Verdict::Deferred, (4, 7, 5), text.clone(), "none")
            })
        };
        match dane.mx_is_secure(domain).await {
            Ok(true) => {}
            Ok(false) => return Ok(hops),
            Err(e) => return Err(defer(format!("DNSSEC validation of the MX records of {domain} failed: {e}"))),
        }
        let mut kept = Vec::with_capacity(hops.len());
        let mut failures = Vec::new();
        for hop in hops {
            match dane.host_policy(&hop.name, self.cfg.delivery.smtp_port).await {
                HostPolicy::Verify(records) => {
                    let names = vec![hop.name.clone(), domain.to_string()];
                    let report = ReportPolicy { policy_type: PolicyType::Tlsa, policy_string: records.iter().map(|r| r.to_string()).collect() };
                    match dane_config(records, names) {
                        Ok(cfg) => kept.push(Hop { tls: TlsPolicy::Verify, label: "dane", dane: Some(cfg), report, ..hop }),
                        Err(e) => failures.push(format!("{}: {e}", hop.name)),
                    }
                }
                HostPolicy::EncryptOnly => kept.push(Hop { tls: TlsPolicy::Encrypt, label: "dane-only-encrypt", ..hop }),
                HostPolicy::NotApplicable => kept.push(hop),
                HostPolicy::Failed(reason) => {
                    tracing::warn!(domain, mx = %hop.name, %reason, "DANE: MX host skipped");
                    let h = Hop { report: ReportPolicy { policy_type: PolicyType::Tlsa, policy_string: Vec::new() }, ..hop.clone() };
                    self.report(domain, &h, None, Some(("dnssec-invalid", reason.clone())));
                    failures.push(format!("{}: {reason}", hop.name));
                }
            }
        }
        if kept.is_empty() {
            return Err(defer(format!("DANE: no usable MX host for {domain} ({})", failures.join("; "))));
        }
        Ok(kept)
    }
}

/// The TLS-RPT result type of an MTA-STS discovery failure (DNS trouble is not one).
fn sts_failure_type(e: &crate::smtp_client::mta_sts::StsError) -> Option<&'static str> {
    use crate::smtp_client::mta_sts::StsError;
    match e {
        StsError::Fetch { .. } => Some("sts-policy-fetch-error"),
        StsError::Policy { .. } => Some("sts-policy-invalid"),
        StsError::Dns(_) => None,
    }
}

/// Says QUIT to every pooled connection idle for `IDLE_REUSE` or longer.
fn close_idle(pool: &Mutex<Pool>) {
    let mut stale = Vec::new();
    pool.lock().unwrap().retain(|_, list| {
        let (old, fresh): (Vec<Pooled>, Vec<Pooled>) =
            std::mem::take(list).into_iter().partition(|p| p.idle_since.elapsed() >= IDLE_REUSE);
        stale.extend(old);
        *list = fresh;
        !list.is_empty()
    });
    for p in stale {
        tokio::spawn(async move { let _ = p.client.quit().await; });
    }
}

fn results(job: &Job, outcomes: Vec<RcptOutcome>, host: &str, addr: SocketAddr, tls: &'static str) -> JobResult {
    let relay = format!("{host}[{}]:{}", addr.ip(), addr.port());
    let rcpts = job
        .rcpts
        .iter()
        .zip(outcomes)
        .map(|(&index, o)| {
            let (verdict, status, diagnostic) = match &o.result {
                Ok(reply) => (Verdict::Delivered, reply_status(reply, (2, 0, 0)), Some(format!("smtp; {reply}"))),
                Err(e) => (
                    if e.is_permanent() { Verdict::Failed } else { Verdict::Deferred },
                    e.status(),
                    e.reply().map(|r| format!("smtp; {r}")),
                ),
            };
            RcptResult { index, verdict, status, text: o.text(), diagnostic, relay: relay.clone(), retry_at: None, tls: Some(tls) }
        })
        .collect();
    JobResult { rcpts, destination_failed: false }
}

fn reply_status(r: &crate::proto::smtp::Reply, default: (u8, u16, u16)) -> (u8, u16, u16) {
    r.status.map(|s| (s.0, s.1, s.2)).unwrap_or(default)
}

/// Every recipient gets the error; `unreachable` marks the destination as failing.
fn from_error(job: &Job, e: &ClientError, unreachable: bool, tls: &'static str) -> JobResult {
    let verdict = if e.is_permanent() { Verdict::Failed } else { Verdict::Deferred };
    let relay = e.peer().map(|p| format!("{p}:{}", p.addr.port())).unwrap_or_else(|| "none".into());
    let mut r = JobResult::all(job, verdict, e.status(), e.text(), &relay);
    for x in &mut r.rcpts {
        x.diagnostic = e.reply().map(|rep| format!("smtp; {rep}"));
        x.tls = Some(tls);
    }
    r.destination_failed = unreachable && verdict == Verdict::Deferred;
    r
}

impl Transport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult> {
        Box::pin(self.run(job))
    }
}
