//! HTTPS for the public API with the daemon's certificate: a listener whose handshakes
//! run in their own tasks, so one slow client cannot stall `accept` for the others.
use super::state::Client;
use crate::app::Services;
use crate::net::tls::TlsInfo;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Completed handshakes waiting for the server to pick them up.
const BACKLOG: usize = 64;

pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp`; handshakes use the daemon's current certificate.
    pub fn new(tcp: TcpListener, ctx: Arc<Services>) -> TlsListener {
        let local = tcp.local_addr().expect("bound listener has an address");
        let (tx, ready) = mpsc::channel(BACKLOG);
        tokio::spawn(accept_loop(tcp, ctx, tx));
        TlsListener { local, ready }
    }
}

async fn accept_loop(tcp: TcpListener, ctx: Arc<Services>, tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let (stream, peer) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
            _ = tx.closed() => return,
        };
        let (ctx, tx) = (ctx.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, ctx.tls_accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) if crate::net::tls::AcmeValidationAnswered::is(&e) => {}
                Ok(Err(e)) => tracing::info!(client = %peer.ip(), error = %e, "http tls handshake failed"),
                Err(_) => tracing::info!(client = %peer.ip(), "http tls handshake timeout"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(x) => x,
            // The accept loop ended (shutdown): never yield another connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Client {
    fn connect_info(s: IncomingStream<'_, TlsListener>) -> Self {
        Client { addr: *s.remote_addr(), tls: Some(TlsInfo::of(s.io().get_ref().1)) }
    }
}
