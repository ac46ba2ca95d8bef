//! STLS (RFC 2595 §4): drop anything pipelined after it, answer +OK, hand over the stream.
use crate::proto::pop3::Reply;
use crate::server::pop3::session::{Session, Step};
use crate::server::smtp::conn::{Conn, ConnError};
use tokio::io::{AsyncRead, AsyncWrite};

pub async fn stls<S: AsyncRead + AsyncWrite + Unpin>(s: &mut Session, conn: &mut Conn<S>) -> Result<Step, ConnError> {
    if s.tls.is_some() {
        return Ok(Step::Reply(Reply::already_tls()));
    }
    if !s.stls_offered() {
        return Ok(Step::Reply(Reply::stls_not_here()));
    }
    // Bytes sent before the handshake are plaintext an attacker may have injected
    // (CVE-2011-0411 and friends); they must never be read as commands inside TLS.
    let injected = conn.discard_buffered();
    if injected > 0 {
        tracing::warn!(client = %s.peer.ip(), protocol = "pop3", bytes = injected, "discarded data pipelined after STLS");
    }
    s.user = None;
    conn.write(&Reply::stls_ready().to_wire());
    conn.flush().await?;
    Ok(Step::Stls)
}
