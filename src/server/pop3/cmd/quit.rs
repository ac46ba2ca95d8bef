//! QUIT (RFC 1939 §6): in TRANSACTION, the UPDATE state removes what DELE marked and sets
//! \Seen on what RETR sent; a failure keeps the messages and says so.
use crate::proto::pop3::Reply;
use crate::server::pop3::session::{Session, Step};

pub async fn quit(s: &mut Session) -> Step {
    let Some(drop) = s.maildrop.take() else { return Step::Close(Reply::bye()) };
    let (account, retrieved) = (drop.account.clone(), drop.retrieved);
    match drop.update().await {
        Ok(deleted) => {
            tracing::info!(client = %s.peer.ip(), protocol = "pop3", account = %account, retrieved, deleted, "logout");
            Step::Close(if deleted > 0 { Reply::bye_deleted() } else { Reply::bye() })
        }
        Err(e) => {
            tracing::error!(client = %s.peer.ip(), protocol = "pop3", account = %account, error = %e, "cannot update the maildrop at QUIT");
            Step::Close(Reply::update_failed())
        }
    }
}
