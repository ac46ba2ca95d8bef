//! Reading mail over IMAP (RFC 3501 / 9051) from the Maildirs postern delivers to.
//!
//! Owns: everything between an accepted connection and `mailstore` for IMAP: connection
//! limits, implicit TLS (imaps) and STARTTLS, the session loop (`session.rs`), the
//! selected mailbox's view and its updates (`mailbox.rs`), one file per command group in
//! `cmd/`. Must not touch: sled, delivery, other protocols, IMAP syntax (`proto::imap`).
mod cmd;
mod conn;
mod mailbox;
mod session;

use crate::app::Services;
use crate::config::ListenerKind;
use crate::limits::Key;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub use session::Session;

/// Runs one IMAP connection (`kind` is `Imap` or `Imaps`) from greeting to logout.
pub async fn handle(ctx: Arc<Services>, tcp: TcpStream, peer: SocketAddr, kind: ListenerKind) {
    serve(ctx, tcp, peer, kind).await
}

/// `handle` over any byte stream (tests and fuzzing pass in-memory ones).
pub async fn serve<S: conn::Io + 'static>(ctx: Arc<Services>, mut io: S, peer: SocketAddr, kind: ListenerKind) {
    let Some(_guard) = ctx.connections.try_acquire(peer.ip()) else {
        tracing::warn!(client = %peer.ip(), "imap: too many connections");
        let _ = io.write_all(b"* BYE Too many connections, try again later\r\n").await;
        return;
    };
    if ctx.rates.connections.take(Key::Ip(peer.ip())).await.is_err() {
        tracing::warn!(client = %peer.ip(), "imap: connection rate limit exceeded");
        let _ = io.write_all(b"* BYE Too many connections from your address, try again later\r\n").await;
        return;
    }
    tracing::debug!(client = %peer, kind = kind.name(), "imap connect");
    let (stream, tls): (Box<dyn conn::Io>, bool) = if kind.implicit_tls() {
        let Some((tls, _info)) = crate::server::listener::handshake(&ctx, io, peer).await else { return };
        (Box::new(tls), true)
    } else {
        (Box::new(io), false)
    };
    let mut session = Session::new(ctx.clone(), peer, kind, tls);
    let conn = conn::Conn::new(stream, ctx.shutdown.clone());
    session.run(conn).await;
    tracing::debug!(client = %peer, "imap disconnect");
}

/// A session over any byte stream that starts logged in as `login`, as after LOGIN on
/// imaps (the `imap_session` fuzz target: every client byte reaches the commands of the
/// authenticated and selected states, none is spent on a password).
pub async fn serve_logged_in<S: conn::Io + 'static>(ctx: Arc<Services>, io: S, peer: SocketAddr, login: crate::server::access::Login) {
    let mut session = Session::new(ctx.clone(), peer, ListenerKind::Imaps, true);
    session.login = Some(login);
    session.run(conn::Conn::new(Box::new(io), ctx.shutdown.clone())).await;
}
