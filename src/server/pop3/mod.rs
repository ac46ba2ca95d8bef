//! Reading mail over POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034) from
//! the Maildirs postern delivers to; behaves like Dovecot's POP3 server with its defaults
//! (INBOX only, `%08Xu%08Xv` UIDLs, sizes with CRLF line ends, RETR marks \Seen at the end
//! of the session, DELE removes at QUIT).
//!
//! No maildrop lock (Dovecot's default `pop3_lock_session = no`, so no `[IN-USE]`): the
//! mail store is safe against concurrent sessions (UIDs and renames under the uidlist
//! dotlock), a message another session removed answers `-ERR` when retrieved, and a lock
//! would lock out a user whose phone left a dead connection behind until it timed out.
//!
//! Owns: everything between an accepted connection and `mailstore` for POP3 — limits,
//! implicit TLS and STLS (`handle`), the session loop (`session`), the listed messages
//! (`maildrop`), one file per command (`cmd/`). Must not touch: sled, delivery, other
//! protocols (it borrows the SMTP server's buffered `Conn`).
mod cmd;
mod maildrop;
mod session;

use crate::app::Services;
use crate::config::ListenerKind;
use crate::limits::Key;
use crate::proto::pop3::Reply;
use crate::server::smtp::conn::Conn;
use session::{Next, Session};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// RFC 1939 §3: an autologout timer must be at least 10 minutes.
const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs one POP3 connection (`kind` is `Pop3` or `Pop3s`) from greeting to QUIT.
pub async fn handle(ctx: Arc<Services>, mut tcp: TcpStream, peer: SocketAddr, kind: ListenerKind) {
    // Refusals are written in clear only where the client speaks clear text first.
    let plain = !kind.implicit_tls();
    let Some(_guard) = ctx.connections.try_acquire(peer.ip()) else {
        tracing::warn!(client = %peer.ip(), protocol = "pop3", "too many connections");
        if plain {
            let _ = tcp.write_all(&Reply::too_many_connections().to_wire()).await;
        }
        return;
    };
    if ctx.rates.connections.take(Key::Ip(peer.ip())).await.is_err() {
        tracing::warn!(client = %peer.ip(), protocol = "pop3", "connection rate limit exceeded");
        if plain {
            let _ = tcp.write_all(&Reply::rate_limited().to_wire()).await;
        }
        return;
    }
    tracing::debug!(client = %peer, kind = kind.name(), "connect");
    let deadline = Instant::now() + ctx.config.limits.session_timeout.get();
    let idle = idle_timeout(&ctx);
    let mut session = Session::new(ctx.clone(), kind, peer);
    if kind.implicit_tls() {
        if let Some((tls, info)) = crate::server::listener::handshake(&ctx, tcp, peer).await {
            session.tls = Some(info);
            run(&ctx, &mut session, Conn::new(tls, idle, deadline), true).await;
        }
    } else if let Some(tcp) = run(&ctx, &mut session, Conn::new(tcp, idle, deadline), true).await
        && let Some((tls, info)) = crate::server::listener::handshake(&ctx, tcp, peer).await
    {
        session.tls = Some(info);
        run(&ctx, &mut session, Conn::new(tls, idle, deadline), false).await;
    }
    session.end().await;
    tracing::debug!(client = %peer, "disconnect");
}

/// How long a client may stay silent: the SMTP command timeout, never below RFC 1939's.
fn idle_timeout(ctx: &Services) -> Duration {
    ctx.config.limits.command_timeout.get().max(MIN_IDLE_TIMEOUT)
}

/// Runs the session on `conn`; returns the stream when the client asked for STLS.
async fn run<S>(ctx: &Services, session: &mut Session, mut conn: Conn<S>, greet: bool) -> Option<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.watch_shutdown(ctx.shutdown.clone());
    if greet {
        conn.write(&Reply::greeting(&ctx.config.server.hostname).to_wire());
    }
    match session.run(&mut conn).await {
        Next::Stls => Some(conn.into_inner()),
        Next::Close => None,
    }
}
