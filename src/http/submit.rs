//! The one way the HTTP side queues a message: sender policy, then
//! `inbound::accept::enqueue` (Received header, DKIM, durable write), errors mapped to HTTP.
use super::api::Queued;
use super::error::ApiError;
use super::state::Client;
use crate::app::Services;
use crate::app::draft::Message;
use crate::app::ingest::{Origin, Submission, enqueue};
use crate::queue::Recipient;
use crate::proto::smtp::address::Address;
use crate::proto::smtp::ReversePath;
use axum::Json;
use axum::http::StatusCode;
use std::net::{IpAddr, Ipv4Addr};

/// An envelope the API was given: sender ("" = null) and recipients, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub mail_from: Option<Address>,
    pub rcpt_to: Vec<Address>,
}

impl Envelope {
    fn smtputf8(&self) -> bool {
        self.mail_from.iter().chain(&self.rcpt_to).any(|a| !a.local.is_ascii())
    }
}

/// How the message came in. Everything the API accepts may relay: it passed a token or
/// came from a trusted network (or the owner-only control socket).
pub fn origin(client: Option<&Client>, via: &'static str) -> Origin {
    Origin {
        ip: client.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.addr.ip()),
        helo: if client.is_none() { Some("localhost".into()) } else { None },
        esmtp: false,
        tls: client.and_then(|c| c.tls.clone()),
        auth_user: None,
        may_relay: true,
        via,
    }
}

/// `relay.allowed_sender_domains`, the same rule SMTP applies to relaying clients.
pub fn check_sender(ctx: &Services, from: Option<&Address>) -> Result<(), ApiError> {
    let Some(a) = from else { return Ok(()) };
    crate::app::policy::check_sender(&ctx.config, &ReversePath::Path(a.clone()), true)
        .map_err(|_| ApiError::SenderNotAllowed(a.domain_ascii()))
}

/// The written form of an address for the queue: domain in A-labels.
pub fn ascii(a: &Address) -> String {
    Address { local: a.local.clone(), domain: a.domain_ascii() }.to_string()
}

/// Checks the sender and size, then queues; Ok once the message is on disk.
pub async fn queue(ctx: &Services, env: Envelope, origin: Origin, message: Message) -> Result<Queued, ApiError> {
    check_sender(ctx, env.mail_from.as_ref())?;
    let max = ctx.config.limits.message_size;
    if message.len() > max {
        return Err(ApiError::TooLarge(max));
    }
    // The same recipient checks as RCPT TO: unknown local users are refused now, not bounced later.
    for a in &env.rcpt_to {
        let rcpt = ascii(a);
        match ctx.directory.check_recipient(&ctx.config, &rcpt, Some(message.len())).await {
            Ok(()) => {}
            Err(crate::directory::Refusal::Unavailable) => {
                return Err(ApiError::Unavailable("the directory is unavailable; try again later".into()));
            }
            Err(refusal) => {
                let reason = refusal.reply(&rcpt).to_string();
                return Err(ApiError::BadAddress { field: "to".into(), address: rcpt.clone(), reason });
            }
        }
    }
    let sub = Submission {
        mail_from: env.mail_from.as_ref().map(ascii).unwrap_or_default(),
        recipients: env.rcpt_to.iter().map(|a| Recipient::new(ascii(a))).collect(),
        // UTF-8 in an address or a header needs SMTPUTF8 downstream (RFC 6531/6532), as
        // Postfix's smtputf8_autodetect_classes does for local submissions.
        smtputf8: env.smtputf8() || !message.header.is_ascii(),
        body_8bit: false,
        ret: None,
        envid: None,
        origin,
    };
    let id = enqueue(ctx, sub, message).await.map_err(|r| ApiError::from_reply(&r))?;
    Ok(Queued { ok: true, queued: true, id: id.to_string() })
}

/// `202 Accepted` with `{"ok":true,"queued":true,"id":ID}`.
pub fn accepted(q: Queued) -> (StatusCode, Json<Queued>) {
    (StatusCode::ACCEPTED, Json(q))
}
