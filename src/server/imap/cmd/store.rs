//! STORE and UID STORE: +FLAGS, -FLAGS, FLAGS (and .SILENT) with system flags and
//! keywords; each changed message's file is renamed by the mail store.
use super::{no, ok, store_error};
use crate::mailstore::Message;
use crate::proto::imap::command::StoreMode;
use crate::proto::imap::sequence::SequenceSet;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::{blocking, flags_of, set_flag};
use crate::server::imap::session::{Flow, Session};

#[allow(clippy::too_many_arguments)]
pub async fn store(s: &mut Session, conn: &mut Conn, tag: &str, uid: bool, set: &SequenceSet, mode: StoreMode, silent: bool, flags: &[String]) -> Result<Flow, ConnError> {
    let sel = s.selected.as_mut().expect("state checked");
    if sel.read_only {
        return Ok(no(conn, tag, "[READ-ONLY] Mailbox is read-only"));
    }
    let idxs = sel.resolve(set, uid);
    let mut changes = Vec::new();
    for &i in &idxs {
        let m = &sel.messages[i];
        let mut f = m.flags.clone();
        if mode == StoreMode::Replace {
            f = Default::default();
        }
        for name in flags {
            set_flag(&mut f, name, mode != StoreMode::Remove);
        }
        if f != m.flags {
            changes.push((i, m.clone(), f));
        }
    }
    let folder = sel.folder.clone();
    let work: Vec<(Message, crate::mailstore::Flags)> = changes.iter().map(|(_, m, f)| (m.clone(), f.clone())).collect();
    let results = blocking(move || work.iter().map(|(m, f)| folder.set_flags(m, f)).collect::<Vec<_>>()).await;
    let mut failed = None;
    for ((i, _, _), r) in changes.iter().zip(results) {
        match r {
            Ok(m) => {
                let recent = sel.messages[*i].recent;
                sel.messages[*i] = Message { recent, ..m };
            }
            Err(e) => failed = Some(e),
        }
    }
    if !silent {
        for &i in &idxs {
            let m = &sel.messages[i];
            let uid_part = if uid { format!("UID {} ", m.uid) } else { String::new() };
            conn.line(format!("* {} FETCH ({uid_part}FLAGS {})", i + 1, flags_of(m)));
        }
    }
    Ok(match failed {
        Some(e) => store_error(conn, tag, &e),
        None => ok(conn, tag, "STORE completed"),
    })
}
