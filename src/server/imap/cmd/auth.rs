//! STARTTLS, LOGIN, AUTHENTICATE PLAIN (SASL-IR), ENABLE. The failure throttle and the
//! password check are `server::access`; passwords are never logged.
use super::{no, ok};
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::session::{Flow, Session};
use crate::config::ListenerKind;
use crate::server::access::LoginError;

pub async fn starttls(s: &mut Session, conn: &mut Conn, tag: &str) -> Result<Flow, ConnError> {
    if s.kind != ListenerKind::Imap || s.tls {
        return Ok(bad(s, conn, tag, "STARTTLS not available"));
    }
    if !conn.buffered().is_empty() {
        // Bytes pipelined after STARTTLS would be read as if they came over TLS
        // (CVE-2011-0411 class): refuse and close.
        tracing::warn!(client = %s.peer.ip(), "imap: data pipelined after STARTTLS");
        conn.line(format!("{tag} BAD STARTTLS followed by pipelined data"));
        conn.line("* BYE Closing connection");
        return Ok(Flow::Close);
    }
    conn.line(format!("{tag} OK Begin TLS negotiation now"));
    conn.flush().await?;
    let plain = std::mem::replace(&mut conn.io, Box::new(tokio::io::duplex(1).0));
    let Some((tls, _info)) = crate::server::listener::handshake(&s.ctx, plain, s.peer).await else { return Ok(Flow::Close) };
    conn.io = Box::new(tls);
    s.tls = true;
    Ok(Flow::Continue)
}

fn bad(s: &mut Session, conn: &mut Conn, tag: &str, text: &str) -> Flow {
    conn.line(format!("{tag} BAD {text}"));
    s.bad()
}

pub async fn login(s: &mut Session, conn: &mut Conn, tag: &str, user: &str, password: &str) -> Result<Flow, ConnError> {
    if !s.login_allowed() {
        return Ok(no(conn, tag, "[PRIVACYREQUIRED] LOGINDISABLED: use STARTTLS first"));
    }
    check(s, conn, tag, user, password).await
}

pub async fn authenticate(s: &mut Session, conn: &mut Conn, tag: &str, mechanism: &str, initial: Option<String>) -> Result<Flow, ConnError> {
    if mechanism != "PLAIN" {
        return Ok(no(conn, tag, "[CANNOT] Unsupported authentication mechanism"));
    }
    if !s.login_allowed() {
        return Ok(no(conn, tag, "[PRIVACYREQUIRED] Use STARTTLS first"));
    }
    let response = match initial {
        Some(r) => r,
        None => {
            conn.line("+ ");
            match conn.read_line(8192, s.timeout()).await? {
                Some(l) => String::from_utf8_lossy(&l).into_owned(),
                None => return Ok(bad(s, conn, tag, "SASL response too long")),
            }
        }
    };
    if crate::proto::smtp::sasl::is_cancel(&response) {
        return Ok(bad(s, conn, tag, "Authentication cancelled"));
    }
    let response = if response == "=" { String::new() } else { response };
    let creds = match crate::proto::smtp::sasl::decode_plain(&response) {
        Ok(c) => c,
        Err(_) => return Ok(bad(s, conn, tag, "Invalid PLAIN response")),
    };
    if !creds.authzid.is_empty() && creds.authzid != creds.authcid {
        return Ok(no(conn, tag, "[AUTHORIZATIONFAILED] Cannot act as another user"));
    }
    check(s, conn, tag, &creds.authcid, &creds.password).await
}

async fn check(s: &mut Session, conn: &mut Conn, tag: &str, user: &str, password: &str) -> Result<Flow, ConnError> {
    match crate::server::access::login(&s.ctx, s.peer, "imap", user, password).await {
        Ok(login) => {
            let store = login.store.clone();
            if let Err(e) = crate::server::imap::mailbox::blocking(move || store.ensure_special_use()).await {
                tracing::warn!(account = %login.account, error = %e, "imap: cannot create the special-use folders");
            }
            s.login = Some(login);
            Ok(ok(conn, tag, &format!("[CAPABILITY {}] Logged in", s.capabilities())))
        }
        Err(LoginError::Denied) => Ok(no(conn, tag, "[AUTHENTICATIONFAILED] Authentication failed")),
        Err(LoginError::Throttled) => {
            tokio::time::sleep(s.ctx.config.limits.auth_failure_delay.get()).await;
            conn.line(format!("{tag} NO [UNAVAILABLE] Too many authentication failures"));
            conn.line("* BYE Too many authentication failures, try again later");
            Ok(Flow::Close)
        }
        Err(LoginError::Unavailable(_)) => Ok(no(conn, tag, "[UNAVAILABLE] Temporary failure, try again later")),
    }
}

pub fn enable(s: &mut Session, conn: &mut Conn, tag: &str, caps: &[String]) -> Flow {
    let mut enabled = Vec::new();
    for c in caps {
        if c == "UTF8=ACCEPT" {
            s.utf8 = true;
            enabled.push(c.as_str());
        } else if c == "CONDSTORE" {
            s.enable_condstore();
            enabled.push(c.as_str());
        } else if c == "QRESYNC" {
            // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
            s.enable_condstore();
            s.qresync = true;
            if let Some(sel) = s.selected.as_mut() {
                sel.qresync = true;
            }
            enabled.push(c.as_str());
        }
    }
    conn.line(format!("* ENABLED {}", enabled.join(" ")).trim_end());
    ok(conn, tag, "ENABLE completed")
}
