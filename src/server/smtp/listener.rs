//! One SMTP connection: connection limits, implicit TLS on `submissions`, the STARTTLS
//! switch on the others, and the session. (Binding and accepting: `server::listener`.)
use crate::app::Services;
use super::conn::Conn;
use super::session::{Next, Session};
use crate::config::ListenerKind;
use crate::limits::Key;
use crate::proto::smtp::Reply;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Runs one client connection from its greeting to its end: connection limits, implicit
/// TLS or the STARTTLS switch, the session. Any byte stream works (TCP from `serve`; the
/// in-process test harness passes one end of a socket pair).
pub async fn handle<S>(ctx: Arc<Services>, mut tcp: S, peer: SocketAddr, kind: ListenerKind)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let Some(_guard) = ctx.connections.try_acquire(peer.ip()) else {
        tracing::warn!(client = %peer.ip(), "too many connections");
        let _ = tcp.write_all(&Reply::too_many_connections().to_wire()).await;
        return;
    };
    if ctx.rates.connections.take(Key::Ip(peer.ip())).await.is_err() {
        tracing::warn!(client = %peer.ip(), "connection rate limit exceeded");
        let _ = tcp.write_all(&Reply::rate_limited().to_wire()).await;
        return;
    }
    tracing::debug!(client = %peer, kind = kind.name(), "connect");
    let deadline = Instant::now() + ctx.config.limits.session_timeout.get();
    let mut session = Session::new(ctx.clone(), kind, peer);
    if kind == ListenerKind::Submissions {
        let Some((tls, info)) = crate::server::listener::handshake(&ctx, tcp, peer).await else { return };
        session.tls = Some(info);
        run(&ctx, &mut session, Conn::new(tls, idle(&ctx), deadline), true).await;
        return;
    }
    let conn = Conn::new(tcp, idle(&ctx), deadline);
    if let Some(tcp) = run(&ctx, &mut session, conn, true).await {
        let Some((tls, info)) = crate::server::listener::handshake(&ctx, tcp, peer).await else { return };
        session.reset_after_tls(info);
        run(&ctx, &mut session, Conn::new(tls, idle(&ctx), deadline), false).await;
    }
    tracing::debug!(client = %peer, "disconnect");
}

fn idle(ctx: &Services) -> Duration {
    ctx.config.limits.command_timeout.get()
}

/// Runs the session on `conn`; returns the stream when the client asked for STARTTLS.
async fn run<S>(ctx: &Services, session: &mut Session, mut conn: Conn<S>, greet: bool) -> Option<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.watch_shutdown(ctx.shutdown.clone());
    if greet {
        conn.reply(&Reply::greeting(&ctx.config.server.hostname));
    }
    match session.run(&mut conn).await {
        Next::StartTls => Some(conn.into_inner()),
        Next::Close => None,
    }
}
