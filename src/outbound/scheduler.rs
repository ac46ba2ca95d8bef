//! The scheduler: decides when each queued recipient is tried, groups recipients by
//! destination, limits concurrency per destination and in total, backs off failing
//! destinations, and records results (then bounces, delay notices, removal).
//!
//! Delivery is at-least-once: results are written without waiting for the disk, so a
//! crash can repeat a delivery, never lose one. On start every pending recipient is
//! scheduled again.
use super::bounce;
use super::route::{self, Router};
use super::schedule;
use crate::config::Config;
use crate::queue::{Envelope, Queue, QueueId, RcptState};
use crate::rfc5322::unix_now;
use crate::transport::{Job, JobResult, RcptResult, Verdict};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Recipients per SMTP transaction (Postfix: smtp_destination_recipient_limit).
const RCPTS_PER_JOB: usize = 50;

/// Per-destination state: its connection slots and its backoff.
struct Destination {
    slots: Arc<Semaphore>,
    backoff: Mutex<Backoff>,
}

/// Why a destination is not tried now. A destination that failed as a whole
/// (`JobResult::destination_failed`) waits out its backoff; then one job probes it while
/// the others keep waiting, so a dead destination sees one connection per backoff window
/// instead of one per queued message.
#[derive(Default)]
struct Backoff {
    /// Unix time before which nothing is tried.
    until: u64,
    /// Consecutive failed windows; 0 = healthy.
    failures: u32,
    /// A job is probing the destination after its backoff.
    probing: bool,
    /// What went wrong last, for the recipients that wait (their queue entry and DSN).
    reason: String,
}

enum Admission {
    /// Deliver; `probe` when this job tests a failing destination.
    Go { probe: bool },
    /// Do not try before this unix time; the destination's last error.
    Wait(u64, String),
}

impl Destination {
    fn admit(&self, now: u64, cfg: &crate::config::Delivery) -> Admission {
        let mut b = self.backoff.lock().unwrap();
        if b.failures == 0 {
            Admission::Go { probe: false }
        } else if b.until > now {
            Admission::Wait(b.until, b.reason.clone())
        } else if b.probing {
            // Not long: if the probe succeeds, the destination is open again.
            Admission::Wait(now + schedule::retry_delay(cfg, 1).as_secs().max(1), b.reason.clone())
        } else {
            b.probing = true;
            Admission::Go { probe: true }
        }
    }

    /// Records a job's outcome: a failure of the destination starts (or, for a probe,
    /// lengthens) the backoff; an answer from it ends the backoff.
    fn record(&self, name: &str, probe: bool, result: &JobResult, cfg: &crate::config::Delivery) {
        let mut b = self.backoff.lock().unwrap();
        if probe {
            b.probing = false;
        }
        if !result.destination_failed {
            *b = Backoff::default();
            return;
        }
        b.reason = result.rcpts.first().map(|r| r.text.clone()).unwrap_or_default();
        // Jobs that ran concurrently with the first failure do not count as more windows.
        if b.failures == 0 || probe {
            b.failures += 1;
        }
        let now = unix_now();
        b.until = b.until.max(now + schedule::retry_delay(cfg, b.failures).as_secs());
        tracing::info!(destination = %name, failures = b.failures, backoff_secs = b.until.saturating_sub(now), "destination backing off");
    }
}

/// Clears a probe that ended without a result (a panicking transport), so the
/// destination is not left waiting for it forever.
struct ProbeGuard<'a>(Option<&'a Destination>);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.0 {
            d.backoff.lock().unwrap().probing = false;
        }
    }
}

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
}

impl Scheduler {
    pub fn new(queue: Queue, cfg: Arc<Config>, router: Router) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            total: Arc::new(Semaphore::new(cfg.delivery.concurrency)),
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
        let now = unix_now();
        if now >= schedule::expires_at(&self.cfg.delivery, env.arrived) {
            let expired = self.expire(&mut env, now);
            return self.record(env, &[], &expired).await;
        }
        let due: Vec<usize> = (0..env.recipients.len())
            .filter(|&i| env.recipients[i].state == RcptState::Pending && env.recipients[i].next_attempt <= now)
            .collect();
        if due.is_empty() {
            return Some(next_due(&env));
        }
        let results = self.deliver(&env, due).await;
        let now = unix_now();
        for r in &results {
            self.apply(&mut env, r, now);
        }
        self.record(env, &results, &[]).await
    }

    /// Runs one job per destination (and per RCPTS_PER_JOB recipients), concurrently.
    async fn deliver(&self, env: &Envelope, due: Vec<usize>) -> Vec<RcptResult> {
        // Grouped by target and by envelope sender (forwarded recipients carry an SRS one).
        let mut groups: BTreeMap<(route::Target, Option<String>), Vec<usize>> = BTreeMap::new();
        for i in due {
            let r = &env.recipients[i];
            groups.entry((self.router.route(&r.address), r.mail_from.clone())).or_default().push(i);
        }
        let body = match self.load_body(&env.id).await {
            Some(b) => b,
            None => return Vec::new(),
        };
        let env = Arc::new(env.clone());
        let mut jobs = tokio::task::JoinSet::new();
        for ((target, sender), rcpts) in groups {
            for chunk in rcpts.chunks(RCPTS_PER_JOB) {
                let job = Job { env: env.clone(), body: body.clone(), rcpts: chunk.to_vec(), destination: target.key.clone(), sender: sender.clone() };
                let transport = self.router.transport(&target);
                let dest = self.destination(&target.key);
                let total = self.total.clone();
                let cfg = self.cfg.clone();
                jobs.spawn(async move { run_job(job, transport, dest, total, cfg).await });
            }
        }
        let mut out = Vec::new();
        while let Some(r) = jobs.join_next().await {
            match r {
                Ok(results) => out.extend(results),
                Err(e) => tracing::error!(id = %env.id, error = %e, "delivery task failed"),
            }
        }
        out
    }

    async fn load_body(&self, id: &QueueId) -> Option<Arc<Vec<u8>>> {
        let q = self.queue.clone();
        let id2 = id.clone();
        match tokio::task::spawn_blocking(move || q.body(&id2)).await {
            Ok(Ok(Some(b))) => Some(Arc::new(b)),
            other => {
                tracing::error!(id = %id, result = ?other.map(|r| r.map(|b| b.map(|b| b.len()))), "cannot read message body");
                None
            }
        }
    }

    fn destination(&self, key: &str) -> Arc<Destination> {
        let mut d = self.destinations.lock().unwrap();
        d.entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Destination {
                    slots: Arc::new(Semaphore::new(self.cfg.delivery.concurrency_per_destination)),
                    backoff: Mutex::default(),
                })
            })
            .clone()
    }

    /// Updates one recipient from its result and logs the attempt like Postfix does.
    fn apply(&self, env: &mut Envelope, r: &RcptResult, now: u64) {
        let rcpt = &mut env.recipients[r.index];
        let delay = now.saturating_sub(env.arrived);
        let status = format!("{}.{}.{}", r.status.0, r.status.1, r.status.2);
        match r.verdict {
            Verdict::Delivered => {
                rcpt.state = RcptState::Delivered;
                rcpt.last_error = None;
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, delay, dsn = %status, status = %format!("sent ({})", r.text), "delivery");
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
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, delay, dsn = %status, status = %format!("deferred ({})", r.text), retry_in = rcpt.next_attempt.saturating_sub(now), "delivery");
            }
            Verdict::Failed => {
                rcpt.attempts += 1;
                rcpt.state = RcptState::Failed;
                rcpt.last_error = Some(r.text.clone());
                tracing::info!(id = %env.id, to = %rcpt.address, relay = %r.relay, delay, dsn = %status, status = %format!("bounced ({})", r.text), "delivery");
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
            rcpt.last_error = Some(format!("message expired after {} in the queue: {why}", humantime::format_duration(Duration::from_secs(now - env.arrived))));
            tracing::info!(id = %env.id, to = %rcpt.address, status = "expired, returned to sender", "delivery");
        }
        expired
    }

    /// Sends the notices the results call for, then stores or removes the message.
    async fn record(&self, mut env: Envelope, results: &[RcptResult], expired: &[usize]) -> Option<u64> {
        bounce::notify(&self.queue, &self.cfg, &mut env, results, expired).await;
        if !has_pending(&env) {
            if let Err(e) = self.queue.remove_lazy(&env.id).await {
                tracing::error!(id = %env.id, error = %e, "cannot remove delivered message");
            }
            tracing::info!(id = %env.id, "removed");
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
    cfg: Arc<Config>,
) -> Vec<RcptResult> {
    let _slot = dest.slots.clone().acquire_owned().await.expect("semaphore open");
    let _total = total.acquire_owned().await.expect("semaphore open");
    let now = unix_now();
    let probe = match dest.admit(now, &cfg.delivery) {
        Admission::Go { probe } => probe,
        Admission::Wait(until, reason) => {
            let (dest, wait) = (&job.destination, until - now);
            let text = format!("delivery to {dest} is backing off after failures, next try in {wait}s: {reason}");
            let mut rcpts = JobResult::all(&job, Verdict::Deferred, (4, 4, 1), text, "none").rcpts;
            rcpts.iter_mut().for_each(|r| r.retry_at = Some(until));
            return rcpts;
        }
    };
    let mut guard = ProbeGuard(probe.then_some(&*dest));
    let result = transport.deliver(&job).await;
    guard.0 = None;
    dest.record(&job.destination, probe, &result, &cfg.delivery);
    result.rcpts
}

fn has_pending(env: &Envelope) -> bool {
    env.recipients.iter().any(|r| r.state == RcptState::Pending)
}

fn next_due(env: &Envelope) -> u64 {
    env.recipients.iter().filter(|r| r.state == RcptState::Pending).map(|r| r.next_attempt).min().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Delivery, Duration as D};

    fn dest() -> Destination {
        Destination { slots: Arc::new(Semaphore::new(1)), backoff: Mutex::default() }
    }

    fn outcome(destination_failed: bool) -> JobResult {
        let r = RcptResult {
            index: 0,
            verdict: Verdict::Deferred,
            status: (4, 4, 1),
            text: "connect to mx.x.test[192.0.2.1]:25: Connection refused".into(),
            diagnostic: None,
            relay: "none".into(),
            retry_at: None,
        };
        JobResult { rcpts: vec![r], destination_failed }
    }

    fn is_go(a: &Admission) -> Option<bool> {
        match a {
            Admission::Go { probe } => Some(*probe),
            Admission::Wait(..) => None,
        }
    }

    #[test]
    fn one_probe_per_backoff_window_and_an_answer_reopens() {
        let cfg = Delivery { retry_initial: D::from_secs(60), ..Delivery::default() };
        let d = dest();
        let now = unix_now();
        assert_eq!(is_go(&d.admit(now, &cfg)), Some(false), "healthy: everyone goes");
        // Three concurrent jobs failed: one window, not three.
        for _ in 0..3 {
            d.record("x.test", false, &outcome(true), &cfg);
        }
        assert_eq!(d.backoff.lock().unwrap().failures, 1);
        assert!(matches!(d.admit(now, &cfg), Admission::Wait(t, why) if t >= now + 59 && why.contains("Connection refused")));
        // After the window: exactly one probe; the others wait for it.
        let later = now + 61;
        assert_eq!(is_go(&d.admit(later, &cfg)), Some(true));
        assert!(matches!(d.admit(later, &cfg), Admission::Wait(t, _) if t == later + 60));
        d.record("x.test", true, &outcome(true), &cfg);
        let b = d.backoff.lock().unwrap();
        assert_eq!((b.failures, b.probing), (2, false), "the failed probe lengthens the backoff");
        assert!(b.until >= unix_now() + 119);
        drop(b);
        d.record("x.test", false, &outcome(false), &cfg);
        assert_eq!(is_go(&d.admit(unix_now(), &cfg)), Some(false), "the destination answered: open again");
    }

    #[test]
    fn a_probe_that_ends_without_result_is_released() {
        let cfg = Delivery::default();
        let d = dest();
        d.record("x.test", false, &outcome(true), &cfg);
        d.backoff.lock().unwrap().until = 0;
        assert_eq!(is_go(&d.admit(unix_now(), &cfg)), Some(true));
        drop(ProbeGuard(Some(&d)));
        assert_eq!(is_go(&d.admit(unix_now(), &cfg)), Some(true), "a new probe may go");
    }
}
