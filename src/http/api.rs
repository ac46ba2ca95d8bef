//! The JSON shapes of the HTTP API, shared by the handlers and the CLI (`postern queue`).
//!
//! Owns: response bodies and the queue view (`QueueEntry`, `MessageState`).
//! Must not touch: storage, HTTP plumbing.
use crate::queue::{Envelope, RcptState};
use serde::{Deserialize, Serialize};

/// `202` answer to a send or raw message submission.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Queued {
    pub ok: bool,
    pub queued: bool,
    pub id: String,
}

/// Every error answer: `{"ok":false,"error":"..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub ok: bool,
    pub error: String,
}

/// Where a queued message stands, as `postern queue list` and `?state=` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Operator hold: not scheduled until released.
    Held,
    /// At least one pending recipient was tried (or found its destination backing off)
    /// and waits for a retry.
    Deferred,
    /// Waiting for its first attempt (or being delivered).
    Active,
    /// No pending recipient left (about to be removed).
    Done,
}

impl MessageState {
    pub fn of(env: &Envelope) -> MessageState {
        let pending: Vec<_> = env.recipients.iter().filter(|r| r.state == RcptState::Pending).collect();
        if env.held {
            MessageState::Held
        } else if pending.is_empty() {
            MessageState::Done
        } else if pending.iter().any(|r| r.attempts > 0 || r.last_error.is_some()) {
            MessageState::Deferred
        } else {
            MessageState::Active
        }
    }

    pub fn parse(s: &str) -> Option<MessageState> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase())).ok()
    }
}

/// One message in a queue listing: the stored envelope plus its derived state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub state: MessageState,
}

impl From<Envelope> for QueueEntry {
    fn from(envelope: Envelope) -> Self {
        let state = MessageState::of(&envelope);
        QueueEntry { envelope, state }
    }
}

/// `?domain=` and `?state=` of a queue listing: one place for the rule, used by the API
/// and by the CLI when it reads the queue itself (daemon stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// A-label, lower case: matches messages with a recipient in this domain.
    pub domain: Option<String>,
    pub state: Option<MessageState>,
}

impl QueueFilter {
    pub fn new(domain: Option<&str>, state: Option<&str>) -> Result<QueueFilter, String> {
        let domain = domain.map(normalise_domain).transpose()?;
        let state = match state {
            None => None,
            Some(s) => Some(
                MessageState::parse(s).ok_or_else(|| format!("state {s:?} is not one of held, deferred, active, done"))?,
            ),
        };
        Ok(QueueFilter { domain, state })
    }

    pub fn matches(&self, env: &Envelope) -> bool {
        self.domain.as_deref().is_none_or(|d| has_domain(env, d))
            && self.state.is_none_or(|s| MessageState::of(env) == s)
    }
}

/// A domain as given by an operator, in the form recipients are compared in.
pub fn normalise_domain(d: &str) -> Result<String, String> {
    crate::proto::smtp::address::ascii_domain(d).ok_or_else(|| format!("{:?} is not a domain", d.trim().trim_end_matches('.')))
}

/// The domain of a recipient address in A-labels, lower case.
pub fn domain_of(addr: &str) -> String {
    crate::proto::smtp::address::normalize_domain(addr.rsplit_once('@').map_or("", |(_, d)| d))
}

pub fn has_domain(env: &Envelope, domain: &str) -> bool {
    env.recipients.iter().any(|r| domain_of(&r.address) == domain)
}

/// Largest page `GET /v1/queue` returns (`?limit=`, default 100).
pub const MAX_PAGE: usize = 1000;

/// `GET /v1/queue`: one page of the queue, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuePage {
    pub ok: bool,
    /// Messages matching the filter, over all pages.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub messages: Vec<QueueEntry>,
}

/// `GET /v1/queue/{id}`: the message and its header section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueMessage {
    pub ok: bool,
    pub message: QueueEntry,
    /// The stored header section (Received and DKIM-Signature included), CRLF lines.
    pub headers: String,
}

/// Answer to a queue action (retry, hold, release, delete).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionDone {
    pub ok: bool,
    /// retry | hold | release | delete
    pub action: String,
    /// Messages acted on.
    pub ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{QueueId, Recipient};

    #[test]
    fn state_follows_hold_attempts_and_recipients() {
        let mut env = Envelope::new(QueueId("A".into()), "s@example.org", vec![Recipient::new("r@example.net")]);
        assert_eq!(MessageState::of(&env), MessageState::Active);
        env.recipients[0].attempts = 1;
        assert_eq!(MessageState::of(&env), MessageState::Deferred);
        env.held = true;
        assert_eq!(MessageState::of(&env), MessageState::Held);
        env.held = false;
        env.recipients[0].state = RcptState::Delivered;
        assert_eq!(MessageState::of(&env), MessageState::Done);
        assert_eq!(MessageState::parse("Held"), Some(MessageState::Held));
        assert_eq!(MessageState::parse("nope"), None);
    }

    #[test]
    fn filter_by_domain_and_state() {
        let mut env = Envelope::new(QueueId("A".into()), "s@example.org", vec![Recipient::new("r@Bücher.example")]);
        let by_domain = QueueFilter::new(Some("bücher.example."), None).unwrap();
        assert!(by_domain.matches(&env));
        assert!(!QueueFilter::new(Some("other.example"), None).unwrap().matches(&env));
        assert!(QueueFilter::new(None, Some("active")).unwrap().matches(&env));
        env.held = true;
        assert!(!QueueFilter::new(Some("xn--bcher-kva.example"), Some("active")).unwrap().matches(&env));
        assert!(QueueFilter::new(None, Some("sleeping")).is_err());
        assert!(QueueFilter::new(Some(""), None).is_err());
    }

    #[test]
    fn entry_serializes_flat() {
        let env = Envelope::new(QueueId("B".into()), "s@example.org", vec![Recipient::new("r@example.net")]);
        let v = serde_json::to_value(QueueEntry::from(env)).unwrap();
        assert_eq!(v["id"], "B");
        assert_eq!(v["state"], "active");
        assert_eq!(v["recipients"][0]["address"], "r@example.net");
    }
}
