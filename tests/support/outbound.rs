//! Building blocks for the tests that drive postern's outbound SMTP client
//! (`postern::smtp_client::client`) directly against real peers: short stage timeouts, plain
//! recipients and messages.
use postern::smtp_client::client::{OutboundMessage, OutboundRcpt, Timeouts};
use std::time::Duration;

/// Short stage timeouts so failure tests finish quickly.
pub fn quick() -> Timeouts {
    Timeouts::uniform(Duration::from_secs(5))
}

pub fn rcpt(address: &str) -> OutboundRcpt<'_> {
    OutboundRcpt {
        address,
        notify: None,
        orcpt: None,
    }
}

/// A plain message from `from` to `to` with `body`.
pub fn message<'a>(from: &'a str, to: &[&'a str], body: &'a [u8]) -> OutboundMessage<'a> {
    OutboundMessage {
        mail_from: from,
        recipients: to.iter().map(|a| rcpt(a)).collect(),
        body: postern::queue::Content::inline(bytes::Bytes::copy_from_slice(body)),
        smtputf8: false,
        body_8bit: false,
        envid: None,
        ret: None,
    }
}
