//! Listeners: bind, accept, enforce connection limits, and run each session — with
//! implicit TLS on `submissions`, and the STARTTLS switch on the others.
use crate::app::Services;
use super::conn::Conn;
use super::session::{Next, Session};
use crate::net::tls::TlsInfo;
use crate::config::ListenerKind;
use crate::limits::Key;
use crate::proto::smtp::Reply;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Bound {
    pub listener: TcpListener,
    pub kind: ListenerKind,
}

/// Binds every configured listener (before anything else starts, so errors surface early).
pub async fn bind_all(ctx: &Services) -> std::io::Result<Vec<Bound>> {
    let mut out = Vec::new();
    for l in &ctx.config.listeners {
        let listener = listen(&l.bind)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {} ({}): {e}", l.bind, l.kind.name())))?;
        tracing::info!(kind = %l.kind.name(), addr = %listener.local_addr()?, "listening");
        out.push(Bound { listener, kind: l.kind });
    }
    Ok(out)
}

/// Binds with a deep accept backlog: the default 128 overflows when many clients connect
/// at once, and each overflow costs the client a 1 s SYN retransmit.
fn listen(bind: &str) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = bind.parse().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not ip:port"))?;
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections until shutdown or drain (then the port is closed: a load balancer
/// or the sending MTA goes to another node).
pub async fn serve(ctx: Arc<Services>, bound: Bound) {
    let mut shutdown = ctx.shutdown.clone();
    let mut draining = ctx.draining.subscribe();
    loop {
        let (tcp, peer) = tokio::select! {
            r = bound.listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
            _ = async { let _ = draining.wait_for(|d| *d).await; } => {
                tracing::info!(kind = bound.kind.name(), "draining: listener closed");
                return;
            }
        };
        let _ = tcp.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move { handle(ctx, tcp, peer, bound.kind).await });
    }
}

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
        let Some((tls, info)) = handshake(&ctx, tcp, peer).await else { return };
        session.tls = Some(info);
        run(&ctx, &mut session, Conn::new(tls, idle(&ctx), deadline), true).await;
        return;
    }
    let conn = Conn::new(tcp, idle(&ctx), deadline);
    if let Some(tcp) = run(&ctx, &mut session, conn, true).await {
        let Some((tls, info)) = handshake(&ctx, tcp, peer).await else { return };
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

async fn handshake<S>(ctx: &Services, tcp: S, peer: SocketAddr) -> Option<(tokio_rustls::server::TlsStream<S>, TlsInfo)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, ctx.tls_accept(tcp)).await {
        Ok(Ok(tls)) => {
            crate::metrics::tls_handshake("inbound", true);
            let info = TlsInfo::of(tls.get_ref().1);
            tracing::debug!(client = %peer.ip(), version = %info.version, cipher = %info.cipher, "tls established");
            Some((tls, info))
        }
        Ok(Err(e)) if crate::net::tls::AcmeValidationAnswered::is(&e) => None,
        Ok(Err(e)) => {
            crate::metrics::tls_handshake("inbound", false);
            tracing::info!(client = %peer.ip(), error = %e, "tls handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(client = %peer.ip(), "tls handshake timeout");
            None
        }
    }
}
