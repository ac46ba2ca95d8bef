//! RETR and TOP (RFC 1939 §7): the message file streamed through `proto::pop3::Encoder`
//! (CRLF, dot-stuffing, TOP's line limit) in 64 KiB pieces, never whole in memory.
use crate::mailstore;
use crate::proto::pop3::command::MsgNum;
use crate::proto::pop3::{Encoder, Reply};
use crate::server::pop3::maildrop::Maildrop;
use crate::server::pop3::session::Step;
use crate::server::smtp::conn::Conn;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

const CHUNK: usize = 64 * 1024;

/// `top`: `None` for RETR, `Some(lines)` for TOP.
pub async fn retr<S: AsyncRead + AsyncWrite + Unpin>(
    drop: &mut Maildrop,
    conn: &mut Conn<S>,
    peer: SocketAddr,
    idle: Duration,
    n: MsgNum,
    top: Option<u64>,
) -> Step {
    let msg = match drop.get(n) {
        Ok(m) => m.clone(),
        Err(r) => return Step::Reply(r),
    };
    let file = match drop.open_message(&msg).await {
        Ok(f) => f,
        Err(mailstore::Error::Expunged) => return Step::Reply(Reply::message_expunged(n)),
        Err(e) => {
            tracing::error!(client = %peer.ip(), protocol = "pop3", account = %drop.account, uid = msg.uid, error = %e, "cannot open message");
            return Step::Reply(Reply::read_failed());
        }
    };
    let (mut encoder, first) = match top {
        None => (Encoder::retr(), Reply::retr(msg.vsize)),
        Some(lines) => (Encoder::top(lines), Reply::top()),
    };
    conn.write(&first.to_wire());
    let mut file = tokio::fs::File::from_std(file);
    let mut buf = vec![0u8; CHUNK];
    let mut out = Vec::with_capacity(CHUNK + CHUNK / 16);
    while encoder.wants_more() {
        let k = match file.read(&mut buf).await {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) => {
                // +OK is on its way: the only honest end now is to drop the connection.
                tracing::error!(client = %peer.ip(), protocol = "pop3", account = %drop.account, uid = msg.uid, error = %e, "reading message failed mid-transfer");
                return Step::Hangup;
            }
        };
        encoder.push(&buf[..k], &mut out);
        conn.write(&out);
        out.clear();
        if conn.queued() >= CHUNK {
            // A client that does not read must not hold the session forever.
            match tokio::time::timeout(idle, conn.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Step::Hangup,
            }
        }
    }
    encoder.finish(&mut out);
    conn.write(&out);
    if top.is_none() {
        drop.mark_retrieved(n);
    }
    Step::Sent
}
