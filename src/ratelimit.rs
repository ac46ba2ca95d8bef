//! Token buckets: a key (client IP, sender, destination) may burst up to `count`, then
//! gets one more every `period / count`. Used by the HTTP API, the SMTP listeners and the
//! delivery scheduler.
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, idle (full) buckets are dropped.
const PRUNE_AT: usize = 4096;

#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    count: u32,
    period: Duration,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// `count` per `period`; `count == 0` disables the limit.
    pub fn new(count: u32, period: Duration) -> RateLimiter<K> {
        RateLimiter { count, period, buckets: Mutex::new(HashMap::new()) }
    }

    /// The limiter for a configured rate (`"30/m"`; empty: no limit).
    pub fn for_rate(rate: &crate::config::Rate) -> RateLimiter<K> {
        RateLimiter::new(rate.count, rate.period)
    }

    pub fn per_minute(count: u32) -> RateLimiter<K> {
        RateLimiter::new(count, Duration::from_secs(60))
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn is_enabled(&self) -> bool {
        self.count > 0
    }

    /// Takes one token from `key`'s bucket; `Err(wait)` when it is empty.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.count == 0 {
            return Ok(());
        }
        let cap = f64::from(self.count);
        let per_sec = cap / self.period.as_secs_f64().max(1e-3);
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < cap);
        }
        let b = map.entry(key).or_insert(Bucket { tokens: cap, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_per_ip() {
        let l = RateLimiter::<IpAddr>::per_minute(60);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(l.check(a, t0).is_ok());
        }
        let wait = l.check(a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
        assert!(l.check(b, t0).is_ok(), "other IPs have their own bucket");
        assert!(l.check(a, t0 + Duration::from_millis(1100)).is_ok(), "one token per second comes back");
        assert!(l.check(a, t0 + Duration::from_millis(1200)).is_err());
    }

    #[test]
    fn zero_disables() {
        let l = RateLimiter::<IpAddr>::per_minute(0);
        let ip: IpAddr = "::1".parse().unwrap();
        assert!((0..1000).all(|_| l.check(ip, Instant::now()).is_ok()));
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;

    #[test]
    fn hourly_limit_per_string_key() {
        let l: RateLimiter<String> = RateLimiter::new(2, Duration::from_secs(3600));
        let t0 = Instant::now();
        assert!(l.check("a@x".into(), t0).is_ok());
        assert!(l.check("a@x".into(), t0).is_ok());
        let wait = l.check("a@x".into(), t0).unwrap_err();
        assert!(wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1800), "{wait:?}");
    }
}
