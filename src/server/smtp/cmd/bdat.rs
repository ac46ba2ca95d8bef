//! BDAT (RFC 3030 CHUNKING): exactly `size` octets follow, whatever our verdict, so the
//! chunk is always consumed to stay in sync; the message is queued after `LAST`.
use crate::server::smtp::accept;
use crate::server::smtp::conn::{Conn, ConnError};
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;
use crate::proto::smtp::data::BareNewline;
use crate::app::draft::Draft;
use crate::proto::smtp::data::{CrlfNormalizer, LineChecker};
use tokio::io::{AsyncRead, AsyncWrite};

/// The message assembled from BDAT chunks so far, streamed to the queue's storage.
pub struct Chunks {
    draft: Option<Draft>,
    checker: LineChecker,
    /// Under `bare_newline = "normalize"`, what is stored has CRLF line ends only.
    normalizer: Option<CrlfNormalizer>,
    scratch: Vec<u8>,
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
            draft: Some(Draft::new(&s.ctx)),
            checker: LineChecker::new(
                usize::try_from(limit).unwrap_or(usize::MAX),
                s.ctx.config.limits.bare_newline,
            ),
            normalizer: (s.ctx.config.limits.bare_newline == BareNewline::Normalize).then(CrlfNormalizer::default),
            scratch: Vec::new(),
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
            if c.checker.size() as u64 > limit {
                c.failed = Some(Reply::message_too_big());
                c.draft = None; // removes what was stored
            } else if let Some(draft) = c.draft.as_mut() {
                match c.normalizer.as_mut() {
                    Some(n) => {
                        c.scratch.clear();
                        n.push(piece, &mut c.scratch);
                        draft.write(&c.scratch).await;
                    }
                    None => draft.write(piece).await,
                }
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
    let draft = chunks.draft.expect("present unless failed");
    Ok(Step::Reply(accept::from_session(s, tx, draft).await))
}
