//! STARTTLS (RFC 3207): drop anything pipelined after it, answer 220, hand over the stream.
use crate::server::smtp::conn::{Conn, ConnError};
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;
use tokio::io::{AsyncRead, AsyncWrite};

pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    conn: &mut Conn<S>,
) -> Result<Step, ConnError> {
    if s.tls.is_some() {
        return Ok(Step::Reply(Reply::already_tls()));
    }
    if !s.starttls_offered() {
        return Ok(Step::Reply(Reply::not_implemented()));
    }
    // Bytes sent before the handshake are plaintext an attacker may have injected
    // (CVE-2011-0411 and friends); they must never be read as commands inside TLS.
    let injected = conn.discard_buffered();
    if injected > 0 {
        tracing::warn!(client = %s.peer.ip(), bytes = injected, "discarded data pipelined after STARTTLS");
    }
    conn.reply(&Reply::starttls_ready());
    conn.flush().await?;
    Ok(Step::StartTls)
}
