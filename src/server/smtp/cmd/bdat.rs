//! BDAT (RFC 3030 CHUNKING): exactly `size` octets follow, whatever our verdict, so the
//! chunk is always consumed to stay in sync; the message is queued after `LAST`.
use crate::server::smtp::accept;
use crate::server::smtp::conn::{Conn, ConnError};
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;
use crate::proto::smtp::data::{LineChecker, to_crlf};
use tokio::io::{AsyncRead, AsyncWrite};

/// The message assembled from BDAT chunks so far.
pub struct Chunks {
    body: Vec<u8>,
    checker: LineChecker,
    /// Set once a chunk failed: later chunks get the same answer (RFC 3030 §2).
    failed: Option<Reply>,
}

pub async fn bdat<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    conn: &mut Conn<S>,
    size: u64,
    last: bool,
) -> Result<Step, ConnError> {
    let limit = s.ctx.config.limits.message_size;
    let refusal = match s.tx.as_ref() {
        None => Some(Reply::bdat_without_mail()),
        Some(tx) if tx.rcpts.is_empty() => Some(Reply::bdat_without_rcpt()),
        Some(_) => None,
    };
    let mut chunks = match (&refusal, s.tx.as_mut()) {
        (None, Some(tx)) => Some(tx.bdat.get_or_insert_with(|| Chunks {
            body: Vec::new(),
            checker: LineChecker::new(
                usize::try_from(limit).unwrap_or(usize::MAX),
                s.ctx.config.limits.bare_newline,
            ),
            failed: None,
        })),
        _ => None,
    };
    let mut remaining = size;
    while remaining > 0 {
        if conn.buffered().is_empty() {
            conn.fill(false).await?;
        }
        let take = conn.buffered().len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if let Some(c) = chunks.as_mut().filter(|c| c.failed.is_none()) {
            let piece = &conn.buffered()[..take];
            c.checker.check(piece);
            if (c.body.len() + take) as u64 > limit {
                c.failed = Some(Reply::message_too_big());
                c.body = Vec::new();
            } else {
                c.body.extend_from_slice(piece);
            }
        }
        conn.consume(take);
        remaining -= take as u64;
    }
    if let Some(r) = refusal {
        return Ok(Step::Reply(r));
    }
    let failed = chunks.as_ref().and_then(|c| c.failed.clone());
    if !last {
        return Ok(Step::Reply(failed.unwrap_or_else(|| Reply::chunk_ok(size))));
    }
    let mut tx = s.tx.take().expect("transaction checked above");
    let chunks = tx.bdat.take().expect("chunks created above");
    if let Some(r) = failed {
        return Ok(Step::Reply(r));
    }
    if let Err(e) = chunks.checker.finish() {
        tracing::info!(client = %s.peer.ip(), error = %e, "message rejected");
        return Ok(Step::Reply(e.reply()));
    }
    // Only reached under `bare_newline = "normalize"` with a bare CR/LF: store CRLF only.
    let body = if chunks.checker.saw_bare() { to_crlf(&chunks.body) } else { chunks.body };
    Ok(Step::Reply(accept::from_session(s, tx, body).await))
}
