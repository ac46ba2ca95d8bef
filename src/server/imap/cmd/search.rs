//! SEARCH and UID SEARCH: flag, size, date, sequence, UID and MODSEQ keys from the view; header
//! and text keys read each message file (off the async threads).
use super::ok;
use crate::mailstore::{Folder, Message};
use crate::proto::imap::message;
use crate::proto::imap::search::{Candidate, Content, FlagKey, SearchKey};
use crate::server::imap::cmd::fetch::{map, secs, Mapped};
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::blocking;
use crate::server::imap::session::{Flow, Session};

/// The message file, mapped on first use.
struct Lazy<'a> {
    folder: &'a Folder,
    msg: &'a Message,
    data: Option<Option<Mapped>>,
}

impl Lazy<'_> {
    fn bytes(&mut self) -> Option<&[u8]> {
        if self.data.is_none() {
            self.data = Some(map(self.folder, self.msg).ok());
        }
        self.data.as_ref().unwrap().as_deref()
    }
}

impl Content for Lazy<'_> {
    fn header_contains(&mut self, name: &str, needle: &str) -> bool {
        self.bytes().is_some_and(|b| message::header_contains(b, name, needle))
    }
    fn text_contains(&mut self, needle: &str, whole: bool) -> bool {
        self.bytes().is_some_and(|b| message::text_contains(b, needle, whole))
    }
    fn sent_date(&mut self) -> Option<i64> {
        self.bytes().and_then(message::sent_date)
    }
}

/// The hits as (sequence number, UID, MODSEQ).
fn run(folder: &Folder, msgs: &[Message], key: &SearchKey) -> Vec<(u32, u32, u64)> {
    let max_seq = msgs.len() as u32;
    let max_uid = msgs.last().map_or(0, |m| m.uid);
    let mut hits = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let flags = |f: FlagKey| match f {
            FlagKey::Answered => m.flags.answered,
            FlagKey::Deleted => m.flags.deleted,
            FlagKey::Draft => m.flags.draft,
            FlagKey::Flagged => m.flags.flagged,
            FlagKey::Seen => m.flags.seen,
            FlagKey::Recent => m.recent,
        };
        let keyword = |k: &str| m.flags.keywords.contains(k);
        let c = Candidate {
            seq: i as u32 + 1,
            uid: m.uid,
            max_seq,
            max_uid,
            flags: &flags,
            keyword: &keyword,
            size: m.vsize,
            internal_date: secs(m.internal_date),
            modseq: m.modseq,
        };
        let mut content = Lazy { folder, msg: m, data: None };
        if key.matches(&c, &mut content) {
            hits.push((i as u32 + 1, m.uid, m.modseq));
        }
    }
    hits
}

pub async fn search(s: &mut Session, conn: &mut Conn, tag: &str, uid: bool, key: SearchKey) -> Result<Flow, ConnError> {
    let sel = s.selected.as_ref().expect("state checked");
    let modseq = key.has_modseq();
    let hits = if key.needs_content() {
        let (folder, view) = (sel.folder.clone(), sel.shared());
        blocking(move || run(&folder, &view.messages, &key)).await
    } else {
        run(&sel.folder, sel.messages(), &key)
    };
    let mut line = String::from("* SEARCH");
    for &(seq, u, _) in &hits {
        line.push(' ');
        line.push_str(&if uid { u } else { seq }.to_string());
    }
    // RFC 7162 §3.1.5: a search with MODSEQ ends with the highest MODSEQ of the hits.
    if let Some(max) = hits.iter().map(|h| h.2).max().filter(|_| modseq) {
        line.push_str(&format!(" (MODSEQ {max})"));
    }
    conn.line(line);
    Ok(ok(conn, tag, "SEARCH completed"))
}
