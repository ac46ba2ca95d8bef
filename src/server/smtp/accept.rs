//! The end of an SMTP transaction: the message checks of port 25, then ingest.
use crate::app::draft::Draft;
use crate::app::ingest::{Origin, Submission, enqueue};
use crate::server::smtp::session::{Session, Transaction};
use crate::queue::Recipient;
use crate::proto::smtp::command::Body;
use crate::proto::smtp::{Reply, ReversePath};

/// Ends an SMTP transaction: queue it and produce the reply to DATA / BDAT LAST.
pub async fn from_session(s: &Session, tx: Transaction, draft: Draft) -> Reply {
    let body = match draft.finish().await {
        Ok(message) => message,
        Err(e) => {
            tracing::error!(client = %s.peer.ip(), error = %e, "cannot store the message");
            return if e.is_storage_full() { Reply::insufficient_storage() } else { Reply::local_error() };
        }
    };
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
    let body = match crate::app::checks::screen(&s.ctx, s.kind, &sub.origin, &sub.mail_from, body).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match enqueue(&s.ctx, sub, body).await {
        Ok(id) => Reply::queued(&id.to_string()),
        Err(r) => r,
    }
}
