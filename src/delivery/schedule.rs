//! Retry timing: pure functions of the configuration and the attempt count.
use crate::config::Delivery;
use std::time::Duration;

/// Delay after the `attempts`-th failed attempt: `retry_initial`, doubling, capped at `retry_max`.
pub fn retry_delay(cfg: &Delivery, attempts: u32) -> Duration {
    let initial = cfg.retry_initial.get();
    let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(Duration::MAX).min(cfg.retry_max.get())
}

/// Unix time of the next attempt, never later than the moment the message expires.
pub fn next_attempt(cfg: &Delivery, attempts: u32, now: u64, arrived: u64) -> u64 {
    let next = now.saturating_add(retry_delay(cfg, attempts).as_secs().max(1));
    next.min(expires_at(cfg, arrived).max(now + 1))
}

pub fn expires_at(cfg: &Delivery, arrived: u64) -> u64 {
    arrived.saturating_add(cfg.lifetime.get().as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Duration as D;

    #[test]
    fn default_schedule_doubles_from_one_minute_to_one_hour() {
        let cfg = Delivery::default();
        let delays: Vec<u64> = (1..=9).map(|n| retry_delay(&cfg, n).as_secs()).collect();
        assert_eq!(delays, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(&cfg, 1000).as_secs(), 3600, "no overflow");
    }

    #[test]
    fn seed_schedule_thirty_seconds() {
        let cfg = Delivery { retry_initial: D::from_secs(30), ..Delivery::default() };
        let delays: Vec<u64> = (1..=9).map(|n| retry_delay(&cfg, n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn next_attempt_is_capped_at_expiry() {
        let cfg = Delivery { lifetime: D::from_secs(100), ..Delivery::default() };
        assert_eq!(next_attempt(&cfg, 1, 1000, 950), 1050, "expires at 950+100");
        assert_eq!(next_attempt(&cfg, 1, 1000, 0), 1001, "already expired: look again at once");
        let long = Delivery::default();
        assert_eq!(next_attempt(&long, 2, 1000, 1000), 1120);
    }
}
