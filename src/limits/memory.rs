//! Token buckets in this process: a key may burst up to `count`, then gets one more
//! every `period / count`. The `Limiter` of a single node.
use super::{Key, Limiter, Take};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, idle (full) buckets are dropped.
const PRUNE_AT: usize = 4096;

/// A bucket's key, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum OwnedKey {
    Ip(IpAddr),
    Name(Box<str>),
}

impl From<Key<'_>> for OwnedKey {
    fn from(k: Key<'_>) -> OwnedKey {
        match k {
            Key::Ip(ip) => OwnedKey::Ip(ip),
            Key::Name(n) => OwnedKey::Name(n.into()),
        }
    }
}

#[derive(Debug)]
pub struct TokenBuckets {
    count: u32,
    period: Duration,
    buckets: Mutex<HashMap<OwnedKey, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl TokenBuckets {
    /// `count` per `period`; `count == 0` disables the limit.
    pub fn new(count: u32, period: Duration) -> TokenBuckets {
        TokenBuckets { count, period, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `key`'s bucket; `Err(wait)` when it is empty.
    pub fn check(&self, key: Key<'_>, now: Instant) -> Result<(), Duration> {
        if self.count == 0 {
            return Ok(());
        }
        let cap = f64::from(self.count);
        let per_sec = cap / self.period.as_secs_f64().max(1e-3);
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < cap);
        }
        let b = map.entry(key.into()).or_insert(Bucket { tokens: cap, at: now });
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

impl Limiter for TokenBuckets {
    fn take<'a>(&'a self, key: Key<'a>) -> Take<'a> {
        let verdict = self.check(key, Instant::now());
        Box::pin(std::future::ready(verdict))
    }

    fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_per_ip() {
        let l = TokenBuckets::new(60, Duration::from_secs(60));
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(l.check(Key::Ip(a), t0).is_ok());
        }
        let wait = l.check(Key::Ip(a), t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
        assert!(l.check(Key::Ip(b), t0).is_ok(), "other IPs have their own bucket");
        assert!(l.check(Key::Ip(a), t0 + Duration::from_millis(1100)).is_ok(), "one token per second comes back");
        assert!(l.check(Key::Ip(a), t0 + Duration::from_millis(1200)).is_err());
    }

    #[test]
    fn zero_disables() {
        let l = TokenBuckets::new(0, Duration::from_secs(60));
        let ip: IpAddr = "::1".parse().unwrap();
        assert!((0..1000).all(|_| l.check(Key::Ip(ip), Instant::now()).is_ok()));
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;

    #[test]
    fn hourly_limit_per_string_key() {
        let l = TokenBuckets::new(2, Duration::from_secs(3600));
        let t0 = Instant::now();
        assert!(l.check(Key::Name("a@x"), t0).is_ok());
        assert!(l.check(Key::Name("a@x"), t0).is_ok());
        let wait = l.check(Key::Name("a@x"), t0).unwrap_err();
        assert!(wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1800), "{wait:?}");
    }
}
