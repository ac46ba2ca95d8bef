//! Reading mail over POP3 (RFC 1939, STLS RFC 2595, AUTH RFC 5034) from the Maildirs
//! postern delivers to.
//!
//! Owns: everything between an accepted connection and `mailstore` for POP3.
//! Must not touch: sled, delivery, other protocols.
use crate::app::Services;
use crate::config::ListenerKind;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Runs one POP3 connection (`kind` is `Pop3` or `Pop3s`) from greeting to QUIT.
pub async fn handle(_ctx: Arc<Services>, mut tcp: TcpStream, _peer: SocketAddr, _kind: ListenerKind) {
    // Skeleton: replaced by the POP3 server.
    let _ = tcp.write_all(b"-ERR POP3 not implemented yet\r\n").await;
}
