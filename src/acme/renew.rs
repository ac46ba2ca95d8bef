//! When to (re)issue: pure schedule functions, and the background loop that issues at
//! start when no valid certificate is stored, renews before expiry, retries failures with
//! exponential backoff and records every step in status.json.
use super::challenges::Challenges;
use super::store::{self, Status};
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;

/// One attempt may not run longer than this (the CA's own waits are bounded below it).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(600);
/// Re-evaluate the schedule at least this often (wall-clock jumps, suspended machines).
const MAX_SLEEP: i64 = 3600;

/// Renew `renew_before` ahead of expiry; a certificate living less than three times that
/// (a short-lived one) at 2/3 of its lifetime instead, so it is used before it is renewed.
pub fn renew_at(not_before: i64, not_after: i64, renew_before: Duration) -> i64 {
    let lifetime = (not_after - not_before).max(0);
    (not_after - renew_before.as_secs() as i64).max(not_before + lifetime * 2 / 3)
}

/// The wait after the `failures`-th failure in a row: initial, doubling, capped.
pub fn retry_delay(initial: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(max).min(max)
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Runs until `shutdown`; `install` swaps a newly stored certificate into the listeners.
pub async fn run(cfg: Arc<Config>, challenges: Arc<Challenges>, mut shutdown: tokio::sync::watch::Receiver<bool>, install: Box<dyn Fn() + Send + Sync>) {
    let a = &cfg.acme;
    let mut status = Status {
        directory: a.directory.trim().to_string(),
        challenge: match a.challenge {
            crate::config::AcmeChallenge::Http01 => "http-01",
            crate::config::AcmeChallenge::TlsAlpn01 => "tls-alpn-01",
        }
        .into(),
        domains: cfg.acme_domains(),
        ..Default::default()
    };
    let mut last_failure = 0i64;
    loop {
        let now = unix_now();
        let due = match store::current(&cfg, now) {
            Some((_, _, info)) => {
                (status.issuer, status.serial, status.not_after) = (Some(info.issuer), Some(info.serial), Some(info.not_after));
                renew_at(info.not_before, info.not_after, a.renew_before.get())
            }
            None => now,
        };
        let due = if status.failures > 0 {
            last_failure + retry_delay(a.retry_initial.get(), a.retry_max.get(), status.failures).as_secs() as i64
        } else {
            due
        };
        if status.next_attempt != Some(due) {
            status.next_attempt = Some(due);
            store::write_status(&cfg, &status);
            if due > now {
                tracing::info!(in_secs = due - now, "acme: next issuance attempt scheduled");
            }
        }
        if due > now {
            let nap = Duration::from_secs((due - now).min(MAX_SLEEP) as u64);
            tokio::select! {
                _ = tokio::time::sleep(nap) => continue,
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
        status.last_attempt = Some(now);
        tracing::info!(domains = %status.domains.join(","), directory = %status.directory, "acme: requesting a certificate");
        let result = tokio::select! {
            r = tokio::time::timeout(ATTEMPT_TIMEOUT, super::issue::issue(&cfg, &challenges)) => r.unwrap_or_else(|_| Err(format!("no certificate within {ATTEMPT_TIMEOUT:?}"))),
            _ = shutdown.wait_for(|s| *s) => return,
        };
        challenges.clear();
        match result {
            Ok(info) => {
                (status.failures, status.last_error, status.last_success) = (0, None, Some(unix_now()));
                (status.issuer, status.serial, status.not_after) = (Some(info.issuer), Some(info.serial), Some(info.not_after));
                install();
            }
            Err(e) => {
                status.failures += 1;
                last_failure = unix_now();
                let wait = retry_delay(a.retry_initial.get(), a.retry_max.get(), status.failures);
                tracing::error!(error = %e, failures = status.failures, retry_in = %humantime::format_duration(wait), "acme: issuance failed; the current certificate stays in use");
                status.last_error = Some(e);
            }
        }
        status.next_attempt = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_30_days_ahead_or_at_two_thirds() {
        let day = 86400;
        let thirty = Duration::from_secs(30 * day as u64);
        // 90-day certificate: both rules agree on day 60.
        assert_eq!(renew_at(0, 90 * day, thirty), 60 * day);
        // 1-year certificate: 30 days before expiry (not at 2/3).
        assert_eq!(renew_at(0, 365 * day, thirty), 335 * day);
        // 60-second certificate (a test CA): at 40 s.
        assert_eq!(renew_at(1000, 1060, thirty), 1040);
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let (m, h) = (Duration::from_secs(60), Duration::from_secs(6 * 3600));
        let delays: Vec<u64> = (1..=11).map(|n| retry_delay(m, h, n).as_secs()).collect();
        assert_eq!(delays, [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]);
        assert_eq!(retry_delay(m, h, 200), h, "no overflow");
    }
}
