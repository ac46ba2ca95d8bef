//! Ingest: what every accepted message goes through, whichever door it came in by
//! (SMTP session, HTTP API, sendmail): rewriting, alias expansion, Received header, DKIM
//! signature, durable enqueue. Ok only once the message is on disk.
use super::Services;
use super::draft::Message;
use super::received;
pub use super::received::Origin;
use crate::queue::{Content, Envelope, QueueId, Recipient, Tail};
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

/// Queues the message; Ok only once it is on disk. Every edit is made to the header
/// section; the rest of the message stays where it was received to (memory or its file).
pub async fn enqueue(ctx: &Services, mut sub: Submission, mut msg: Message) -> Result<QueueId, Reply> {
    let id = msg.id.clone();
    let tail = msg.tail();
    // Dropped on any refusal below: the body file goes with it.
    let unqueued = std::mem::take(&mut msg.unqueued);
    let header = std::mem::take(&mut msg.header);
    let cfg = &ctx.config;
    if cfg.relay.sender_login
        && let Some(login) = &sub.origin.auth_user
    {
        check_from_header(ctx, login, &header).await?;
    }
    let single = match sub.recipients.as_slice() {
        [one] => Some(one.address.clone()),
        _ => None,
    };
    // Rewriting (masquerading, tag header) and alias expansion come before signing.
    if sub.origin.may_relay {
        sub.mail_from = crate::rewrite::masquerade_sender(&cfg.rewrite.masquerade_domains, &sub.mail_from);
    }
    let header = crate::rewrite::message(cfg, header, sub.origin.may_relay);
    sub.recipients = match ctx.directory.expand(cfg, &sub.mail_from, std::mem::take(&mut sub.recipients)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "alias expansion failed; answering 451");
            return Err(Reply::lookup_failure());
        }
    };
    let received =
        received::header(&cfg.server.hostname, &id, &sub.origin, sub.smtputf8, cfg.server.received_auth, single.as_deref());
    let signature = if sub.origin.may_relay { sign(ctx, &header, &tail).await } else { None };
    let mut head = Vec::with_capacity(signature.as_ref().map_or(0, Vec::len) + received.len() + header.len());
    head.extend_from_slice(signature.as_deref().unwrap_or_default());
    head.extend_from_slice(received.as_bytes());
    head.extend_from_slice(&header);
    // 8BITMIME as declared, else as seen: only small tails are scanned (a large one came
    // with BODY=8BITMIME or is sent as it is, as Postfix does).
    let body_8bit = sub.body_8bit
        || header.iter().any(|b| *b >= 0x80)
        || matches!(&tail, Tail::Inline(t) if t.iter().any(|b| *b >= 0x80));
    let content = Content { head: head.into(), tail };
    let env = Envelope {
        id: id.clone(),
        mail_from: sub.mail_from,
        recipients: sub.recipients,
        arrived: crate::proto::rfc5322::unix_now(),
        size: content.len(),
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
    let vacation = super::vacation::prepare(ctx, &env, &header);
    if let Err(e) = ctx.queue.enqueue(env, content).await {
        tracing::error!(client = %sub.origin.ip, error = %e, "cannot queue message");
        return Err(if e.is_storage_full() { Reply::insufficient_storage() } else { Reply::local_error() });
    }
    unqueued.keep();
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
/// A large tail is hashed from its mapped file on the blocking pool, a few at a time (the
/// work is CPU-bound, and each mapping's pages count against the daemon while mapped).
async fn sign(ctx: &Services, header: &[u8], tail: &Tail) -> Option<Vec<u8>> {
    static LARGE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let signer = ctx.dkim.read().unwrap().clone();
    if !signer.might_sign(header) {
        return None;
    }
    let result = match tail {
        Tail::Inline(t) if t.len() <= 256 * 1024 => signer.sign_parts(&[header, t]),
        _ => {
            let _permit = LARGE.acquire().await.ok()?;
            let (header, tail) = (header.to_vec(), tail.clone());
            tokio::task::spawn_blocking(move || {
                let mapped = tail.map().map_err(|e| crate::dkim::DkimError::Io(e.to_string()))?;
                signer.sign_parts(&[&header, &mapped])
            })
            .await
            .unwrap_or(Ok(None))
        }
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
