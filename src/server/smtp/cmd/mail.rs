//! MAIL FROM: open a transaction after the sequence, auth, size and sender checks.
use crate::config::{InboundTls, ListenerKind};
use crate::app::policy;
use crate::limits::Key;
use crate::server::smtp::session::{Session, Step, Transaction};
use crate::proto::smtp::command::Body;
use crate::proto::smtp::{MailParams, Reply, ReversePath};

pub async fn mail(s: &mut Session, from: ReversePath, params: MailParams) -> Step {
    Step::Reply(match check(s, &from, &params).await {
        Err(r) => r,
        Ok(()) => {
            tracing::debug!(client = %s.peer.ip(), from = %fmt_path(&from), "mail from");
            s.tx = Some(Transaction { from, params, rcpts: Vec::new(), bdat: None });
            Reply::sender_ok()
        }
    })
}

async fn check(s: &Session, from: &ReversePath, params: &MailParams) -> Result<(), Reply> {
    if s.helo.is_none() {
        return Err(Reply::need_ehlo());
    }
    if s.tx.is_some() {
        return Err(Reply::nested_mail());
    }
    if s.kind == ListenerKind::Smtp && s.tls.is_none() && s.ctx.config.tls.inbound == InboundTls::Encrypt {
        return Err(Reply::starttls_first());
    }
    if s.kind.requires_auth() && s.auth_user.is_none() {
        return Err(Reply::auth_required());
    }
    let uses_esmtp = params.size.is_some() || params.body.is_some() || params.smtputf8 || params.ret.is_some()
        || params.envid.is_some() || params.auth.is_some();
    if uses_esmtp && !s.esmtp {
        return Err(Reply::extension_not_offered());
    }
    if params.body == Some(Body::BinaryMime) {
        return Err(Reply::extension_not_offered());
    }
    if params.size.is_some_and(|n| n > s.ctx.config.limits.message_size) {
        return Err(Reply::message_too_big());
    }
    if let ReversePath::Path(a) = from
        && !a.is_ascii()
        && !params.smtputf8
    {
        return Err(Reply::smtputf8_required());
    }
    policy::check_sender(&s.ctx.config, from, s.may_relay())?;
    if s.ctx.config.relay.sender_login
        && let (Some(login), ReversePath::Path(a)) = (&s.auth_user, from)
    {
        match s.ctx.directory.owns_sender(login, &a.to_string()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(client = %s.peer.ip(), user = %login, sender = %a, "sender not owned by the login");
                return Err(Reply::sender_not_owned(a, login));
            }
            Err(e) => {
                tracing::warn!(error = %e, "sender login lookup failed; answering 451");
                return Err(Reply::sender_lookup_unavailable(a));
            }
        }
    }
    let over_ip = s.ctx.rates.messages.take(Key::Ip(s.peer.ip())).await.is_err();
    let over_user = match &s.auth_user {
        Some(u) => s.ctx.rates.senders.take(Key::Name(u)).await.is_err(),
        None => false,
    };
    if over_ip || over_user {
        tracing::warn!(client = %s.peer.ip(), user = s.auth_user.as_deref().unwrap_or(""), "message rate limit exceeded");
        return Err(Reply::rate_limited_transient());
    }
    Ok(())
}

pub fn fmt_path(from: &ReversePath) -> String {
    match from {
        ReversePath::Null => "<>".into(),
        ReversePath::Path(a) => format!("<{a}>"),
    }
}
