//! The queue as `postern queue list --json` shows it: a typed view of the fields the contract
//! promises (`QueuedMessage`, `TestServer::queue_json`), the raw JSON for the rest (attempts,
//! last_error, the message state: `queue_raw`, `queued`), and the one queue poller behind
//! `TestServer::wait_queue`, `wait_queue_empty` and `wait_queued`.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::server::{TestServer, describe};
use super::wait;

/// How often the queue is listed while waiting.
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Deserialize)]
pub struct QueuedMessage {
    pub id: String,
    /// Reverse path; `None`/empty for the null sender.
    #[serde(default)]
    pub mail_from: Option<String>,
    pub recipients: Vec<Recipient>,
    pub size: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Recipient {
    pub address: String,
    pub state: serde_json::Value,
}

impl QueuedMessage {
    pub fn sender(&self) -> &str {
        self.mail_from.as_deref().unwrap_or("")
    }

    pub fn rcpt_addresses(&self) -> Vec<&str> {
        self.recipients.iter().map(|r| r.address.as_str()).collect()
    }
}

/// The message with `id`, panicking with the whole queue when it is absent.
pub fn find<'a>(queue: &'a [QueuedMessage], id: &str) -> &'a QueuedMessage {
    queue
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("message {id} not in queue: {queue:#?}"))
}

/// `postern queue list --json` (asserted success), parsed as `T`.
#[track_caller]
fn list<T: DeserializeOwned>(server: &TestServer) -> T {
    let out = server.cli(&["queue", "list", "--json"], b"");
    assert!(
        out.status.success(),
        "queue list --json: {}",
        describe(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "queue list --json is not the promised JSON ({e}): {}",
            describe(&out)
        )
    })
}

impl TestServer {
    /// `postern queue list --json`, parsed.
    #[track_caller]
    pub fn queue_json(&self) -> Vec<QueuedMessage> {
        list(self)
    }

    /// Polls the queue until `pred` holds (peers such as Postfix deliver asynchronously).
    #[track_caller]
    pub fn wait_queue(
        &self,
        timeout: Duration,
        pred: impl Fn(&[QueuedMessage]) -> bool,
    ) -> Vec<QueuedMessage> {
        wait::until(
            timeout,
            POLL,
            || self.queue_json(),
            |q| pred(q),
            |q| format!("queue condition not met within {timeout:?}: {q:#?}"),
        )
    }
}

/// Waits until the queue is empty (everything delivered or bounced).
#[track_caller]
pub fn wait_queue_empty(server: &TestServer, timeout: Duration) {
    server.wait_queue(timeout, |q| q.is_empty());
}

/// `postern queue list --json` as raw JSON (the typed view omits `attempts`, `last_error`
/// and the message `state`).
#[track_caller]
pub fn queue_raw(server: &TestServer) -> Vec<serde_json::Value> {
    list(server)
}

/// The listed message `id`, if still queued.
pub fn queued(server: &TestServer, id: &str) -> Option<serde_json::Value> {
    queue_raw(server).into_iter().find(|m| m["id"] == id)
}

/// Polls the listing of message `id` until `pred` holds; returns that listing (`null` once
/// the message has left the queue).
#[track_caller]
pub fn wait_queued(
    server: &TestServer,
    id: &str,
    timeout: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait::until(
        timeout,
        POLL,
        || queued(server, id).unwrap_or(serde_json::Value::Null),
        |m| pred(m),
        |m| format!("message {id} never reached the condition; last: {m:#}\n{}", server.log_text()),
    )
}
