//! RCPT TO: the recipient limit, SMTPUTF8, the relay policy, then the directory (unknown
//! local users, full mailboxes and transport-map rejects are refused here, not bounced).
use crate::app::policy;
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::{ForwardPath, RcptParams, Reply};

pub async fn rcpt(s: &mut Session, to: ForwardPath, params: RcptParams) -> Step {
    let may_relay = s.may_relay();
    let cfg = s.ctx.config.clone();
    let Some(tx) = s.tx.as_mut() else { return Step::Reply(Reply::need_mail()) };
    if tx.bdat.is_some() {
        return Step::Reply(Reply::rcpt_after_bdat());
    }
    if tx.rcpts.len() >= cfg.limits.recipients {
        return Step::Reply(Reply::too_many_recipients());
    }
    if !to.address.is_ascii() && !tx.params.smtputf8 {
        return Step::Reply(Reply::smtputf8_required());
    }
    if (params.notify.is_some() || params.orcpt.is_some()) && !s.esmtp {
        return Step::Reply(Reply::extension_not_offered());
    }
    if let Err(r) = policy::check_recipient(&cfg, &to, may_relay) {
        tracing::info!(client = %s.peer.ip(), rcpt = %to.address, "relay denied");
        return Step::Reply(r);
    }
    let address = to.address.to_string();
    let size = tx.params.size;
    if let Err(refusal) = s.ctx.clone().directory.check_recipient(&cfg, &address, size).await {
        tracing::info!(client = %s.peer.ip(), rcpt = %address, reason = ?refusal, "recipient refused");
        return Step::Reply(refusal.reply(&address));
    }
    let Some(tx) = s.tx.as_mut() else { return Step::Reply(Reply::need_mail()) };
    tx.rcpts.push((to, params));
    Step::Reply(Reply::recipient_ok())
}
