//! SELECT/EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB (with the
//! LIST-EXTENDED selection and return options and LIST-STATUS), STATUS, GETQUOTA(ROOT).
use super::{no, ok, store_error, to_disk, to_wire};
use crate::mailstore::{self, SEPARATOR};
use crate::proto::imap::command::{List, StatusItem};
use crate::proto::imap::condstore::QResync;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::{blocking, flags_of, Selected};
use crate::server::imap::session::{Flow, Session};

fn store(s: &Session) -> mailstore::Store {
    s.login.as_ref().expect("state checked").store.clone()
}

pub async fn select(s: &mut Session, conn: &mut Conn, tag: &str, name: &str, read_only: bool, qresync: Option<QResync>) -> Result<Flow, ConnError> {
    // RFC 7162 §3.2.11: a QRESYNC client learns where the old mailbox's responses end.
    if s.selected.take().is_some() && s.qresync {
        conn.line("* OK [CLOSED] Previous mailbox closed");
    }
    let st = store(s);
    let disk = to_disk(s, name);
    let folder = match blocking({
        let st = st.clone();
        move || st.folder(&disk)
    })
    .await
    {
        Ok(f) => f,
        Err(e) => return Ok(store_error(conn, tag, &e)),
    };
    let mut sel = match Selected::open(folder, read_only).await {
        Ok(sel) => sel,
        Err(e) => return Ok(store_error(conn, tag, &e)),
    };
    conn.line(format!("* FLAGS {}", sel.flag_names(false)));
    conn.line(format!("* {} EXISTS", sel.exists()));
    conn.line(format!("* {} RECENT", sel.recent()));
    if let Some(i) = sel.messages().iter().position(|m| !m.flags.seen) {
        conn.line(format!("* OK [UNSEEN {}] First unseen", i + 1));
    }
    conn.line(format!("* OK [UIDVALIDITY {}] UIDs valid", sel.uid_validity()));
    conn.line(format!("* OK [UIDNEXT {}] Predicted next UID", sel.uid_next));
    if s.condstore {
        sel.condstore = true;
        conn.line(format!("* OK [HIGHESTMODSEQ {}] Highest", sel.highest_modseq));
    }
    sel.qresync = s.qresync;
    if let Some(q) = qresync.filter(|q| q.uid_validity == sel.uid_validity()) {
        resync(conn, &sel, &q);
    }
    if read_only {
        conn.line("* OK [PERMANENTFLAGS ()] Read-only mailbox");
    } else {
        conn.line(format!("* OK [PERMANENTFLAGS {}] Flags permitted", sel.flag_names(true)));
    }
    let code = if read_only { "[READ-ONLY]" } else { "[READ-WRITE]" };
    s.selected = Some(sel);
    Ok(ok(conn, tag, &format!("{code} {} completed", if read_only { "EXAMINE" } else { "SELECT" })))
}

/// RFC 7162 §3.2.5.1: what changed since the client's last session, when its
/// UIDVALIDITY still holds — the known UIDs that are gone (postern keeps no expunge
/// history, so every missing one is listed; the RFC lets a server list more than
/// vanished since the client's mod-sequence), then the flags of the messages changed
/// since its mod-sequence.
fn resync(conn: &mut Conn, sel: &Selected, q: &QResync) {
    let gone = sel.vanished(q.known_uids.as_ref());
    if !gone.is_empty() {
        conn.line(format!("* VANISHED (EARLIER) {gone}"));
    }
    let max = sel.max_uid();
    for (i, m) in sel.messages().iter().enumerate() {
        if m.modseq > q.modseq && q.known_uids.as_ref().is_none_or(|k| k.contains(m.uid, max)) {
            conn.line(format!("* {} FETCH (UID {} FLAGS {} MODSEQ ({}))", i + 1, m.uid, flags_of(m), m.modseq));
        }
    }
}

pub async fn create(s: &mut Session, conn: &mut Conn, tag: &str, name: &str) -> Flow {
    let st = store(s);
    let disk = to_disk(s, name);
    if disk.eq_ignore_ascii_case("INBOX") {
        return no(conn, tag, "[ALREADYEXISTS] INBOX exists");
    }
    match blocking(move || st.create(&disk)).await {
        Ok(()) => ok(conn, tag, "CREATE completed"),
        Err(e) => store_error(conn, tag, &e),
    }
}

pub async fn delete(s: &mut Session, conn: &mut Conn, tag: &str, name: &str) -> Flow {
    let st = store(s);
    let disk = to_disk(s, name);
    if s.selected.as_ref().is_some_and(|sel| sel.folder.name() == disk) {
        s.selected = None;
    }
    match blocking(move || st.delete(&disk)).await {
        Ok(()) => ok(conn, tag, "DELETE completed"),
        Err(e) => store_error(conn, tag, &e),
    }
}

pub async fn rename(s: &mut Session, conn: &mut Conn, tag: &str, from: &str, to: &str) -> Flow {
    let st = store(s);
    let (from, to) = (to_disk(s, from), to_disk(s, to));
    match blocking(move || st.rename(&from, &to)).await {
        Ok(()) => ok(conn, tag, "RENAME completed"),
        Err(e) => store_error(conn, tag, &e),
    }
}

pub async fn subscribe(s: &mut Session, conn: &mut Conn, tag: &str, name: &str, on: bool) -> Flow {
    let st = store(s);
    let disk = to_disk(s, name);
    match blocking(move || st.subscribe(&disk, on)).await {
        Ok(()) => ok(conn, tag, if on { "SUBSCRIBE completed" } else { "UNSUBSCRIBE completed" }),
        Err(e) => store_error(conn, tag, &e),
    }
}

/// LIST pattern matching: `*` matches anything, `%` anything but the separator.
/// Dynamic programming, so patterns of many wildcards cost O(pattern × name).
pub fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    let mut row = vec![false; n + 1];
    row[0] = true;
    for &pc in pattern {
        let mut next = vec![false; n + 1];
        match pc {
            b'*' => {
                let mut any = false;
                for j in 0..=n {
                    any |= row[j];
                    next[j] = any;
                }
            }
            b'%' => {
                next[0] = row[0];
                for j in 1..=n {
                    next[j] = row[j] || (next[j - 1] && name[j - 1] != SEPARATOR as u8);
                }
            }
            c => {
                for j in 1..=n {
                    next[j] = row[j - 1] && name[j - 1] == c;
                }
            }
        }
        row = next;
    }
    row[n]
}

pub async fn list(s: &mut Session, conn: &mut Conn, tag: &str, l: &List) -> Flow {
    let st = store(s);
    let verb = if l.lsub { "LSUB" } else { "LIST" };
    if l.patterns.len() == 1 && l.patterns[0].is_empty() && !l.lsub {
        conn.line("* LIST (\\Noselect) \".\" \"\"");
        return ok(conn, tag, "LIST completed");
    }
    let folders = match blocking(move || st.list()).await {
        Ok(f) => f,
        Err(e) => return store_error(conn, tag, &e),
    };
    let patterns: Vec<String> = l.patterns.iter().map(|p| to_disk(s, &format!("{}{}", l.reference, p))).collect();
    for f in &folders {
        let matched = patterns.iter().any(|p| {
            if f.name == "INBOX" { pattern_matches(p.to_ascii_uppercase().as_bytes(), b"INBOX") } else { pattern_matches(p.as_bytes(), f.name.as_bytes()) }
        });
        if !matched || (l.subscribed_only && !f.subscribed) {
            continue;
        }
        let mut attrs: Vec<&str> = Vec::new();
        if !l.lsub {
            attrs.push(if f.has_children { "\\HasChildren" } else { "\\HasNoChildren" });
        }
        if (l.subscribed_only || l.return_subscribed) && f.subscribed && !l.lsub {
            attrs.push("\\Subscribed");
        }
        if let Some(su) = f.special_use {
            attrs.push(su);
        }
        let mut line = format!("* {verb} ({}) \".\" ", attrs.join(" ")).into_bytes();
        line.extend(to_wire(s, &f.name));
        conn.line(line);
        if let Some(items) = &l.return_status {
            status_line(s, conn, &f.name, items).await;
        }
    }
    ok(conn, tag, &format!("{verb} completed"))
}

/// Writes `* STATUS name (...)`; false when the folder cannot be read.
async fn status_line(s: &Session, conn: &mut Conn, disk: &str, items: &[StatusItem]) -> Option<mailstore::Error> {
    let st = store(s);
    let name = disk.to_string();
    let view = blocking(move || st.folder(&name).and_then(|f| f.shared_view(true))).await;
    let view = match view {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    let mut parts = Vec::new();
    for it in items {
        let (k, v) = match it {
            StatusItem::Messages => ("MESSAGES", view.messages.len() as u64),
            StatusItem::Recent => ("RECENT", view.messages.iter().filter(|m| m.recent).count() as u64),
            StatusItem::UidNext => ("UIDNEXT", u64::from(view.uid_next)),
            StatusItem::UidValidity => ("UIDVALIDITY", u64::from(view.uid_validity)),
            StatusItem::Unseen => ("UNSEEN", view.messages.iter().filter(|m| !m.flags.seen).count() as u64),
            StatusItem::Size => ("SIZE", view.messages.iter().map(|m| m.vsize).sum()),
            StatusItem::HighestModSeq => ("HIGHESTMODSEQ", view.highest_modseq),
        };
        parts.push(format!("{k} {v}"));
    }
    let mut line = b"* STATUS ".to_vec();
    line.extend(to_wire(s, disk));
    line.extend(format!(" ({})", parts.join(" ")).into_bytes());
    conn.line(line);
    None
}

pub async fn status(s: &mut Session, conn: &mut Conn, tag: &str, name: &str, items: &[StatusItem]) -> Flow {
    let disk = to_disk(s, name);
    match status_line(s, conn, &disk, items).await {
        None => ok(conn, tag, "STATUS completed"),
        Some(e) => store_error(conn, tag, &e),
    }
}

/// GETQUOTAROOT (`mailbox` given) or GETQUOTA: one root, "", STORAGE in KiB.
pub async fn quota(s: &mut Session, conn: &mut Conn, tag: &str, mailbox: Option<&str>, root: &str) -> Flow {
    let login = s.login.as_ref().expect("state checked");
    let (st, limit) = (login.store.clone(), login.quota);
    if let Some(m) = mailbox {
        let disk = to_disk(s, m);
        let st = st.clone();
        if let Err(e) = blocking(move || st.folder(&disk)).await {
            return store_error(conn, tag, &e);
        }
        let mut line = b"* QUOTAROOT ".to_vec();
        line.extend(to_wire(s, m));
        line.extend(b" \"\"");
        conn.line(line);
    } else if !root.is_empty() {
        return no(conn, tag, "[NONEXISTENT] No such quota root");
    }
    if limit > 0 {
        let usage = match blocking(move || st.usage()).await {
            Ok(u) => u,
            Err(e) => return store_error(conn, tag, &e),
        };
        conn.line(format!("* QUOTA \"\" (STORAGE {} {})", usage.bytes.div_ceil(1024), limit / 1024));
    } else if mailbox.is_none() {
        conn.line("* QUOTA \"\" ()");
    }
    ok(conn, tag, "GETQUOTA completed")
}

#[cfg(test)]
mod tests {
    use super::pattern_matches as m;

    #[test]
    fn wildcards() {
        assert!(m(b"*", b"Archive.2025"));
        assert!(!m(b"%", b"Archive.2025"));
        assert!(m(b"Archive.%", b"Archive.2025"));
        assert!(m(b"A*5", b"Archive.2025"));
        assert!(!m(b"Sent", b"Sent.x"));
        assert!(!m(&[b'*'; 500], b"") || m(&[b'*'; 500], b""));
    }
}
