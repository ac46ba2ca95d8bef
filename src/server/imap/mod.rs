//! Reading mail over IMAP (RFC 3501 / 9051) from the Maildirs postern delivers to.
//!
//! Owns: everything between an accepted connection and `mailstore` for IMAP.
//! Must not touch: sled, delivery, other protocols.
use crate::app::Services;
use crate::config::ListenerKind;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Runs one IMAP connection (`kind` is `Imap` or `Imaps`) from greeting to logout.
pub async fn handle(_ctx: Arc<Services>, mut tcp: TcpStream, _peer: SocketAddr, _kind: ListenerKind) {
    // Skeleton: replaced by the IMAP server.
    let _ = tcp.write_all(b"* BYE IMAP not implemented yet\r\n").await;
}
