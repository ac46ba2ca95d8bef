//! DATA: read the message up to the one true end, CRLF.CRLF, streaming it to the queue's
//! storage, then queue it. Bare
//! newlines are normalized or refused as `limits.bare_newline` says (see `smtp::data`).
use crate::server::smtp::accept;
use crate::server::smtp::conn::{Conn, ConnError};
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;
use crate::proto::smtp::data::DataReader;
use crate::app::draft::Draft;
use tokio::io::{AsyncRead, AsyncWrite};

pub async fn data<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut Session,
    conn: &mut Conn<S>,
) -> Result<Step, ConnError> {
    let Some(tx) = s.tx.as_ref() else { return Ok(Step::Reply(Reply::need_mail())) };
    if tx.bdat.is_some() {
        return Ok(Step::Reply(Reply::data_after_bdat()));
    }
    if tx.rcpts.is_empty() {
        return Ok(Step::Reply(Reply::need_rcpt()));
    }
    conn.reply(&Reply::start_data());
    let limit = usize::try_from(s.ctx.config.limits.message_size).unwrap_or(usize::MAX);
    let mut reader = DataReader::new(limit, s.ctx.config.limits.bare_newline);
    // Content goes to the queue's storage as it arrives; `content` is one read's worth.
    let mut draft = Draft::new(&s.ctx);
    let mut content = Vec::with_capacity(16 * 1024);
    loop {
        content.clear();
        let fed = reader.feed(conn.buffered(), &mut content);
        conn.consume(fed.consumed);
        draft.write(&content).await;
        if fed.done {
            break;
        }
        conn.fill(false).await?;
    }
    let tx = s.tx.take().expect("transaction checked above");
    if let Err(e) = reader.finish() {
        tracing::info!(client = %s.peer.ip(), error = %e, "message rejected");
        return Ok(Step::Reply(e.reply())); // the draft's partial file goes with it
    }
    Ok(Step::Reply(accept::from_session(s, tx, draft).await))
}
