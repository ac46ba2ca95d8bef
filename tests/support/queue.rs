//! Typed view of `postern queue list --json` (only the fields the contract promises).

use serde::Deserialize;

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
