//! The selected mailbox as this session sees it: its messages in sequence order (small
//! structs, no bodies), and the untagged EXISTS/EXPUNGE/FETCH FLAGS updates that bring
//! the client up to date when the folder changed (another session, delivery, programs).
use super::conn::{Conn, ConnError};
use crate::mailstore::{self, Flags, Folder, Message, Stamp};
use std::collections::HashMap;

pub struct Selected {
    pub folder: Folder,
    pub read_only: bool,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: Vec<Message>,
    pub keywords: Vec<String>,
    pub stamp: Stamp,
    /// CONDSTORE (RFC 7162): the folder's HIGHESTMODSEQ as last read, and whether the
    /// session enabled it (untagged FETCH updates then carry MODSEQ).
    pub highest_modseq: u64,
    pub condstore: bool,
    /// Wakes IDLE when postern itself changed the folder.
    pub changes: tokio::sync::watch::Receiver<u64>,
}

/// Runs blocking mail store work off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("mail store task panicked")
}

/// The FLAGS list of a message (`\Recent` included when it is recent).
pub fn flags_of(m: &Message) -> String {
    let f = &m.flags;
    let mut out: Vec<&str> = Vec::new();
    for (on, name) in [(f.seen, "\\Seen"), (f.answered, "\\Answered"), (f.flagged, "\\Flagged"), (f.deleted, "\\Deleted"), (f.draft, "\\Draft"), (m.recent, "\\Recent")] {
        if on {
            out.push(name);
        }
    }
    out.extend(f.keywords.iter().map(String::as_str));
    crate::proto::imap::response::flag_list(&out)
}

/// Sets or clears one flag by its IMAP name (`\Recent` cannot be set).
pub fn set_flag(f: &mut Flags, name: &str, on: bool) {
    match name {
        "\\Seen" => f.seen = on,
        "\\Answered" => f.answered = on,
        "\\Flagged" => f.flagged = on,
        "\\Deleted" => f.deleted = on,
        "\\Draft" => f.draft = on,
        "\\Recent" => {}
        kw => {
            if on {
                f.keywords.insert(kw.to_string());
            } else {
                f.keywords.remove(kw);
            }
        }
    }
}

impl Selected {
    pub async fn open(folder: Folder, read_only: bool) -> mailstore::Result<Selected> {
        let f = folder.clone();
        let (view, stamp) = blocking(move || -> mailstore::Result<_> {
            let stamp = f.stamp()?;
            Ok((f.sync(read_only)?, stamp))
        })
        .await?;
        let changes = mailstore::changes::subscribe(folder.dir());
        Ok(Selected {
            folder,
            read_only,
            uid_validity: view.uid_validity,
            uid_next: view.uid_next,
            messages: view.messages,
            keywords: view.keywords,
            stamp,
            highest_modseq: view.highest_modseq,
            condstore: false,
            changes,
        })
    }

    pub fn max_uid(&self) -> u32 {
        self.messages.last().map_or(0, |m| m.uid)
    }

    pub fn exists(&self) -> u32 {
        self.messages.len() as u32
    }

    /// The FLAGS / PERMANENTFLAGS list: system flags and this folder's keywords.
    pub fn flag_names(&self, permanent: bool) -> String {
        let mut s = String::from("(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for k in &self.keywords {
            s.push(' ');
            s.push_str(k);
        }
        if permanent {
            s.push_str(" \\*");
        }
        s.push(')');
        s
    }

    /// Re-reads the folder when it changed and tells the client: `* n EXPUNGE` (only when
    /// `expunge` is allowed: not during FETCH, STORE, SEARCH), `* n EXISTS`, `* n RECENT`
    /// and `* n FETCH (FLAGS ...)` for flags changed elsewhere.
    pub async fn refresh(&mut self, conn: &mut Conn, expunge: bool) -> Result<(), ConnError> {
        if !expunge {
            return Ok(());
        }
        let f = self.folder.clone();
        let read_only = self.read_only;
        let before = self.stamp;
        let changed = self.changes.has_changed().unwrap_or(false);
        let res = blocking(move || -> mailstore::Result<Option<(mailstore::View, Stamp)>> {
            let stamp = f.stamp()?;
            if stamp == before && !changed {
                return Ok(None);
            }
            Ok(Some((f.sync(read_only)?, stamp)))
        })
        .await;
        self.changes.borrow_and_update();
        let Ok(Some((view, stamp))) = res else { return Ok(()) };
        self.stamp = stamp;
        self.apply(conn, view);
        Ok(())
    }

    fn apply(&mut self, conn: &mut Conn, view: mailstore::View) {
        let by_uid: HashMap<u32, &Message> = view.messages.iter().map(|m| (m.uid, m)).collect();
        // Expunged: report from the highest sequence number down, so each number is
        // valid when the client applies it.
        for i in (0..self.messages.len()).rev() {
            if !by_uid.contains_key(&self.messages[i].uid) {
                conn.line(format!("* {} EXPUNGE", i + 1));
                self.messages.remove(i);
            }
        }
        for (i, m) in self.messages.iter_mut().enumerate() {
            if let Some(now) = by_uid.get(&m.uid) {
                let recent = m.recent;
                m.modseq = now.modseq;
                m.file = now.file.clone();
                if now.flags != m.flags {
                    m.flags = now.flags.clone();
                    let modseq = if self.condstore { format!(" MODSEQ ({})", m.modseq) } else { String::new() };
                    conn.line(format!("* {} FETCH (UID {} FLAGS {}{modseq})", i + 1, m.uid, flags_of(m)));
                }
                m.recent = recent;
            }
        }
        let max = self.max_uid();
        let new: Vec<Message> = view.messages.into_iter().filter(|m| m.uid > max).collect();
        if !new.is_empty() {
            self.messages.extend(new);
            conn.line(format!("* {} EXISTS", self.exists()));
            conn.line(format!("* {} RECENT", self.messages.iter().filter(|m| m.recent).count()));
        }
        if view.keywords != self.keywords {
            self.keywords = view.keywords;
            conn.line(format!("* FLAGS {}", self.flag_names(false)));
        }
        self.uid_next = view.uid_next.max(self.uid_next);
        self.highest_modseq = view.highest_modseq.max(self.highest_modseq);
    }

    /// Indices of the messages a sequence set (or UID set) names, ascending.
    pub fn resolve(&self, set: &crate::proto::imap::sequence::SequenceSet, uid: bool) -> Vec<usize> {
        if uid {
            let max = self.max_uid();
            (0..self.messages.len()).filter(|&i| set.contains(self.messages[i].uid, max)).collect()
        } else {
            let max = self.exists();
            (0..self.messages.len()).filter(|&i| set.contains(i as u32 + 1, max)).collect()
        }
    }
}
