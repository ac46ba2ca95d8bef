//! EXPUNGE, UID EXPUNGE (UIDPLUS) and CLOSE: remove the \Deleted messages.
use super::{no, ok, store_error};
use crate::proto::imap::sequence::SequenceSet;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::blocking;
use crate::server::imap::session::{Flow, Session};

/// Removes the \Deleted messages (of `uids` when given); returns their indices, ascending.
async fn remove_deleted(s: &mut Session, uids: Option<&SequenceSet>) -> crate::mailstore::Result<Vec<usize>> {
    let sel = s.selected.as_mut().expect("state checked");
    let max = sel.max_uid();
    let msgs = sel.messages();
    let idxs: Vec<usize> = (0..msgs.len()).filter(|&i| msgs[i].flags.deleted && uids.is_none_or(|u| u.contains(msgs[i].uid, max))).collect();
    if idxs.is_empty() {
        return Ok(idxs);
    }
    let msgs: Vec<_> = idxs.iter().map(|&i| msgs[i].clone()).collect();
    let folder = sel.folder.clone();
    blocking(move || folder.expunge(&msgs)).await?;
    Ok(idxs)
}

pub async fn expunge(s: &mut Session, conn: &mut Conn, tag: &str, uids: Option<&SequenceSet>) -> Result<Flow, ConnError> {
    if s.selected.as_ref().is_some_and(|sel| sel.read_only) {
        return Ok(no(conn, tag, "[READ-ONLY] Mailbox is read-only"));
    }
    match remove_deleted(s, uids).await {
        Ok(idxs) => {
            let sel = s.selected.as_mut().expect("state checked");
            sel.report_expunged(conn, &idxs);
            for &i in idxs.iter().rev() {
                sel.messages_mut().remove(i);
            }
            sel.refresh(conn, true).await?;
            Ok(ok(conn, tag, "EXPUNGE completed"))
        }
        Err(e) => Ok(store_error(conn, tag, &e)),
    }
}

/// CLOSE: expunge silently (read-write only), then deselect.
pub async fn close(s: &mut Session, conn: &mut Conn, tag: &str) -> Flow {
    let rw = s.selected.as_ref().is_some_and(|sel| !sel.read_only);
    let res = if rw { remove_deleted(s, None).await.map(|_| ()) } else { Ok(()) };
    s.selected = None;
    match res {
        Ok(()) => ok(conn, tag, "CLOSE completed"),
        Err(e) => store_error(conn, tag, &e),
    }
}
