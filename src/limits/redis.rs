//! The store several nodes share: one Redis server (`cluster.redis`). Holds the rate
//! limiters' counters (one atomic Lua script each, like KumoMTA's Redis throttles), the
//! AUTH failure counters, connection leases per destination and the node registry.
//!
//! Shared limits count in fixed windows that start with a key's first event, as Postfix's
//! anvil does per `anvil_rate_time_unit`: `30/m` admits exactly 30 events in the minute
//! after the first, whichever nodes they reach. (The in-process fallback is a token
//! bucket of the same rate.)
//!
//! Owns: the connection, the key namespace (`postern:*`, every key expiring), and the
//! outage rule: a command that fails or takes longer than [`OP_TIMEOUT`] marks Redis down
//! for [`RETRY_AFTER`], logged once and shown as `postern_cluster_redis_up 0`; meanwhile
//! callers fall back to this node's own state, so mail is never refused because Redis is
//! down. The first command that works again brings the shared state back.
//! Must not touch: what a limit is for (callers name their limiters).
use super::memory::TokenBuckets;
use super::{Key, Limiter, Take};
use redis::aio::ConnectionManager;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A Redis command that takes longer counts as an outage (limits must not slow SMTP).
const OP_TIMEOUT: Duration = Duration::from_millis(300);
/// After a failure, Redis is not asked again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
const PREFIX: &str = "postern:";

/// Fixed window: `ARGV[1]` events per `ARGV[2]` ms from the key's first event. Returns 0
/// when the event is allowed (and counted), else the milliseconds until the window ends.
const WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
  return math.max(1, ttl)
end
return 0
";

/// Lease `ARGV[3]` on `KEYS[1]` for `ARGV[2]` ms when fewer than `ARGV[1]` live leases
/// exist; 1 when taken (or renewed), 0 when all are in use.
const LEASE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
";

/// The shared store. Cheap to share (`Arc`); commands run concurrently.
pub struct Store {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    up: AtomicBool,
    /// While down: when to try Redis again.
    retry_at: Mutex<Option<Instant>>,
    node: String,
    window: redis::Script,
    lease: redis::Script,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("node", &self.node).field("up", &self.up).finish() // the URL may hold a password
    }
}

impl Store {
    /// From `[cluster]`: `None` without a Redis URL. Does not connect yet (the first
    /// command does), so a node starts even while Redis is down.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Option<Arc<Store>>, String> {
        let c = &cfg.cluster;
        let url = if !c.redis.is_empty() {
            c.redis.clone()
        } else if let Some(path) = &c.redis_file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cluster.redis_file {}: {e}", path.display()))?;
            text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string).ok_or_else(|| format!("cluster.redis_file {} is empty", path.display()))?
        } else {
            return Ok(None);
        };
        // The error text could quote the URL, and with it a password: not shown.
        let client = redis::Client::open(url.as_str()).map_err(|_| "cluster.redis: not a valid redis:// URL".to_string())?;
        let node = if c.node.is_empty() { cfg.server.hostname.clone() } else { c.node.clone() };
        crate::metrics::cluster_redis_up(true);
        Ok(Some(Arc::new(Store {
            client,
            conn: tokio::sync::Mutex::new(None),
            up: AtomicBool::new(true),
            retry_at: Mutex::new(None),
            node,
            window: redis::Script::new(WINDOW),
            lease: redis::Script::new(LEASE),
        })))
    }

    /// This node's name in the cluster.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether the last command reached Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// `postern:` + the parts joined by `:`.
    pub fn key(parts: &[&str]) -> String {
        let mut k = String::from(PREFIX);
        k.push_str(&parts.join(":"));
        k
    }

    /// Runs one command (or script) against Redis; `None` when Redis is down or fails.
    pub async fn run<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if let Some(at) = *self.retry_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
            && Instant::now() < at
        {
            return None;
        }
        let conn = self.connection().await?;
        match tokio::time::timeout(OP_TIMEOUT, f(conn)).await {
            Ok(Ok(v)) => {
                self.mark_up();
                Some(v)
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("no answer within 300 ms");
                None
            }
        }
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_ref() {
            return Some(c.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1);
        match tokio::time::timeout(OP_TIMEOUT * 2, ConnectionManager::new_with_config(self.client.clone(), config)).await {
            Ok(Ok(c)) => {
                *conn = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("cannot connect within 600 ms");
                None
            }
        }
    }

    fn mark_down(&self, why: &str) {
        *self.retry_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + RETRY_AFTER);
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(node = %self.node, error = %why, "Redis unavailable: this node uses its own limits until it is back");
            crate::metrics::cluster_redis_up(false);
        }
    }

    fn mark_up(&self) {
        *self.retry_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(node = %self.node, "Redis is back: limits are shared again");
            crate::metrics::cluster_redis_up(true);
        }
    }

    /// Counts one event on `key`: `Some(Ok)` allowed, `Some(Err(wait))` over the rate,
    /// `None` Redis unavailable.
    async fn count_event(&self, key: &str, count: u32, period: Duration) -> Option<Result<(), Duration>> {
        let window = (period.as_millis() as u64).max(1);
        let wait: i64 = self
            .run(|mut c| {
                let script = self.window.clone();
                let key = key.to_string();
                async move { script.key(key).arg(count).arg(window).invoke_async(&mut c).await }
            })
            .await?;
        Some(if wait <= 0 { Ok(()) } else { Err(Duration::from_millis(wait as u64)) })
    }

    /// Counts an AUTH failure of `who` (kept 15 minutes); `None` when Redis is down.
    pub async fn auth_failure(&self, who: &str, window: Duration) -> Option<u32> {
        let key = Store::key(&["authfail", who]);
        self.run(|mut c| async move {
            let (n,): (u32,) = redis::pipe().atomic().incr(&key, 1).ignore().expire(&key, window.as_secs() as i64).ignore().get(&key).query_async(&mut c).await?;
            Ok(n)
        })
        .await
    }

    /// AUTH failures of `who` in the window; `None` when Redis is down.
    pub async fn auth_failures(&self, who: &str) -> Option<u32> {
        let key = Store::key(&["authfail", who]);
        self.run(|mut c| async move { redis::cmd("GET").arg(&key).query_async::<Option<u32>>(&mut c).await.map(Option::unwrap_or_default) }).await
    }

    /// Forgets `who`'s failures (a successful login).
    pub async fn auth_clear(&self, who: &str) {
        let key = Store::key(&["authfail", who]);
        let _ = self.run(|mut c| async move { redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await }).await;
    }

    /// Claims `key` for `ttl` (SET NX EX): `Some(true)` when this call made the claim,
    /// `Some(false)` when someone (any node) holds it, `None` when Redis is down.
    pub async fn claim(&self, key: &str, ttl: Duration) -> Option<bool> {
        let key = key.to_string();
        let set: Option<String> = self
            .run(|mut c| async move { redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("EX").arg(ttl.as_secs().max(1)).query_async(&mut c).await })
            .await?;
        Some(set.is_some())
    }

    /// Takes (or renews) lease `id` among at most `limit` on `name` for `ttl`.
    /// `Some(false)`: all leases are in use; `None`: Redis down (go on without one).
    pub async fn lease(&self, name: &str, limit: usize, id: &str, ttl: Duration) -> Option<bool> {
        let key = Store::key(&["lease", name]);
        let got: i64 = self
            .run(|mut c| {
                let script = self.lease.clone();
                let id = id.to_string();
                async move { script.key(key).arg(limit).arg(ttl.as_millis() as u64).arg(id).invoke_async(&mut c).await }
            })
            .await?;
        Some(got == 1)
    }

    /// Gives lease `id` on `name` back.
    pub async fn release(&self, name: &str, id: &str) {
        let key = Store::key(&["lease", name]);
        let _ = self.run(|mut c| async move { redis::cmd("ZREM").arg(&key).arg(id).query_async::<()>(&mut c).await }).await;
    }
}

/// A rate limit kept in Redis for every node (`limits.sender_rate` and the others), in
/// fixed windows; while Redis is down, this node's own token buckets answer.
#[derive(Debug)]
pub struct SharedBuckets {
    name: &'static str,
    count: u32,
    period: Duration,
    store: Arc<Store>,
    local: TokenBuckets,
}

impl SharedBuckets {
    pub fn new(store: Arc<Store>, name: &'static str, count: u32, period: Duration) -> SharedBuckets {
        SharedBuckets { name, count, period, store, local: TokenBuckets::new(count, period) }
    }
}

impl Limiter for SharedBuckets {
    fn take<'a>(&'a self, key: Key<'a>) -> Take<'a> {
        Box::pin(async move {
            if self.count == 0 {
                return Ok(());
            }
            let id = match key {
                Key::Ip(ip) => ip.to_string(),
                Key::Name(n) => n.to_ascii_lowercase(),
            };
            match self.store.count_event(&Store::key(&["rate", self.name, &id]), self.count, self.period).await {
                Some(verdict) => verdict,
                None => self.local.check(key, Instant::now()),
            }
        })
    }

    fn count(&self) -> u32 {
        self.count
    }
}
