//! The scheduler: decides when each queued recipient is tried, groups recipients by
//! destination, limits concurrency per destination and in total, backs off failing
//! destinations, and records results (then bounces, delay notices, removal).
//!
//! Delivery is at-least-once: results are written without waiting for the disk, so a
//! crash can repeat a delivery, never lose one. On start every pending recipient is
//! scheduled again.
use super::backoff::{Admission, Destination, ProbeGuard};
use super::bounce;
use super::route::{self, Router};
use super::schedule;
use crate::config::Config;
use crate::directory::Directory;
use crate::limits::{Key, Limiter};
use crate::queue::{Content, Envelope, Outcome, OutcomeKind, Queue, QueueId, RcptState};
use crate::proto::rfc5322::unix_now;
use crate::transport::{Job, JobResult, RcptResult, Verdict};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Recipients per SMTP transaction (Postfix: smtp_destination_recipient_limit).
const RCPTS_PER_JOB: usize = 50;

pub struct Scheduler {
    queue: Queue,
    cfg: Arc<Config>,
    router: Router,
    total: Arc<Semaphore>,
    destinations: Mutex<HashMap<String, Arc<Destination>>>,
    /// Messages being worked on; never dispatched twice at once.
    inflight: Mutex<HashSet<QueueId>>,
    timers: Mutex<BinaryHeap<Reverse<(u64, QueueId)>>>,
    wake: Notify,
    /// Delivery status notices go to the sender's alias targets like any other mail.
    directory: Arc<Directory>,
    /// delivery.destination_rate, per destination key.
    rate: Arc<dyn Limiter>,
}

impl Scheduler {
    /// `cluster`: with a shared store, `delivery.destination_rate` holds across nodes.
    pub fn new(queue: Queue, cfg: Arc<Config>, router: Router, directory: Arc<Directory>, cluster: Option<&Arc<crate::limits::redis::Store>>) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            directory,
            total: Arc::new(Semaphore::new(cfg.delivery.concurrency)),
            rate: crate::limits::shared(cluster, "destination", &cfg.delivery.destination_rate),
            queue,
            cfg,
            router,
            destinations: Mutex::default(),
            inflight: Mutex::default(),
            timers: Mutex::default(),
            wake: Notify::new(),
        })
    }

    /// Runs until shutdown: picks up everything already queued, then new arrivals and timers.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut arrivals = self.queue.subscribe();
        match self.queue.list() {
            Ok(all) => {
                let pending = all.iter().filter(|e| has_pending(e)).count();
                tracing::info!(messages = all.len(), pending, "scheduler started");
                for env in all.iter().filter(|e| has_pending(e) && !e.held) {
                    self.at(next_due(env), env.id.clone());
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list the queue"),
        }
        loop {
            let sleep = self.until_next_timer();
            tokio::select! {
                Some(id) = arrivals.recv() => self.at(0, id),
                _ = tokio::time::sleep(sleep) => {}
                _ = self.wake.notified() => {}
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
            }
            for id in self.due_now() {
                let me = self.clone();
                tokio::spawn(async move { me.dispatch(id).await });
            }
        }
    }

    fn at(&self, when: u64, id: QueueId) {
        self.timers.lock().unwrap().push(Reverse((when, id)));
        self.wake.notify_one();
    }

    fn until_next_timer(&self) -> Duration {
        let now = unix_now();
        match self.timers.lock().unwrap().peek() {
            Some(Reverse((when, _))) => Duration::from_secs(when.saturating_sub(now)),
            None => Duration::from_secs(3600),
        }
    }

    fn due_now(&self) -> Vec<QueueId> {
        let now = unix_now();
        let mut timers = self.timers.lock().unwrap();
        let mut due = Vec::new();
        while timers.peek().is_some_and(|Reverse((when, _))| *when <= now) {
            let Reverse((_, id)) = timers.pop().expect("peeked");
            due.push(id);
        }
        due
    }

    /// One pass over a message: try every recipient that is due.
    async fn dispatch(self: Arc<Self>, id: QueueId) {
        if !self.inflight.lock().unwrap().insert(id.clone()) {
            return; // already being worked on; that pass reschedules it
        }
        let next = self.attempt(&id).await;
        self.inflight.lock().unwrap().remove(&id);
        if let Some(when) = next {
            self.at(when, id);
        }
    }

    /// Returns when to look at the message again, if ever.
    async fn attempt(&self, id: &QueueId) -> Option<u64> {
        let mut env = match self.queue.get(id) {
            Ok(Some(env)) => env,
            Ok(None) => return None, // deleted by an operator, or already done
            Err(e) => {
                tracing::error!(id = %id, error = %e, "cannot read queued message");
                return Some(unix_now() + 60);
            }
        };
        if env.held || !has_pending(&env) {
            return None;
        }
        let read = env.clone();
        let now = unix_now();
        if now >= schedule::expires_at(&self.cfg.delivery, env.arrived) {
            let expired = self.expire(&mut env, now);
            return self.record(env, &read, &[], &expired).await;
        }
        let due: Vec<usize> = (0..env.recipients.len())
            .filter(|&i| env.recipients[i].state == RcptState::Pending && env.recipients[i].next_attempt <= now)
            .collect();
        if due.is_empty() {
            return Some(next_due(&env));
        }
        let Some(results) = self.deliver(&env, due).await else {
            return Some(unix_now() + 60); // body unreadable: logged; look again later, not in a loop
        };
        let now = unix_now();
        for r in &results {
            self.apply(&mut env, r, now);
        }
        self.record(env, &read, &results, &[]).await
    }

    /// Runs one job per destination (and per RCPTS_PER_JOB recipients), concurrently.
    async fn deliver(&self, env: &Envelope, due: Vec<usize>) -> Option<Vec<RcptResult>> {
        // Grouped by target and by envelope sender (forwarded recipients carry an SRS one).
        let mut groups: BTreeMap<(route::Target, Option<String>), Vec<usize>> = BTreeMap::new();
        for i in due {
            let r = &env.recipients[i];
            groups.entry((self.router.route(&r.address), r.mail_from.clone())).or_default().push(i);
        }
        let body = self.load_body(&env.id).await?;
        let env = Arc::new(env.clone());
        let mut jobs = tokio::task::JoinSet::new();
        for ((target, sender), rcpts) in groups {
            for chunk in rcpts.chunks(RCPTS_PER_JOB) {
                let forced = chunk.iter().any(|&i| operator_retry(&env.recipients[i]));
                let job = Job { env: env.clone(), body: body.clone(), rcpts: chunk.to_vec(), destination: target.key.clone(), sender: sender.clone() };
                let transport = self.router.transport(&target);
                let dest = self.destination(&target.key);
                let total = self.total.clone();
                let cfg = self.cfg.clone();
                let rate = self.rate.clone();
                jobs.spawn(async move { run_job(job, transport, dest, total, rate, cfg, forced).await });
            }
        }
        let mut out = Vec::new();
        while let Some(r) = jobs.join_next().await {
            match r {
                Ok(results) => out.extend(results),
                Err(e) => tracing::error!(id = %env.id, error = %e, "delivery task failed"),
            }
        }
        Some(out)
    }

    /// The message's stored content (a large body stays in its file: transports stream it).
    async fn load_body(&self, id: &QueueId) -> Option<Content> {
        match self.queue.body(id) {
            Ok(Some(b)) => Some(b),
            other => {
                tracing::error!(id = %id, result = ?other.map(|b| b.map(|b| b.len())), "cannot read message body");
                None
            }
        }
    }

    fn destination(&self, key: &str) -> Arc<Destination> {
        let mut d = self.destinations.lock().unwrap();
        d.entry(key.to_string())
            .or_insert_with(|| Arc::new(Destination::new(self.cfg.delivery.concurrency_per_destination)))
            .clone()
    }

    /// Updates one recipient from its result and logs the attempt like Postfix does.
    fn apply(&self, env: &mut Envelope, r: &RcptResult, now: u64) {
        let rcpt = &mut env.recipients[r.index];
        let delay = now.saturating_sub(env.arrived);
        let status = format!("{}.{}.{}", r.status.0, r.status.1, r.status.2);
        let kind = match r.verdict {
            Verdict::Delivered => OutcomeKind::Delivered,
            Verdict::Deferred => OutcomeKind::Deferred,
            Verdict::Failed => OutcomeKind::Bounced,
        };
        rcpt.outcome = Some(Outcome {
            kind,
            code: r.diagnostic.as_deref().and_then(reply_code),
            status: status.clone(),
            host: r.relay.clone(),
            text: r.text.clone(),
            at: now,
        });
        match r.verdict {
            Verdict::Delivered => {
                rcpt.state = RcptState::Delivered;
                rcpt.last_error = None;
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, tls = r.tls.map(tracing::field::display), delay, dsn = %status, status = %format!("sent ({})", r.text), "delivery");
            }
            Verdict::Deferred => {
                rcpt.next_attempt = match r.retry_at {
                    Some(t) => t.min(schedule::expires_at(&self.cfg.delivery, env.arrived).max(now + 1)),
                    None => {
                        rcpt.attempts += 1;
                        schedule::next_attempt(&self.cfg.delivery, rcpt.attempts, now, env.arrived)
                    }
                };
                rcpt.last_error = Some(r.text.clone());
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, tls = r.tls.map(tracing::field::display), delay, dsn = %status, status = %format!("deferred ({})", r.text), retry_in = rcpt.next_attempt.saturating_sub(now), "delivery");
            }
            Verdict::Failed => {
                rcpt.attempts += 1;
                rcpt.state = RcptState::Failed;
                rcpt.last_error = Some(r.text.clone());
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, tls = r.tls.map(tracing::field::display), delay, dsn = %status, status = %format!("bounced ({})", r.text), "delivery");
            }
        }
    }

    /// Gives up on every pending recipient of an expired message.
    fn expire(&self, env: &mut Envelope, now: u64) -> Vec<usize> {
        let expired: Vec<usize> =
            (0..env.recipients.len()).filter(|&i| env.recipients[i].state == RcptState::Pending).collect();
        for &i in &expired {
            let rcpt = &mut env.recipients[i];
            let why = rcpt.last_error.clone().unwrap_or_else(|| "no attempt succeeded".into());
            rcpt.state = RcptState::Failed;
            let text = format!("message expired after {} in the queue: {why}", humantime::format_duration(Duration::from_secs(now - env.arrived)));
            let last = rcpt.outcome.take();
            rcpt.outcome = Some(Outcome {
                kind: OutcomeKind::Expired,
                code: last.as_ref().and_then(|o| o.code),
                status: last.as_ref().map_or_else(|| "4.4.7".into(), |o| o.status.clone()),
                host: last.map(|o| o.host).unwrap_or_default(),
                text: text.clone(),
                at: now,
            });
            rcpt.last_error = Some(text);
            tracing::info!(id = %env.id, to = %rcpt.address, status = "expired, returned to sender", "delivery");
        }
        expired
    }

    /// Sends the notices the results call for, then stores or removes the message.
    /// `read` is the envelope as this pass read it, to tell operator changes made meanwhile.
    async fn record(&self, mut env: Envelope, read: &Envelope, results: &[RcptResult], expired: &[usize]) -> Option<u64> {
        bounce::notify(&self.queue, &self.cfg, &self.directory, &mut env, results, expired).await;
        if !has_pending(&env) {
            if let Err(e) = self.queue.remove_lazy(&env.id).await {
                tracing::error!(id = %env.id, error = %e, "cannot remove delivered message");
            }
            tracing::info!(id = %env.id, "removed");
            return None;
        }
        // An operator may have held, retried or deleted the message during the attempt.
        match self.queue.get(&env.id) {
            Ok(Some(current)) => {
                env.held = current.held;
                let changed = current.recipients.iter().zip(&read.recipients).map(|(c, r)| c.next_attempt != r.next_attempt);
                for (mine, operator_retried) in env.recipients.iter_mut().zip(changed) {
                    if operator_retried && mine.state == RcptState::Pending {
                        mine.next_attempt = 0;
                    }
                }
            }
            Ok(None) => return None,
            Err(_) => {}
        }
        if env.held {
            let _ = self.queue.update_lazy(&env).await;
            return None;
        }
        if let Err(e) = self.queue.update_lazy(&env).await {
            tracing::warn!(id = %env.id, error = %e, "cannot record delivery results");
            return None; // most likely deleted meanwhile
        }
        Some(next_due(&env))
    }
}

/// Acquires a slot (total, then destination), honours the destination's backoff, delivers.
async fn run_job(
    job: Job,
    transport: Arc<dyn crate::transport::Transport>,
    dest: Arc<Destination>,
    total: Arc<Semaphore>,
    rate: Arc<dyn Limiter>,
    cfg: Arc<Config>,
    forced: bool,
) -> Vec<RcptResult> {
    let _slot = dest.slots.clone().acquire_owned().await.expect("semaphore open");
    let _total = total.acquire_owned().await.expect("semaphore open");
    let now = unix_now();
    let probe = match dest.admit(now, &cfg.delivery, forced) {
        Admission::Go { probe } => probe,
        Admission::Wait(until, reason) => {
            let (dest, wait) = (&job.destination, until - now);
            let text = format!("delivery to {dest} is backing off after failures, next try in {wait}s: {reason}");
            let mut rcpts = JobResult::all(&job, Verdict::Deferred, (4, 4, 1), text, "none").rcpts;
            rcpts.iter_mut().for_each(|r| r.retry_at = Some(until));
            return rcpts;
        }
    };
    if let Err(wait) = rate.take(Key::Name(&job.destination)).await {
        let until = now + wait.as_secs().max(1);
        let text = format!("delivery to {} is rate limited ({}), next try in {}s", job.destination, cfg.delivery.destination_rate, until - now);
        let mut rcpts = JobResult::all(&job, Verdict::Deferred, (4, 7, 0), text, "none").rcpts;
        rcpts.iter_mut().for_each(|r| r.retry_at = Some(until));
        return rcpts;
    }
    let mut guard = ProbeGuard(probe.then_some(&*dest));
    let result = transport.deliver(&job).await;
    guard.0 = None;
    dest.record(&job.destination, probe, &result, &cfg.delivery);
    let latency = std::time::Duration::from_secs(unix_now().saturating_sub(job.env.arrived));
    for r in &result.rcpts {
        match r.verdict {
            Verdict::Delivered => crate::metrics::delivered(transport.name(), latency),
            Verdict::Deferred => crate::metrics::deferred(transport.name()),
            Verdict::Failed => crate::metrics::bounced(transport.name()),
        }
    }
    result.rcpts
}

/// A recipient that was tried (or held back) before and is due "now": only an operator's
/// retry (`queue retry`) sets a tried recipient's next attempt back to 0.
fn operator_retry(r: &crate::queue::Recipient) -> bool {
    r.next_attempt == 0 && (r.attempts > 0 || r.last_error.is_some())
}

fn has_pending(env: &Envelope) -> bool {
    env.recipients.iter().any(|r| r.state == RcptState::Pending)
}

fn next_due(env: &Envelope) -> u64 {
    env.recipients.iter().filter(|r| r.state == RcptState::Pending).map(|r| r.next_attempt).min().unwrap_or(0)
}

/// The reply code of a Diagnostic-Code `smtp; 550 5.1.1 ...`.
fn reply_code(diagnostic: &str) -> Option<u16> {
    let reply = diagnostic.strip_prefix("smtp;")?.trim_start();
    reply.get(..3)?.parse().ok().filter(|c| (200..600).contains(c))
}
