//! Rate limits: how many events a key (client IP, sender, destination) may have per
//! period. Owns the async `Limiter` trait every store answers and the constructors the
//! rest of the daemon uses; `memory` keeps token buckets in this process, `redis` shares
//! them (and AUTH failures, connection leases) between the nodes of a cluster.
//!
//! Used by the SMTP listeners (connections, MAIL per IP and per user), the HTTP API and
//! the delivery scheduler (per destination).
pub mod memory;
pub mod redis;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What is being counted: a client address, or a name (user, destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

/// The answer of `Limiter::take`: `Err(wait)` when the key is over its rate, with the
/// time until its next event is allowed.
pub type Take<'a> = Pin<Box<dyn Future<Output = Result<(), Duration>> + Send + 'a>>;

/// A rate limit: `count` events per `period` per key, bursting up to `count`.
pub trait Limiter: Send + Sync + std::fmt::Debug {
    /// Counts one event for `key`; `Err(wait)` when it is over the rate (not counted).
    fn take<'a>(&'a self, key: Key<'a>) -> Take<'a>;
    /// Events per period; 0 when the limit is off.
    fn count(&self) -> u32;
}

/// A limit of `rate` (`"30/m"`; empty: none) kept in this process.
pub fn new(rate: &crate::config::Rate) -> Arc<dyn Limiter> {
    Arc::new(memory::TokenBuckets::new(rate.count, rate.period))
}

/// A limit of `rate` named `name` (the key space: "connection", "sender", ...), shared by
/// every node through `store` when there is one, else kept in this process.
pub fn shared(store: Option<&Arc<redis::Store>>, name: &'static str, rate: &crate::config::Rate) -> Arc<dyn Limiter> {
    match store {
        Some(s) if rate.count > 0 => Arc::new(redis::SharedBuckets::new(s.clone(), name, rate.count, rate.period)),
        _ => new(rate),
    }
}

/// A limit of `count` per minute kept in this process (0: none).
pub fn per_minute(count: u32) -> Arc<dyn Limiter> {
    Arc::new(memory::TokenBuckets::new(count, Duration::from_secs(60)))
}
