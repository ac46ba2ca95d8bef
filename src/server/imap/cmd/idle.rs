//! IDLE (RFC 2177): `+ idling`, then the mailbox updates as they happen — woken by
//! postern's own changes (`mailstore::changes`) and by polling the folder's stamp for
//! other programs' — until the client sends DONE.
use super::ok;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::session::{Flow, Session, LOGGED_IN_TIMEOUT};
use std::time::Duration;

/// How often the folder is checked for changes made outside postern.
const POLL: Duration = Duration::from_secs(3);

pub async fn idle(s: &mut Session, conn: &mut Conn, tag: &str) -> Result<Flow, ConnError> {
    conn.line("+ idling");
    let deadline = tokio::time::Instant::now() + LOGGED_IN_TIMEOUT;
    loop {
        conn.flush().await?;
        if memchr::memchr(b'\n', conn.buffered()).is_some() {
            let line = conn.read_line(64, Duration::from_secs(1)).await?;
            return Ok(match line {
                Some(l) if l.eq_ignore_ascii_case(b"DONE") => ok(conn, tag, "IDLE terminated"),
                _ => {
                    conn.line(format!("{tag} BAD Expected DONE"));
                    s.bad()
                }
            });
        }
        if conn.buffered().len() > 64 {
            conn.line(format!("{tag} BAD Expected DONE"));
            return Ok(Flow::Close);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        enum Woken {
            Input,
            Changed,
            Poll,
        }
        let woken = match s.selected.as_mut() {
            Some(sel) => {
                let changes = &mut sel.changes;
                tokio::select! {
                    r = conn.fill(left) => { r?; Woken::Input }
                    _ = async { if changes.changed().await.is_err() { std::future::pending::<()>().await } } => Woken::Changed,
                    _ = tokio::time::sleep(POLL) => Woken::Poll,
                }
            }
            None => {
                conn.fill(left).await?;
                Woken::Input
            }
        };
        match (woken, s.selected.as_mut()) {
            (Woken::Changed, Some(sel)) => sel.refresh(conn, true).await?,
            (Woken::Poll, Some(sel)) => sel.poll(conn).await?,
            _ => {}
        }
    }
}
