//! Accepting a message: Received header, DKIM signature, durable enqueue, then the reply.
//!
//! Shared by the SMTP session and the HTTP API so both paths apply the same rules.
use super::Context;
use super::received;
pub use super::received::Origin;
use super::session::{Session, Transaction};
use crate::queue::{Envelope, QueueId, Recipient};
use crate::smtp::command::{Body, Ret};
use crate::smtp::{Reply, ReversePath};

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
pub async fn enqueue(ctx: &Context, mut sub: Submission, body: Vec<u8>) -> Result<QueueId, Reply> {
    let id = QueueId::generate();
    let cfg = &ctx.config;
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
        arrived: crate::rfc5322::unix_now(),
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
    if let Err(e) = ctx.queue.enqueue(env, message).await {
        tracing::error!(client = %sub.origin.ip, error = %e, "cannot queue message");
        return Err(if e.is_storage_full() { Reply::insufficient_storage() } else { Reply::local_error() });
    }
    crate::metrics::accepted(sub.origin.via);
    tracing::info!(id = %id, client = %sub.origin.ip, from = %format!("<{from}>"), nrcpt, size, via = %sub.origin.via, "queued");
    Ok(id)
}

/// DKIM-Signature lines for mail from clients that may relay, when the From domain has a
/// key. Signing failure does not reject the mail: it goes out unsigned and we log why.
async fn sign(ctx: &Context, body: &[u8]) -> Option<Vec<u8>> {
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

/// Ends an SMTP transaction: queue it and produce the reply to DATA / BDAT LAST.
pub async fn from_session(s: &Session, tx: Transaction, body: Vec<u8>) -> Reply {
    let recipients = tx
        .rcpts
        .iter()
        .map(|(path, params)| {
            let mut r = if path.address.domain.is_empty() {
                Recipient::new(format!("{}@{}", path.address.local, s.ctx.config.server.hostname))
            } else {
                Recipient::new(path.address.to_string())
            };
            r.notify = params.notify;
            r.orcpt = params.orcpt.clone();
            r
        })
        .collect();
    let sub = Submission {
        mail_from: match &tx.from {
            ReversePath::Null => String::new(),
            ReversePath::Path(a) => a.to_string(),
        },
        recipients,
        smtputf8: tx.params.smtputf8,
        body_8bit: tx.params.body == Some(Body::EightBitMime),
        ret: tx.params.ret,
        envid: tx.params.envid.clone(),
        origin: Origin {
            ip: s.peer.ip(),
            helo: s.helo.clone(),
            esmtp: s.esmtp,
            tls: s.tls.clone(),
            auth_user: s.auth_user.clone(),
            may_relay: s.may_relay(),
            via: "SMTP",
        },
    };
    let body = match super::checks::screen(&s.ctx, s.kind, &sub.origin, &sub.mail_from, body).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match enqueue(&s.ctx, sub, body).await {
        Ok(id) => Reply::queued(&id.to_string()),
        Err(r) => r,
    }
}
