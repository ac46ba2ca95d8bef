//! COPY/MOVE and their UID forms, with UIDPLUS COPYUID. MOVE copies, then expunges the
//! originals and reports them (RFC 6851).
use super::{no, ok, store_error, to_disk};
use crate::proto::imap::sequence::{compact, SequenceSet};
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::blocking;
use crate::server::imap::session::{Flow, Session};

#[allow(clippy::too_many_arguments)]
pub async fn copy(s: &mut Session, conn: &mut Conn, tag: &str, uid: bool, set: &SequenceSet, mailbox: &str, is_move: bool) -> Result<Flow, ConnError> {
    let disk = to_disk(s, mailbox);
    let store = s.login.as_ref().expect("state checked").store.clone();
    let sel = s.selected.as_mut().expect("state checked");
    if is_move && sel.read_only {
        return Ok(no(conn, tag, "[READ-ONLY] Mailbox is read-only"));
    }
    let idxs = sel.resolve(set, uid);
    if idxs.is_empty() {
        return Ok(ok(conn, tag, "No messages"));
    }
    let msgs: Vec<_> = idxs.iter().map(|&i| sel.messages()[i].clone()).collect();
    let src = sel.folder.clone();
    let moved = msgs.clone();
    let res = blocking(move || -> crate::mailstore::Result<(u32, Vec<u32>)> {
        let dest = store.folder(&disk)?;
        let validity = dest.uid_validity()?;
        let uids = src.copy(&msgs, &dest)?;
        if is_move {
            src.expunge(&msgs)?;
        }
        Ok((validity, uids))
    })
    .await;
    let (validity, new) = match res {
        Ok(x) => x,
        Err(crate::mailstore::Error::NoSuchFolder) => return Ok(no(conn, tag, "[TRYCREATE] No such mailbox")),
        Err(e) => return Ok(store_error(conn, tag, &e)),
    };
    let old: Vec<u32> = moved.iter().map(|m| m.uid).collect();
    let code = format!("[COPYUID {validity} {} {}]", compact(&old), compact(&new));
    if !is_move {
        return Ok(ok(conn, tag, &format!("{code} COPY completed")));
    }
    conn.line(format!("* OK {code} Moved"));
    sel.report_expunged(conn, &idxs);
    for &i in idxs.iter().rev() {
        sel.messages_mut().remove(i);
    }
    Ok(ok(conn, tag, "MOVE completed"))
}
