//! `ClientError`: every way an outbound SMTP attempt can fail, whether it is permanent,
//! its enhanced status code for DSNs, and a Postfix-style diagnostic text
//! ("host mx1.test[127.0.0.2] said: 550 5.1.1 ... (in reply to RCPT TO command)").
use std::fmt;
use std::net::SocketAddr;

use super::timeouts::Stage;
use crate::proto::smtp::reply::{Reply, Status};

/// The server we talk to: the name we looked up (or the IP) and the address we connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    pub addr: SocketAddr,
}

impl fmt::Display for Peer {
    /// `mx1.example.com[192.0.2.1]` (no port), as in Postfix logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.name, self.addr.ip())
    }
}

/// Cloneable so one failure can be recorded against every recipient it affects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("connect to {peer}:{port}: {reason}", port = peer.addr.port())]
    Connect { peer: Peer, reason: String },
    #[error("conversation with {peer} timed out {}", stage.while_text())]
    Timeout { peer: Peer, stage: Stage },
    #[error("lost connection with {peer} {}: {reason}", stage.while_text())]
    ConnectionLost {
        peer: Peer,
        stage: Stage,
        reason: String,
    },
    /// The server answered with a reply we did not want (4xx/5xx, or 2xx where 354 was due).
    #[error("{}", rejected_text(peer, *stage, reply))]
    Rejected {
        peer: Peer,
        stage: Stage,
        reply: Reply,
    },
    /// Bytes that are not a valid reply, or data where none may be (after STARTTLS).
    #[error("protocol error with {peer} {}: {detail}", stage.while_text())]
    Protocol {
        peer: Peer,
        stage: Stage,
        detail: String,
    },
    #[error("TLS is required, but was not offered by host {peer}")]
    TlsNotOffered { peer: Peer },
    #[error("Cannot start TLS with {peer}: {reason}")]
    TlsFailed { peer: Peer, reason: String },
    #[error("SASL authentication unavailable with {peer}: {reason}")]
    AuthUnavailable { peer: Peer, reason: String },
    #[error("SASL authentication failed; server {peer} said: {reply}")]
    AuthFailed { peer: Peer, reply: Reply },
    #[error("message size {size} exceeds size limit {limit} of server {peer}")]
    TooBig { peer: Peer, size: u64, limit: u64 },
    #[error("SMTPUTF8 is required, but was not offered by host {peer}")]
    Smtputf8NotOffered { peer: Peer },
    #[error("invalid {} address {address:?}: {reason}", if *sender { "sender" } else { "recipient" })]
    BadAddress {
        address: String,
        sender: bool,
        reason: String,
    },
    /// The session broke earlier (timeout, lost connection, TLS failure); reconnect.
    #[error("connection with {peer} is no longer usable")]
    Closed { peer: Peer },
}

fn rejected_text(peer: &Peer, stage: Stage, reply: &Reply) -> String {
    if stage == Stage::Greeting {
        format!("host {peer} refused to talk to me: {reply}")
    } else {
        format!(
            "host {peer} said: {reply} (in reply to {} command)",
            stage.command()
        )
    }
}

impl ClientError {
    /// Permanent failures bounce; everything else is retried later.
    pub fn is_permanent(&self) -> bool {
        match self {
            ClientError::Rejected { reply, .. } => reply.is_permanent(),
            ClientError::TooBig { .. }
            | ClientError::Smtputf8NotOffered { .. }
            | ClientError::BadAddress { .. } => true,
            ClientError::Connect { .. }
            | ClientError::Timeout { .. }
            | ClientError::ConnectionLost { .. }
            | ClientError::Protocol { .. }
            | ClientError::TlsNotOffered { .. }
            | ClientError::TlsFailed { .. }
            | ClientError::AuthUnavailable { .. }
            | ClientError::AuthFailed { .. }
            | ClientError::Closed { .. } => false,
        }
    }

    /// Enhanced status code for the DSN: the server's own when it sent one.
    pub fn status(&self) -> (u8, u16, u16) {
        match self {
            ClientError::Rejected { reply, .. } => reply_status(reply),
            ClientError::Connect { .. } => (4, 4, 1),
            ClientError::Timeout { .. }
            | ClientError::ConnectionLost { .. }
            | ClientError::Closed { .. } => (4, 4, 2),
            ClientError::Protocol { .. } => (4, 5, 0),
            ClientError::TlsNotOffered { .. } => (4, 7, 4),
            ClientError::TlsFailed { .. } => (4, 7, 5),
            // Postfix smtp_sasl_auth_soft_bounce: a rejected login is our configuration problem.
            ClientError::AuthUnavailable { .. } | ClientError::AuthFailed { .. } => (4, 7, 0),
            ClientError::TooBig { .. } => (5, 3, 4),
            ClientError::Smtputf8NotOffered { .. } => (5, 6, 7),
            ClientError::BadAddress { sender: true, .. } => (5, 1, 7),
            ClientError::BadAddress { sender: false, .. } => (5, 1, 3),
        }
    }

    /// Diagnostic text for logs and the DSN (Postfix style).
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The remote reply when the failure is one (DSN `Diagnostic-Code: smtp; ...`).
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            ClientError::Rejected { reply, .. } | ClientError::AuthFailed { reply, .. } => {
                Some(reply)
            }
            _ => None,
        }
    }

    /// The host that failed, when there is one.
    pub fn peer(&self) -> Option<&Peer> {
        match self {
            ClientError::Connect { peer, .. }
            | ClientError::Timeout { peer, .. }
            | ClientError::ConnectionLost { peer, .. }
            | ClientError::Rejected { peer, .. }
            | ClientError::Protocol { peer, .. }
            | ClientError::TlsNotOffered { peer }
            | ClientError::TlsFailed { peer, .. }
            | ClientError::AuthUnavailable { peer, .. }
            | ClientError::AuthFailed { peer, .. }
            | ClientError::TooBig { peer, .. }
            | ClientError::Smtputf8NotOffered { peer }
            | ClientError::Closed { peer } => Some(peer),
            ClientError::BadAddress { .. } => None,
        }
    }

    /// True when the failure concerns this host rather than the message: the scheduler
    /// should try the next MX host (RFC 5321 §5.1) before deferring.
    pub fn try_next_host(&self) -> bool {
        // A 421 means "this server, not now" wherever it comes.
        if matches!(self, ClientError::Rejected { reply, .. } if reply.code == 421) {
            return true;
        }
        match self {
            ClientError::Connect { .. }
            | ClientError::TlsNotOffered { .. }
            | ClientError::TlsFailed { .. }
            | ClientError::AuthUnavailable { .. }
            | ClientError::AuthFailed { .. }
            | ClientError::Closed { .. } => true,
            ClientError::Timeout { stage, .. }
            | ClientError::ConnectionLost { stage, .. }
            | ClientError::Protocol { stage, .. }
            | ClientError::Rejected { stage, .. } => stage.is_session_setup(),
            ClientError::TooBig { .. }
            | ClientError::Smtputf8NotOffered { .. }
            | ClientError::BadAddress { .. } => false,
        }
    }

    /// `may` TLS: the handshake failed, so reconnecting without STARTTLS is allowed.
    pub fn is_tls_handshake_failure(&self) -> bool {
        matches!(self, ClientError::TlsFailed { .. })
    }
}

/// The reply's enhanced code, or X.0.0 from its class when the server sent none.
pub fn reply_status(reply: &Reply) -> (u8, u16, u16) {
    match reply.status {
        Some(Status(class, subject, detail)) => (class, subject, detail),
        None => ((reply.code / 100) as u8, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer {
            name: "mx1.test".into(),
            addr: "127.0.0.2:25".parse().unwrap(),
        }
    }

    #[test]
    fn postfix_style_texts() {
        let reply = Reply::new(
            550,
            Some(Status(5, 1, 1)),
            "<b@x.test>: Recipient address rejected",
        );
        let e = ClientError::Rejected {
            peer: peer(),
            stage: Stage::RcptTo,
            reply,
        };
        assert_eq!(
            e.text(),
            "host mx1.test[127.0.0.2] said: 550 5.1.1 <b@x.test>: Recipient address rejected \
             (in reply to RCPT TO command)"
        );
        assert!(e.is_permanent());
        assert_eq!(e.status(), (5, 1, 1));
        assert!(!e.try_next_host());

        let e = ClientError::Timeout {
            peer: peer(),
            stage: Stage::Greeting,
        };
        assert_eq!(
            e.text(),
            "conversation with mx1.test[127.0.0.2] timed out while receiving the initial server greeting"
        );
        assert!(!e.is_permanent() && e.try_next_host());
        let e = ClientError::Connect {
            peer: peer(),
            reason: "Connection refused".into(),
        };
        assert_eq!(
            e.text(),
            "connect to mx1.test[127.0.0.2]:25: Connection refused"
        );
    }

    #[test]
    fn status_without_enhanced_code_uses_class() {
        let e = ClientError::Rejected {
            peer: peer(),
            stage: Stage::MailFrom,
            reply: Reply::new(451, None, "try later"),
        };
        assert_eq!(e.status(), (4, 0, 0));
        assert!(!e.is_permanent());
        let e = ClientError::Rejected {
            peer: peer(),
            stage: Stage::RcptTo,
            reply: Reply::new(421, None, "closing"),
        };
        assert!(e.try_next_host());
    }
}
