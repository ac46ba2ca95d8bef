//! STORE and UID STORE: +FLAGS, -FLAGS, FLAGS (and .SILENT) with system flags and
//! keywords; each changed message's file is renamed by the mail store. With CONDSTORE
//! (RFC 7162 §3.1.3) the `UNCHANGEDSINCE` modifier skips messages whose MODSEQ is higher
//! (checked on disk under the lock) and lists them in `[MODIFIED set]`; the FETCH
//! responses then carry MODSEQ, even with .SILENT for the messages that changed.
use super::{no, store_error};
use crate::mailstore::{Flags, Message};
use crate::proto::imap::command::StoreMode;
use crate::proto::imap::sequence::SequenceSet;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::{blocking, flags_of, set_flag};
use crate::server::imap::session::{Flow, Session};

pub struct Request<'a> {
    pub uid: bool,
    pub set: &'a SequenceSet,
    pub mode: StoreMode,
    pub silent: bool,
    pub flags: &'a [String],
    pub unchanged_since: Option<u64>,
}

pub async fn store(s: &mut Session, conn: &mut Conn, tag: &str, req: Request<'_>) -> Result<Flow, ConnError> {
    let condstore = s.condstore;
    let sel = s.selected.as_mut().expect("state checked");
    if sel.read_only {
        return Ok(no(conn, tag, "[READ-ONLY] Mailbox is read-only"));
    }
    let idxs = sel.resolve(req.set, req.uid);
    let mut changes = Vec::new();
    let mut modified = Vec::new();
    for &i in &idxs {
        let m = &sel.messages()[i];
        if req.unchanged_since.is_some_and(|n| m.modseq > n) {
            modified.push(i);
            continue;
        }
        let mut f = m.flags.clone();
        if req.mode == StoreMode::Replace {
            f = Default::default();
        }
        for name in req.flags {
            set_flag(&mut f, name, req.mode != StoreMode::Remove);
        }
        if f != m.flags {
            changes.push((i, m.clone(), f));
        }
    }
    let folder = sel.folder.clone();
    let since = req.unchanged_since;
    let (mode, names) = (req.mode, req.flags.to_vec());
    let work: Vec<(Message, Flags)> = changes.iter().map(|(_, m, f)| (m.clone(), f.clone())).collect();
    let results = blocking(move || {
        // +FLAGS and -FLAGS change the flags the file has now, which may be newer than
        // this session's view; FLAGS replaces them.
        let relative = |f: &mut Flags| {
            for name in &names {
                set_flag(f, name, mode == StoreMode::Add);
            }
        };
        work.iter()
            .map(|(m, f)| match mode {
                StoreMode::Replace => folder.change_flags(m, &|now| now.clone_from(f), since),
                _ => folder.change_flags(m, &relative, since),
            })
            .collect::<Vec<_>>()
    })
    .await;
    let mut failed = None;
    let mut changed = Vec::new();
    for ((i, _, _), r) in changes.iter().zip(results) {
        match r {
            Ok(Ok(m)) => {
                sel.highest_modseq = sel.highest_modseq.max(m.modseq);
                let mine = &mut sel.messages_mut()[*i];
                *mine = Message { recent: mine.recent, ..m };
                changed.push(*i);
            }
            // Changed on disk without the folder's stamp moving (a hard link by COPY, a
            // chmod): the view learns the MODSEQ, so the client's next FETCH MODSEQ gives
            // it a value its retry can pass.
            Ok(Err(now)) => {
                sel.messages_mut()[*i].modseq = now;
                modified.push(*i);
            }
            Err(e) => failed = Some(e),
        }
    }
    modified.sort_unstable();
    for &i in &idxs {
        if modified.binary_search(&i).is_ok() || (req.silent && !(condstore && changed.contains(&i))) {
            continue;
        }
        let m = &sel.messages()[i];
        let mut items = Vec::new();
        if req.uid {
            items.push(format!("UID {}", m.uid));
        }
        if !req.silent {
            items.push(format!("FLAGS {}", flags_of(m)));
        }
        if condstore {
            items.push(format!("MODSEQ ({})", m.modseq));
        }
        conn.line(format!("* {} FETCH ({})", i + 1, items.join(" ")));
    }
    if let Some(e) = failed {
        return Ok(store_error(conn, tag, &e));
    }
    let code = if modified.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = modified.iter().map(|&i| if req.uid { sel.messages()[i].uid } else { i as u32 + 1 }.to_string()).collect();
        format!("[MODIFIED {}] ", ids.join(","))
    };
    conn.line(format!("{tag} OK {code}STORE completed"));
    Ok(Flow::Continue)
}
