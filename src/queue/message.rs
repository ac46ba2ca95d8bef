//! What the queue stores about a message besides its bytes.
use super::QueueId;
use crate::proto::smtp::command::{Notify, Ret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: QueueId,
    /// Envelope sender; empty for the null reverse-path `<>`.
    pub mail_from: String,
    pub recipients: Vec<Recipient>,
    /// Arrival time, unix seconds.
    pub arrived: u64,
    /// Size of the stored message bytes.
    pub size: u64,
    pub smtputf8: bool,
    pub body_8bit: bool,
    pub ret: Option<Ret>,
    pub envid: Option<String>,
    /// Who handed it to us: client IP, HELO name, authenticated user.
    pub client_ip: Option<String>,
    pub helo: Option<String>,
    pub auth_user: Option<String>,
    /// Operator hold (postsuper -h): not scheduled until released.
    pub held: bool,
}

impl Envelope {
    /// An envelope that arrived now, with no DSN parameters, client details or hold.
    /// `size` is set by `Queue::enqueue` from the body.
    pub fn new(id: QueueId, mail_from: impl Into<String>, recipients: Vec<Recipient>) -> Self {
        let arrived = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Envelope {
            id,
            mail_from: mail_from.into(),
            recipients,
            arrived,
            size: 0,
            smtputf8: false,
            body_8bit: false,
            ret: None,
            envid: None,
            client_ip: None,
            helo: None,
            auth_user: None,
            held: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RcptState {
    /// Waiting for (another) delivery attempt.
    Pending,
    Delivered,
    /// Permanently failed (bounced or dropped).
    Failed,
}

/// What the last delivery attempt for one recipient said, typed (not one flattened
/// string) so `queue list --json`, DSNs and tools can read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// The remote server's reply code, when a server answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// RFC 3463 enhanced status, e.g. "4.4.1".
    pub status: String,
    /// Where it was tried: `mx1.example.net[192.0.2.1]:25`, `maildir`, a webhook URL.
    pub host: String,
    pub text: String,
    /// When, unix seconds.
    pub at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Delivered,
    Deferred,
    Bounced,
    /// Still undelivered when `delivery.lifetime` ran out.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub address: String,
    pub state: RcptState,
    pub attempts: u32,
    /// Earliest next attempt, unix seconds (0 = now).
    pub next_attempt: u64,
    /// Last reply or error text, for `queue list` and DSNs.
    pub last_error: Option<String>,
    pub notify: Option<Notify>,
    pub orcpt: Option<String>,
    /// A delay notice was already sent for this recipient.
    pub delay_notified: bool,
    /// Envelope sender for this recipient when it differs from the message's: the SRS
    /// address used when an alias forwards the mail to another domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// The last attempt's typed result; absent in queues written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl Recipient {
    pub fn new(address: impl Into<String>) -> Self {
        Recipient {
            address: address.into(),
            state: RcptState::Pending,
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            notify: None,
            orcpt: None,
            delay_notified: false,
            mail_from: None,
            outcome: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope exactly as the release before typed outcomes stored it (captured from
    /// its `queue list --json`, less the derived `state`): it still loads.
    #[test]
    fn envelope_written_before_typed_outcomes_loads() {
        let old = r#"{"id":"1K1QAARHES4QTAKT","mail_from":"a@example.org","recipients":[{"address":"b@example.net",
            "state":"Pending","attempts":1,"next_attempt":1796307460,
            "last_error":"connect to 127.0.0.1[127.0.0.1]:9: Connection refused (os error 111)",
            "notify":null,"orcpt":null,"delay_notified":false}],"arrived":1796303860,"size":386,
            "smtputf8":false,"body_8bit":false,"ret":null,"envid":null,"client_ip":"127.0.0.1",
            "helo":"vm","auth_user":null,"held":false}"#;
        let env: Envelope = serde_json::from_str(old).unwrap();
        assert_eq!(env.recipients[0].outcome, None);
        assert_eq!(env.recipients[0].attempts, 1);
        let again: Envelope = serde_json::from_slice(&serde_json::to_vec(&env).unwrap()).unwrap();
        assert_eq!(again, env);
    }
}
