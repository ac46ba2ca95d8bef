//! The selected mailbox as this session sees it: its messages in sequence order (small
//! structs, no bodies; one list shared by all sessions on an unchanged folder), and the untagged EXISTS/EXPUNGE/FETCH FLAGS updates that bring
//! the client up to date when the folder changed (another session, delivery, programs).
use super::conn::{Conn, ConnError};
use crate::mailstore::{self, Flags, Folder, Message, Stamp, View};
use crate::proto::imap::sequence::{compact, SequenceSet};
use std::sync::Arc;

pub struct Selected {
    pub folder: Folder,
    pub read_only: bool,
    /// The folder as this session last reported it. Shared with the other sessions on
    /// the same folder (`Folder::shared_view`) until this session changes a message
    /// itself (`messages_mut` copies it then), and shared again after the next refresh.
    view: Arc<View>,
    pub uid_next: u32,
    pub stamp: Stamp,
    /// CONDSTORE (RFC 7162): the folder's HIGHESTMODSEQ as last read, and whether the
    /// session enabled it (untagged FETCH updates then carry MODSEQ).
    pub highest_modseq: u64,
    pub condstore: bool,
    /// QRESYNC enabled: expunges are reported as `* VANISHED uids`.
    pub qresync: bool,
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
            Ok((f.shared_view(read_only)?, stamp))
        })
        .await?;
        let changes = mailstore::changes::subscribe(folder.dir());
        Ok(Selected {
            folder,
            read_only,
            uid_next: view.uid_next,
            highest_modseq: view.highest_modseq,
            view,
            stamp,
            condstore: false,
            qresync: false,
            changes,
        })
    }

    /// The messages in sequence order (sequence number = index + 1).
    pub fn messages(&self) -> &[Message] {
        &self.view.messages
    }

    /// The messages, to change this session's copy after its own STORE, EXPUNGE or MOVE
    /// (the shared view is copied the first time).
    pub fn messages_mut(&mut self) -> &mut Vec<Message> {
        &mut Arc::make_mut(&mut self.view).messages
    }

    /// The view itself, for work done off the session's task (SEARCH of bodies).
    pub fn shared(&self) -> Arc<View> {
        self.view.clone()
    }

    pub fn uid_validity(&self) -> u32 {
        self.view.uid_validity
    }

    pub fn max_uid(&self) -> u32 {
        self.messages().last().map_or(0, |m| m.uid)
    }

    pub fn exists(&self) -> u32 {
        self.messages().len() as u32
    }

    pub fn recent(&self) -> usize {
        self.messages().iter().filter(|m| m.recent).count()
    }

    /// The FLAGS / PERMANENTFLAGS list: system flags and this folder's keywords.
    pub fn flag_names(&self, permanent: bool) -> String {
        let mut s = String::from("(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for k in &self.view.keywords {
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
        // An unsettled stamp is read past: the shared view is re-read once it settles.
        let changed = self.changes.has_changed().unwrap_or(false) || !before.settled();
        let res = blocking(move || -> mailstore::Result<Option<(Arc<View>, Stamp)>> {
            let stamp = f.stamp()?;
            if stamp == before && !changed {
                return Ok(None);
            }
            Ok(Some((f.shared_view(read_only)?, stamp)))
        })
        .await;
        self.changes.borrow_and_update();
        let Ok(Some((view, stamp))) = res else { return Ok(()) };
        self.stamp = stamp;
        if !Arc::ptr_eq(&view, &self.view) {
            self.apply(conn, view);
        }
        Ok(())
    }

    /// IDLE's periodic check for changes made outside postern: as `refresh`, except that
    /// a stamp another session read of this folder within the last second counts as
    /// read now (10,000 sessions in IDLE then stat the folder about once a second, not
    /// thousands of times). NOOP and the other commands always read it afresh.
    pub async fn poll(&mut self, conn: &mut Conn) -> Result<(), ConnError> {
        let unchanged = !self.changes.has_changed().unwrap_or(false) && self.stamp.settled();
        if unchanged && self.folder.recent_stamp() == Some(self.stamp) {
            return Ok(());
        }
        self.refresh(conn, true).await
    }

    /// Reports the differences between what the client knows and `now`, then takes `now`
    /// as this session's view. Both lists are in UID order, so one merge pass finds them
    /// (no per-session index: 10,000 sessions may apply the same change).
    fn apply(&mut self, conn: &mut Conn, now: Arc<View>) {
        let max = self.max_uid();
        let now = if unknown_below(self.messages(), &now.messages, max) {
            // A message below our highest UID that this session never saw (not possible
            // with UIDs handed out in order, but a hand-edited uidlist may do it): a
            // client cannot be told about it, so this session keeps its own list without it.
            let known: std::collections::HashSet<u32> = self.messages().iter().map(|m| m.uid).collect();
            let mut v = View::clone(&now);
            v.messages.retain(|m| m.uid > max || known.contains(&m.uid));
            Arc::new(v)
        } else {
            now
        };
        let (old, new) = (&self.view.messages, &now.messages);
        // Expunged: reported from the highest sequence number down, so each number is
        // valid when the client applies it.
        let mut j = 0;
        let mut gone = Vec::new();
        for (i, m) in old.iter().enumerate() {
            while j < new.len() && new[j].uid < m.uid {
                j += 1;
            }
            if new.get(j).is_none_or(|n| n.uid != m.uid) {
                gone.push(i);
            }
        }
        self.report_expunged(conn, &gone);
        let mut i = 0;
        for (seq, n) in new.iter().take_while(|n| n.uid <= max).enumerate() {
            while i < old.len() && old[i].uid < n.uid {
                i += 1;
            }
            if old.get(i).is_some_and(|o| o.flags != n.flags) {
                let modseq = if self.condstore { format!(" MODSEQ ({})", n.modseq) } else { String::new() };
                conn.line(format!("* {} FETCH (UID {} FLAGS {}{modseq})", seq + 1, n.uid, flags_of(n)));
            }
        }
        let arrived = new.last().is_some_and(|m| m.uid > max);
        let keywords_changed = now.keywords != self.view.keywords;
        self.uid_next = now.uid_next.max(self.uid_next);
        self.highest_modseq = now.highest_modseq.max(self.highest_modseq);
        self.view = now;
        if arrived {
            conn.line(format!("* {} EXISTS", self.exists()));
            conn.line(format!("* {} RECENT", self.recent()));
        }
        if keywords_changed {
            conn.line(format!("* FLAGS {}", self.flag_names(false)));
        }
    }

    /// Tells the client that the messages at these indices (ascending) are gone: one
    /// `* VANISHED` with their UIDs under QRESYNC, else `* n EXPUNGE` from the highest
    /// sequence number down (each number is valid when the client applies it). The
    /// caller then removes them from the view.
    pub fn report_expunged(&self, conn: &mut Conn, idxs: &[usize]) {
        if idxs.is_empty() {
            return;
        }
        if self.qresync {
            let uids: Vec<u32> = idxs.iter().map(|&i| self.messages()[i].uid).collect();
            conn.line(format!("* VANISHED {}", compact(&uids)));
        } else {
            for &i in idxs.iter().rev() {
                conn.line(format!("* {} EXPUNGE", i + 1));
            }
        }
    }

    /// The UIDs of `set` (every UID when None) below UIDNEXT that no message has, as a
    /// compact set: QRESYNC's `VANISHED (EARLIER)` without an expunge history.
    pub fn vanished(&self, set: Option<&SequenceSet>) -> String {
        let top = self.uid_next.saturating_sub(1);
        let mut ranges: Vec<(u32, u32)> = match set {
            None => vec![(1, top)],
            Some(s) => s.ranges(self.max_uid()),
        };
        ranges.sort_unstable();
        let msgs = self.messages();
        let mut out = Vec::new();
        let mut next = 1u32; // UIDs below `next` are done
        for (lo, hi) in ranges {
            let (lo, hi) = (lo.max(next), hi.min(top));
            if lo > hi {
                continue;
            }
            // Gaps between the messages inside lo..=hi.
            let mut at = lo;
            let start = msgs.partition_point(|m| m.uid < lo);
            for m in msgs[start..].iter().take_while(|m| m.uid <= hi) {
                if m.uid > at {
                    out.push((at, m.uid - 1));
                }
                at = m.uid + 1;
            }
            if at <= hi {
                out.push((at, hi));
            }
            next = hi.saturating_add(1);
        }
        out.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}:{b}") }).collect::<Vec<_>>().join(",")
    }

    /// Indices of the messages a sequence set (or UID set) names, ascending.
    pub fn resolve(&self, set: &crate::proto::imap::sequence::SequenceSet, uid: bool) -> Vec<usize> {
        let msgs = self.messages();
        if uid {
            let max = self.max_uid();
            (0..msgs.len()).filter(|&i| set.contains(msgs[i].uid, max)).collect()
        } else {
            let max = self.exists();
            (0..msgs.len()).filter(|&i| set.contains(i as u32 + 1, max)).collect()
        }
    }
}

/// Whether `new` holds a message with a UID ≤ `max` that `old` does not (both in UID order).
fn unknown_below(old: &[Message], new: &[Message], max: u32) -> bool {
    let mut i = 0;
    for n in new.iter().take_while(|n| n.uid <= max) {
        while i < old.len() && old[i].uid < n.uid {
            i += 1;
        }
        if old.get(i).is_none_or(|o| o.uid != n.uid) {
            return true;
        }
    }
    false
}
