//! Ingest: what every accepted message goes through, whichever door it came in by
//! (SMTP session, HTTP API, sendmail): rewriting, alias expansion, Received header, DKIM
//! signature, durable enqueue. Ok only once the message is on disk.
use super::Services;
use super::received;
pub use super::received::Origin;
use crate::queue::{Envelope, QueueId, Recipient};
use crate::proto::smtp::Reply;
use crate::proto::smtp::command::Ret;

/// A message ready to be queued.
pub struct Submission {
    /// Envelope sender, "" for `<>`.
    pub mail_from: String,
    pub recipients: Vec<Recipient>,
    pub smtputf8: bool,
    pub body_8bit: bool,
    pub ret: Option<Ret>,
    pub envid: Option<String>,
    pub origin: Origin,
}

/// Queues the message; Ok only once it is on disk.
pub async fn enqueue(ctx: &Services, mut sub: Submission, body: Vec<u8>) -> Result<QueueId, Reply> {
    let id = QueueId::generate();
    let cfg = &ctx.config;
    if cfg.relay.sender_login
        && let Some(login) = &sub.origin.auth_user
    {
        check_from_header(ctx, login, &body).await?;
    }
    let single = match sub.recipients.as_slice() {
        [one] => Some(one.address.clone()),
        _ => None,
    };
    // Rewriting (masquerading, tag header) and alias expansion come before signing.
    if sub.origin.may_relay {
        sub.mail_from = crate::rewrite::masquerade_sender(&cfg.rewrite.masquerade_domains, &sub.mail_from);
    }
    let body = crate::rewrite::message(cfg, body, sub.origin.may_relay);
    sub.recipients = match ctx.directory.expand(cfg, &sub.mail_from, std::mem::take(&mut sub.recipients)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "alias expansion failed; answering 451");
            return Err(Reply::lookup_failure());
        }
    };
    let received =
        received::header(&cfg.server.hostname, &id, &sub.origin, sub.smtputf8, cfg.server.received_auth, single.as_deref());
    let signature = if sub.origin.may_relay { sign(ctx, &body).await } else { None };
    let mut message = Vec::with_capacity(signature.as_ref().map_or(0, Vec::len) + received.len() + body.len());
    message.extend_from_slice(signature.as_deref().unwrap_or_default());
    message.extend_from_slice(received.as_bytes());
    message.extend_from_slice(&body);
    let body_8bit = sub.body_8bit || body.iter().any(|b| *b >= 0x80);
    let env = Envelope {
        id: id.clone(),
        mail_from: sub.mail_from,
        recipients: sub.recipients,
        arrived: crate::proto::rfc5322::unix_now(),
        size: message.len() as u64,
        smtputf8: sub.smtputf8,
        body_8bit,
        ret: sub.ret,
        envid: sub.envid,
        client_ip: Some(sub.origin.ip.to_string()),
        helo: sub.origin.helo.clone(),
        auth_user: sub.origin.auth_user.clone(),
        held: false,
    };
    let (from, nrcpt, size) = (env.mail_from.clone(), env.recipients.len(), env.size);
    let vacation = super::vacation::prepare(ctx, &env, &body);
    if let Err(e) = ctx.queue.enqueue(env, message).await {
        tracing::error!(client = %sub.origin.ip, error = %e, "cannot queue message");
        return Err(if e.is_storage_full() { Reply::insufficient_storage() } else { Reply::local_error() });
    }
    // Auto-replies once the message is durable, in a task of their own.
    if let Some(v) = vacation {
        v.spawn();
    }
    crate::metrics::accepted(sub.origin.via);
    tracing::info!(id = %id, client = %sub.origin.ip, from = %format!("<{from}>"), nrcpt, size, via = %sub.origin.via, "queued");
    Ok(id)
}

/// DKIM-Signature lines for mail from clients that may relay, when the From domain has a
/// key. Signing failure does not reject the mail: it goes out unsigned and we log why.
async fn sign(ctx: &Services, body: &[u8]) -> Option<Vec<u8>> {
    let signer = ctx.dkim.read().unwrap().clone();
    let result = if body.len() > 256 * 1024 {
        let owned = body.to_vec();
        tokio::task::spawn_blocking(move || signer.sign(&owned)).await.unwrap_or(Ok(None))
    } else {
        signer.sign(body)
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "DKIM signing failed; sending unsigned");
        None
    })
}


/// `relay.sender_login` for the header: every From address must be one the login owns,
/// like the envelope sender (MAIL FROM is checked in the session).
async fn check_from_header(ctx: &Services, login: &str, message: &[u8]) -> Result<(), Reply> {
    let head = crate::proto::rfc5322::header_section(message);
    let Some(parsed) = mail_parser::MessageParser::default().parse_headers(head) else { return Ok(()) };
    let Some(from) = parsed.from() else { return Ok(()) };
    for address in from.iter().filter_map(|a| a.address()) {
        match ctx.directory.owns_sender(login, address).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(user = %login, from = %address, "From header not owned by the login");
                return Err(Reply::sender_not_owned(address, login));
            }
            Err(e) => {
                tracing::warn!(error = %e, "sender login lookup failed; answering 451");
                return Err(Reply::sender_lookup_unavailable(address));
            }
        }
    }
    Ok(())
}
