//! Listeners of every protocol: bind them all before anything else starts, accept
//! connections, and hand each to its protocol's session (SMTP, IMAP, POP3). Also the one
//! TLS handshake every implicit-TLS and STARTTLS switch uses.
use crate::app::Services;
use crate::config::ListenerKind;
use crate::net::tls::TlsInfo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

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
        tokio::spawn(async move { dispatch(ctx, tcp, peer, bound.kind).await });
    }
}

/// Runs one accepted connection with the session of its listener's protocol.
async fn dispatch(ctx: Arc<Services>, tcp: TcpStream, peer: SocketAddr, kind: ListenerKind) {
    match kind {
        ListenerKind::Smtp | ListenerKind::Submission | ListenerKind::Submissions => {
            crate::server::smtp::listener::handle(ctx, tcp, peer, kind).await
        }
        ListenerKind::Imap | ListenerKind::Imaps => crate::server::imap::handle(ctx, tcp, peer, kind).await,
        ListenerKind::Pop3 | ListenerKind::Pop3s => crate::server::pop3::handle(ctx, tcp, peer, kind).await,
    }
}

/// The server side of a TLS handshake (implicit TLS or after STARTTLS/STLS), bounded in
/// time; failures are logged and counted, and end the connection.
pub async fn handshake<S>(ctx: &Services, tcp: S, peer: SocketAddr) -> Option<(tokio_rustls::server::TlsStream<S>, TlsInfo)>
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
        // A TLS-ALPN-01 validation connection (RFC 8737): answered, not a failure.
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
