//! USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034), only where a password may be sent
//! (TLS, or plaintext allowed for loopback). A login opens the maildrop (TRANSACTION).
//! Failures are throttled by `server::access`; past its limit the client waits, gets a
//! plain -ERR and is disconnected. Passwords and SASL payloads are never logged.
use crate::proto::pop3::reply::mechanisms;
use crate::proto::pop3::{self, Reply};
use crate::proto::smtp::sasl;
use crate::server::access::{self, LoginError};
use crate::server::pop3::maildrop::Maildrop;
use crate::server::pop3::session::{Session, Step};
use crate::server::smtp::conn::{Conn, ConnError, Line};
use tokio::io::{AsyncRead, AsyncWrite};

pub fn user(s: &mut Session, name: String) -> Step {
    if let Some(r) = refusal(s) {
        return Step::Reply(r);
    }
    s.user = Some(name);
    Step::Reply(Reply::user_accepted())
}

pub async fn pass(s: &mut Session, password: String) -> Step {
    if let Some(r) = refusal(s) {
        return Step::Reply(r);
    }
    let Some(user) = s.user.take() else { return Step::Reply(Reply::pass_without_user()) };
    login(s, &user, &password).await
}

pub async fn auth<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    conn: &mut Conn<S>,
    mechanism: Option<String>,
    initial: Option<String>,
) -> Result<Step, ConnError> {
    let Some(mechanism) = mechanism else {
        return Ok(Step::Raw(mechanisms(s.maildrop.is_none() && s.password_allowed())));
    };
    if let Some(r) = refusal(s) {
        return Ok(Step::Reply(r));
    }
    if mechanism != "PLAIN" {
        return Ok(Step::Reply(Reply::auth_mechanism_unsupported()));
    }
    let response = match initial {
        Some(r) => r,
        None => {
            conn.write(Reply::auth_continue());
            match conn.read_line(pop3::MAX_SASL_LINE).await? {
                Line::Ok(b) if b == b"*" => return Ok(Step::Reply(Reply::auth_cancelled())),
                Line::Ok(b) => match String::from_utf8(b) {
                    Ok(r) => r,
                    Err(_) => return Ok(Step::Reply(Reply::auth_malformed())),
                },
                Line::TooLong => return Ok(Step::Reply(Reply::line_too_long())),
                Line::BareNewline => return Ok(Step::Reply(Reply::bare_newline())),
            }
        }
    };
    Ok(match sasl::decode_plain(&response) {
        // Acting for another identity (authzid) is not supported.
        Ok(c) if !c.authzid.is_empty() && c.authzid != c.authcid => Step::Reply(Reply::auth_failed()),
        Ok(c) => login(s, &c.authcid, &c.password).await,
        Err(_) => Step::Reply(Reply::auth_malformed()),
    })
}

/// Why a login command cannot be used now.
fn refusal(s: &Session) -> Option<Reply> {
    if s.maildrop.is_some() {
        Some(Reply::already_logged_in())
    } else if !s.password_allowed() {
        Some(Reply::plaintext_disallowed())
    } else {
        None
    }
}

async fn login(s: &mut Session, user: &str, password: &str) -> Step {
    let login = match access::login(&s.ctx, s.peer, "pop3", user, password).await {
        Ok(l) => l,
        Err(LoginError::Denied) => return Step::Reply(Reply::auth_failed()),
        Err(LoginError::Unavailable(_)) => return Step::Reply(Reply::auth_unavailable()),
        Err(LoginError::Throttled) => {
            tokio::time::sleep(s.ctx.config.limits.auth_failure_delay.get()).await;
            return Step::Close(Reply::auth_throttled());
        }
    };
    let account = login.account.clone();
    match Maildrop::open(login).await {
        Ok(drop) => {
            tracing::debug!(client = %s.peer.ip(), protocol = "pop3", account = %account, messages = drop.stat().0, "maildrop opened");
            s.maildrop = Some(drop);
            Step::Reply(Reply::logged_in())
        }
        Err(e) => {
            tracing::error!(client = %s.peer.ip(), protocol = "pop3", account = %account, error = %e, "cannot open INBOX");
            Step::Reply(Reply::mailbox_unavailable())
        }
    }
}
