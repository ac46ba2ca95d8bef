//! Delivery status notifications to the envelope sender: failures (bounces), delays and,
//! when asked with NOTIFY=SUCCESS, successes. Never for the null sender `<>`, so a
//! bounce can never cause another bounce.
use super::dsn::{DsnAction, DsnInput, DsnRecipient, build_dsn};
use crate::config::Config;
use crate::directory::Directory;
use crate::queue::{Content, Envelope, Queue, QueueId, RcptState, Recipient};
use crate::proto::rfc5322::unix_now;
use crate::proto::smtp::command::Notify;
use crate::proto::smtp::reply::Status;
use crate::transport::{RcptResult, Verdict};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Originals larger than this are returned as headers only.
const RETURN_LIMIT: usize = 1 << 20;

fn wants(notify: Option<Notify>, action: DsnAction) -> bool {
    match (notify, action) {
        // RFC 3461 §4.1: without NOTIFY, failures (and, by local policy, delays) are reported.
        (None, DsnAction::Failed | DsnAction::Delayed) => true,
        (None, _) => false,
        (Some(n), DsnAction::Failed) => n.failure,
        (Some(n), DsnAction::Delayed) => n.delay,
        (Some(n), _) => n.success,
    }
}

/// Sends the notices this pass calls for and marks delay notices as sent in `env`.
pub async fn notify(
    queue: &Queue,
    cfg: &Config,
    directory: &Directory,
    env: &mut Envelope,
    results: &[RcptResult],
    expired: &[usize],
) {
    if env.mail_from.is_empty() {
        return;
    }
    let mut failed = Vec::new();
    let mut delivered = Vec::new();
    for r in results {
        let rcpt = &env.recipients[r.index];
        let status = Status(r.status.0, r.status.1, r.status.2);
        let remote = r.relay.split('[').next().filter(|h| !h.is_empty() && *h != "none").map(str::to_string);
        let entry = |action| dsn_rcpt(rcpt, action, status, remote.clone(), r.diagnostic.clone().or(Some(r.text.clone())));
        match r.verdict {
            Verdict::Failed if wants(rcpt.notify, DsnAction::Failed) => failed.push(entry(DsnAction::Failed)),
            Verdict::Delivered if wants(rcpt.notify, DsnAction::Delivered) => delivered.push(entry(DsnAction::Delivered)),
            _ => {}
        }
    }
    for &i in expired {
        let rcpt = &env.recipients[i];
        if wants(rcpt.notify, DsnAction::Failed) {
            // 5.4.7 "delivery time expired": a failed action needs a class 5 status.
            failed.push(dsn_rcpt(rcpt, DsnAction::Failed, Status(5, 4, 7), None, rcpt.last_error.clone()));
        }
    }
    let delayed = delay_notices(cfg, env);
    for (kind, list) in [("failure", failed), ("delay", delayed), ("success", delivered)] {
        if !list.is_empty() {
            send(queue, cfg, directory, env, list, kind).await;
        }
    }
}

/// Pending recipients that waited longer than `delivery.delay_notice` and were not told yet.
fn delay_notices(cfg: &Config, env: &mut Envelope) -> Vec<DsnRecipient> {
    let waited = unix_now().saturating_sub(env.arrived);
    if waited < cfg.delivery.delay_notice.get().as_secs() {
        return Vec::new();
    }
    let until = UNIX_EPOCH + Duration::from_secs(super::schedule::expires_at(&cfg.delivery, env.arrived));
    let mut out = Vec::new();
    for rcpt in env.recipients.iter_mut() {
        // Tried, or held back by its destination's backoff (no attempt counted, but an error).
        let waited_for_a_reason = rcpt.attempts > 0 || rcpt.last_error.is_some();
        if rcpt.state == RcptState::Pending && !rcpt.delay_notified && waited_for_a_reason && wants(rcpt.notify, DsnAction::Delayed) {
            rcpt.delay_notified = true;
            let mut d = dsn_rcpt(rcpt, DsnAction::Delayed, Status(4, 4, 1), None, rcpt.last_error.clone());
            d.will_retry_until = Some(until);
            out.push(d);
        }
    }
    out
}

fn dsn_rcpt(r: &Recipient, action: DsnAction, status: Status, remote: Option<String>, diag: Option<String>) -> DsnRecipient {
    DsnRecipient {
        final_recipient: r.address.clone(),
        original_recipient: r.orcpt.clone(),
        action,
        status,
        remote_mta: remote,
        diagnostic: diag,
        last_attempt: Some(SystemTime::now()),
        will_retry_until: None,
    }
}

async fn send(queue: &Queue, cfg: &Config, directory: &Directory, env: &Envelope, recipients: Vec<DsnRecipient>, kind: &str) {
    // A message over the limit is returned as headers only, so more is never read.
    let original = match queue.body(&env.id) {
        Ok(Some(content)) => content.prefix(RETURN_LIMIT + 1).unwrap_or_else(|e| {
            tracing::warn!(id = %env.id, error = %e, "cannot read the message for the notice");
            Vec::new()
        }),
        _ => Vec::new(),
    };
    let input = DsnInput {
        reporting_mta: cfg.server.hostname.clone(),
        envelope_id: env.envid.clone(),
        sender: env.mail_from.clone(),
        arrival_date: UNIX_EPOCH + Duration::from_secs(env.arrived),
        original: &original,
        ret: env.ret,
        return_limit: RETURN_LIMIT,
        recipients,
        date: SystemTime::now(),
    };
    let message = build_dsn(&input);
    let id = QueueId::generate();
    // The sender may be an alias (or an SRS address) of ours: expand like accepted mail.
    // Without the directory the notice goes to the sender as given; delivery resolves it.
    let sender = vec![Recipient::new(env.mail_from.clone())];
    let to = match directory.expand(cfg, "", sender.clone()).await {
        Ok(to) => to,
        Err(e) => {
            tracing::warn!(id = %env.id, error = %e, "bounce recipient not expanded");
            sender
        }
    };
    let mut dsn = Envelope::new(id.clone(), "", to);
    dsn.smtputf8 = env.smtputf8;
    dsn.body_8bit = message.iter().any(|b| *b >= 0x80);
    match queue.enqueue(dsn, Content::inline(message)).await {
        Ok(()) => tracing::info!(id = %env.id, notice = %id, kind, to = %env.mail_from, "sender notified"),
        Err(e) => tracing::error!(id = %env.id, kind, error = %e, "cannot queue delivery status notification"),
    }
}
