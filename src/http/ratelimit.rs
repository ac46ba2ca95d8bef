//! Requests per client IP per minute, as a token bucket: a client may burst up to the
//! limit, then gets one request every 60/limit seconds.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked IPs, idle (full) buckets are dropped.
const PRUNE_AT: usize = 4096;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute == 0` disables the limit.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one request from `ip`'s bucket; `Err(wait)` when it is empty.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let per_sec = cap / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < cap);
        }
        let b = map.entry(ip).or_insert(Bucket { tokens: cap, at: now });
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
        let l = RateLimiter::new(60);
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
        let l = RateLimiter::new(0);
        let ip: IpAddr = "::1".parse().unwrap();
        assert!((0..1000).all(|_| l.check(ip, Instant::now()).is_ok()));
    }
}
