//! Per-IP and total connection counting, and AUTH failure tracking per client IP.
use std::collections::HashMap;
use crate::limits::Limiter;
use crate::limits::redis::Store;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts open sessions; a `ConnGuard` releases its slot when dropped.
#[derive(Debug)]
pub struct ConnLimiter {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

#[derive(Debug)]
pub struct ConnGuard {
    limiter: Arc<ConnLimiter>,
    ip: IpAddr,
}

impl ConnLimiter {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(ConnLimiter { max_total, max_per_ip, open: Mutex::new((0, HashMap::new())) })
    }

    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnGuard> {
        let mut open = self.open.lock().unwrap();
        let per_ip = open.1.get(&ip).copied().unwrap_or(0);
        if open.0 >= self.max_total || per_ip >= self.max_per_ip {
            return None;
        }
        open.0 += 1;
        open.1.insert(ip, per_ip + 1);
        Some(ConnGuard { limiter: self.clone(), ip })
    }

    pub fn open_sessions(&self) -> usize {
        self.open.lock().unwrap().0
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap();
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// The configured rates (limits.*_rate): new connections and MAIL commands per client IP,
/// messages per authenticated user.
#[derive(Debug)]
pub struct Rates {
    pub connections: Arc<dyn Limiter>,
    pub messages: Arc<dyn Limiter>,
    pub senders: Arc<dyn Limiter>,
}

impl Rates {
    /// Kept in this process, or shared by the cluster's nodes through `store`.
    pub fn new(l: &crate::config::Limits, store: Option<&Arc<Store>>) -> Rates {
        Rates {
            connections: crate::limits::shared(store, "connection", &l.connection_rate),
            messages: crate::limits::shared(store, "message", &l.message_rate),
            senders: crate::limits::shared(store, "sender", &l.sender_rate),
        }
    }
}

/// Failed logins (SMTP AUTH and the web UI) per client IP, and per account name, within
/// a sliding window. The per-account count stops one name being guessed from many IPs. In a
/// cluster the counts are Redis's (every node's failures), this node's own while Redis is down.
#[derive(Debug, Default)]
pub struct AuthFailures {
    by_ip: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    by_account: Mutex<HashMap<String, (u32, Instant)>>,
    shared: Option<Arc<Store>>,
}

/// Most account names remembered: a flood of invented names cannot grow the map further
/// (the oldest are dropped first).
const MAX_ACCOUNTS: usize = 10_000;
/// Characters of a name that count (an address is at most 254): long junk names stay small.
const MAX_NAME: usize = 320;

fn account_key(account: &str) -> String {
    account.chars().take(MAX_NAME).collect::<String>().to_lowercase()
}

const WINDOW: Duration = Duration::from_secs(15 * 60);

impl AuthFailures {
    pub fn new(shared: Option<Arc<Store>>) -> AuthFailures {
        AuthFailures { by_ip: Mutex::default(), by_account: Mutex::default(), shared }
    }

    /// Records a failure; returns the number of failures in the window, this one included.
    pub async fn record(&self, ip: IpAddr) -> u32 {
        let local = {
            let mut m = self.by_ip.lock().unwrap();
            let now = Instant::now();
            m.retain(|_, (_, last)| now.duration_since(*last) < WINDOW);
            let e = m.entry(ip).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
            e.0
        };
        match &self.shared {
            Some(s) => s.auth_failure(&ip.to_string(), WINDOW).await.unwrap_or(local),
            None => local,
        }
    }

    pub async fn count(&self, ip: IpAddr) -> u32 {
        let local = {
            let m = self.by_ip.lock().unwrap();
            m.get(&ip).filter(|(_, last)| last.elapsed() < WINDOW).map_or(0, |(n, _)| *n)
        };
        match &self.shared {
            Some(s) => s.auth_failures(&ip.to_string()).await.unwrap_or(local),
            None => local,
        }
    }

    pub async fn clear(&self, ip: IpAddr) {
        self.by_ip.lock().unwrap().remove(&ip);
        if let Some(s) = &self.shared {
            s.auth_clear(&ip.to_string()).await;
        }
    }

    /// Records a failed login for `account` (compared case-insensitively); returns the
    /// failures in the window, this one included.
    pub async fn record_account(&self, account: &str) -> u32 {
        let key = account_key(account);
        let local = {
            let mut m = self.by_account.lock().unwrap();
            let now = Instant::now();
            m.retain(|_, (_, last)| now.duration_since(*last) < WINDOW);
            if m.len() >= MAX_ACCOUNTS
                && let Some(oldest) = m.iter().min_by_key(|(_, (_, last))| *last).map(|(k, _)| k.clone())
            {
                m.remove(&oldest);
            }
            let e = m.entry(key.clone()).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
            e.0
        };
        match &self.shared {
            Some(s) => s.auth_failure(&format!("account:{key}"), WINDOW).await.unwrap_or(local),
            None => local,
        }
    }

    pub async fn count_account(&self, account: &str) -> u32 {
        let key = account_key(account);
        let local = {
            let m = self.by_account.lock().unwrap();
            m.get(&key).filter(|(_, last)| last.elapsed() < WINDOW).map_or(0, |(n, _)| *n)
        };
        match &self.shared {
            Some(s) => s.auth_failures(&format!("account:{key}")).await.unwrap_or(local),
            None => local,
        }
    }

    pub async fn clear_account(&self, account: &str) {
        let key = account_key(account);
        self.by_account.lock().unwrap().remove(&key);
        if let Some(s) = &self.shared {
            s.auth_clear(&format!("account:{key}")).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_total_and_per_ip() {
        let l = ConnLimiter::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let g1 = l.try_acquire(a).unwrap();
        let _g2 = l.try_acquire(a).unwrap();
        assert!(l.try_acquire(a).is_none(), "per-ip limit");
        let _g3 = l.try_acquire(b).unwrap();
        assert!(l.try_acquire(b).is_none(), "total limit");
        drop(g1);
        assert!(l.try_acquire(a).is_some());
    }

    #[tokio::test]
    async fn auth_failures_count_per_ip() {
        let f = AuthFailures::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(f.record(a).await, 1);
        assert_eq!(f.record(a).await, 2);
        assert_eq!(f.count("10.0.0.2".parse().unwrap()).await, 0);
        f.clear(a).await;
        assert_eq!(f.count(a).await, 0);
        assert_eq!(f.record_account("Alice@X.test").await, 1);
        assert_eq!(f.record_account("alice@x.test").await, 2);
        assert_eq!(f.count_account("ALICE@x.test").await, 2);
        f.clear_account("alice@x.test").await;
        assert_eq!(f.count_account("alice@x.test").await, 0);
    }
}
