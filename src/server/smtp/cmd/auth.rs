//! AUTH PLAIN / LOGIN (RFC 4954), only over TLS. Failures are counted per client IP;
//! past the limit the client waits, then gets 421 and is disconnected.
//! Passwords and SASL payloads are never logged.
use crate::server::smtp::conn::{Conn, ConnError, Line};
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;
use crate::proto::smtp::sasl;
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 4954 §4: a SASL response line may be up to 12288 octets.
const MAX_SASL_LINE: usize = 12288;

pub async fn auth<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    conn: &mut Conn<S>,
    mechanism: &str,
    initial: Option<String>,
) -> Result<Step, ConnError> {
    if let Some(r) = refusal(s) {
        return Ok(Step::Reply(r));
    }
    let ip = s.peer.ip();
    let limits = &s.ctx.config.limits;
    if s.ctx.auth_failures.count(ip).await >= limits.auth_failures {
        return Ok(too_many_failures(s).await);
    }
    let creds = match mechanism {
        "PLAIN" => plain(conn, initial).await?,
        "LOGIN" => login(conn, initial).await?,
        _ => return Ok(Step::Reply(Reply::auth_mech_unsupported())),
    };
    let (user, password) = match creds {
        Ok(c) => c,
        Err(r) => return Ok(Step::Reply(r)),
    };
    let ok = match s.ctx.directory.authenticate(&user, &password).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(client = %ip, error = %e, "authentication lookup failed; answering 454");
            return Ok(Step::Reply(Reply::auth_temporary_failure()));
        }
    };
    if ok {
        tracing::info!(client = %ip, user = %user, mechanism, "authenticated");
        s.ctx.auth_failures.clear(ip).await;
        s.auth_user = Some(user);
        return Ok(Step::Reply(Reply::auth_success()));
    }
    let failures = s.ctx.auth_failures.record(ip).await;
    crate::metrics::auth_failure();
    tracing::warn!(client = %ip, mechanism, failures, "authentication failed");
    if failures >= s.ctx.config.limits.auth_failures {
        return Ok(too_many_failures(s).await);
    }
    Ok(Step::Reply(Reply::auth_failed()))
}

fn refusal(s: &Session) -> Option<Reply> {
    if s.tls.is_none() {
        Some(Reply::auth_needs_tls())
    } else if s.helo.is_none() {
        Some(Reply::need_ehlo())
    } else if s.auth_user.is_some() {
        Some(Reply::auth_already())
    } else if s.tx.is_some() {
        Some(Reply::auth_in_transaction())
    } else {
        None
    }
}

async fn too_many_failures(s: &Session) -> Step {
    tokio::time::sleep(s.ctx.config.limits.auth_failure_delay.get()).await;
    Step::Close(Reply::auth_too_many_failures())
}

type Creds = Result<(String, String), Reply>;

async fn plain<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    initial: Option<String>,
) -> Result<Creds, ConnError> {
    let response = match initial {
        Some(r) => r,
        None => match prompt(conn, Reply::auth_continue("")).await? {
            Ok(r) => r,
            Err(reply) => return Ok(Err(reply)),
        },
    };
    Ok(match sasl::decode_plain(&response) {
        // Acting for another identity (authzid) is not supported.
        Ok(c) if !c.authzid.is_empty() && c.authzid != c.authcid => Err(Reply::auth_failed()),
        Ok(c) => Ok((c.authcid, c.password)),
        Err(e) => Err(e.reply()),
    })
}

async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    initial: Option<String>,
) -> Result<Creds, ConnError> {
    let user_b64 = match initial {
        Some(r) => r,
        None => match prompt(conn, Reply::auth_login_username()).await? {
            Ok(r) => r,
            Err(reply) => return Ok(Err(reply)),
        },
    };
    let user = match sasl::decode_login(&user_b64) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e.reply())),
    };
    let pass_b64 = match prompt(conn, Reply::auth_login_password()).await? {
        Ok(r) => r,
        Err(reply) => return Ok(Err(reply)),
    };
    Ok(match sasl::decode_login(&pass_b64) {
        Ok(p) => Ok((user, p)),
        Err(e) => Err(e.reply()),
    })
}

/// Sends a 334 challenge and reads the client's response line; `*` cancels.
async fn prompt<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    challenge: Reply,
) -> Result<Result<String, Reply>, ConnError> {
    conn.reply(&challenge);
    Ok(match conn.read_line(MAX_SASL_LINE).await? {
        Line::Ok(b) if b == b"*" => Err(Reply::auth_cancelled()),
        Line::Ok(b) => String::from_utf8(b).map_err(|_| Reply::invalid_base64()),
        Line::TooLong => Err(Reply::line_too_long()),
        Line::BareNewline => Err(Reply::bare_newline_command()),
    })
}
