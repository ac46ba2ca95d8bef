//! Cluster membership: each node writes a heartbeat to the shared Redis (an expiring key
//! with its name, HTTP address, queue size, delivery rate and whether it is draining), and
//! `postern cluster status` lists the nodes whose heartbeat is current.
//!
//! Owns: the `postern:node:<name>` records. Must not touch: limits (see `limits::redis`),
//! the queue's contents.
use crate::limits::redis::Store;
use crate::queue::Queue;
use std::sync::Arc;
use std::time::Duration;

/// How often a node writes its heartbeat; it expires after three missed beats.
const BEAT: Duration = Duration::from_secs(5);
const TTL_SECS: u64 = 15;

/// What a node says about itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodeInfo {
    pub node: String,
    /// Where its HTTP API answers (queue admin for this node), "" when off.
    pub http: String,
    pub queued: usize,
    /// Recipients delivered per minute, over the last beat.
    pub delivered_per_min: f64,
    pub draining: bool,
    pub version: String,
    /// Unix time of the beat.
    pub at: u64,
}

/// Writes this node's heartbeat every [`BEAT`] until the process ends.
pub fn spawn_heartbeat(store: Arc<Store>, queue: Queue, http: String, draining: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut last = crate::metrics::delivered_count();
        let mut tick = tokio::time::interval(BEAT);
        loop {
            tick.tick().await;
            let now = crate::metrics::delivered_count();
            let info = NodeInfo {
                node: store.node().to_string(),
                http: http.clone(),
                queued: queue.len(),
                delivered_per_min: (now - last) as f64 * 60.0 / BEAT.as_secs_f64(),
                draining: *draining.borrow(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                at: crate::proto::rfc5322::unix_now(),
            };
            last = now;
            let key = Store::key(&["node", store.node()]);
            let Ok(json) = serde_json::to_string(&info) else { continue };
            let _ = store.run(|mut c| async move { redis::cmd("SET").arg(&key).arg(json).arg("EX").arg(TTL_SECS).query_async::<()>(&mut c).await }).await;
        }
    });
}

/// The nodes with a current heartbeat, by name; `None` when Redis cannot be reached.
pub async fn nodes(store: &Store) -> Option<Vec<NodeInfo>> {
    let pattern = Store::key(&["node", "*"]);
    let keys: Vec<String> = store
        .run(|mut c| async move {
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(100).query_async(&mut c).await?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })
        .await?;
    if keys.is_empty() {
        return Some(Vec::new());
    }
    let values: Vec<Option<String>> = store.run(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await }).await?;
    let mut nodes: Vec<NodeInfo> = values.into_iter().flatten().filter_map(|v| serde_json::from_str(&v).ok()).collect();
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    Some(nodes)
}
