//! Per-destination state for the scheduler: connection slots and backoff.
//!
//! A destination that failed as a whole (`JobResult::destination_failed`: unreachable,
//! DNS trouble, greeting refused) waits out its backoff; then one job probes it while the
//! others keep waiting, so a dead destination sees one connection per backoff window
//! instead of one per queued message. Any answer from it ends the backoff.
use super::schedule;
use crate::config::Delivery;
use crate::proto::rfc5322::unix_now;
use crate::transport::JobResult;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Per-destination state: its connection slots and its backoff.
pub(super) struct Destination {
    pub(super) slots: Arc<Semaphore>,
    backoff: Mutex<Backoff>,
}

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

pub(super) enum Admission {
    /// Deliver; `probe` when this job tests a failing destination.
    Go { probe: bool },
    /// Do not try before this unix time; the destination's last error.
    Wait(u64, String),
}

impl Destination {
    pub(super) fn new(concurrency: usize) -> Destination {
        Destination { slots: Arc::new(Semaphore::new(concurrency)), backoff: Mutex::default() }
    }

    /// `forced`: an operator asked for this retry (Postfix `postqueue -f` flushes dead
    /// destinations too); it goes now, without taking the probe's place.
    pub(super) fn admit(&self, now: u64, cfg: &Delivery, forced: bool) -> Admission {
        let mut b = self.backoff.lock().unwrap();
        if b.failures == 0 || forced {
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
    pub(super) fn record(&self, name: &str, probe: bool, result: &JobResult, cfg: &Delivery) {
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
pub(super) struct ProbeGuard<'a>(pub(super) Option<&'a Destination>);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.0 {
            d.backoff.lock().unwrap().probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Duration as D;
    use crate::transport::{RcptResult, Verdict};

    fn dest() -> Destination {
        Destination::new(1)
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
            tls: None,
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
        assert_eq!(is_go(&d.admit(now, &cfg, false)), Some(false), "healthy: everyone goes");
        // Three concurrent jobs failed: one window, not three.
        for _ in 0..3 {
            d.record("x.test", false, &outcome(true), &cfg);
        }
        assert_eq!(d.backoff.lock().unwrap().failures, 1);
        assert!(matches!(d.admit(now, &cfg, false), Admission::Wait(t, why) if t >= now + 59 && why.contains("Connection refused")));
        assert_eq!(is_go(&d.admit(now, &cfg, true)), Some(false), "an operator retry goes at once, not as the probe");
        // After the window: exactly one probe; the others wait for it.
        let later = now + 61;
        assert_eq!(is_go(&d.admit(later, &cfg, false)), Some(true));
        assert!(matches!(d.admit(later, &cfg, false), Admission::Wait(t, _) if t == later + 60));
        d.record("x.test", true, &outcome(true), &cfg);
        let b = d.backoff.lock().unwrap();
        assert_eq!((b.failures, b.probing), (2, false), "the failed probe lengthens the backoff");
        assert!(b.until >= unix_now() + 119);
        drop(b);
        d.record("x.test", false, &outcome(false), &cfg);
        assert_eq!(is_go(&d.admit(unix_now(), &cfg, false)), Some(false), "the destination answered: open again");
    }

    #[test]
    fn a_probe_that_ends_without_result_is_released() {
        let cfg = Delivery::default();
        let d = dest();
        d.record("x.test", false, &outcome(true), &cfg);
        d.backoff.lock().unwrap().until = 0;
        assert_eq!(is_go(&d.admit(unix_now(), &cfg, false)), Some(true));
        drop(ProbeGuard(Some(&d)));
        assert_eq!(is_go(&d.admit(unix_now(), &cfg, false)), Some(true), "a new probe may go");
    }
}
