//! The maildrop of a POP3 session: the account's INBOX as listed at login, numbered 1..n
//! for the whole session (RFC 1939 §5), with what DELE and RETR will change at QUIT.
//!
//! Mail store calls block on the file system; they run on `spawn_blocking`.
use crate::mailstore::{self, Folder, Message};
use crate::proto::pop3::Reply;
use crate::server::access::Login;
use std::collections::HashMap;

pub struct Maildrop {
    pub account: String,
    folder: Folder,
    uid_validity: u32,
    /// UIDLs stored in the uidlist (`P` fields of mail migrated into Dovecot), by UID.
    kept_uidls: HashMap<u32, String>,
    entries: Vec<Entry>,
    /// Messages retrieved with RETR in this session (for the log).
    pub retrieved: usize,
}

struct Entry {
    msg: Message,
    /// Marked with DELE: removed at QUIT.
    deleted: bool,
    /// Retrieved with RETR while unseen: gets \Seen at the end of the session, as Dovecot
    /// does with its default `pop3_no_flag_updates = no`.
    seen: bool,
}

impl Maildrop {
    /// Lists INBOX for a logged-in account (moving new/ to cur/, assigning UIDs).
    pub async fn open(login: Login) -> mailstore::Result<Maildrop> {
        let store = login.store;
        let (folder, view, mut kept_uidls) = blocking(move || {
            let folder = store.folder("INBOX")?;
            let view = folder.sync(false)?;
            let kept = folder.pop3_uidls()?;
            Ok((folder, view, kept))
        })
        .await?;
        kept_uidls.retain(|_, u| valid_uidl(u));
        let entries = view.messages.into_iter().map(|msg| Entry { msg, deleted: false, seen: false }).collect();
        Ok(Maildrop { account: login.account, folder, uid_validity: view.uid_validity, kept_uidls, entries, retrieved: 0 })
    }

    /// Messages not marked deleted, and their octets.
    pub fn stat(&self) -> (usize, u64) {
        self.live().fold((0, 0), |(n, size), (_, m)| (n + 1, size + m.vsize))
    }

    /// Messages not marked deleted, with their numbers.
    pub fn live(&self) -> impl Iterator<Item = (usize, &Message)> {
        self.entries.iter().enumerate().filter(|(_, e)| !e.deleted).map(|(i, e)| (i + 1, &e.msg))
    }

    /// Message `n`, unless there is none or it is marked deleted.
    pub fn get(&self, n: u32) -> Result<&Message, Reply> {
        match self.entries.get((n as usize).wrapping_sub(1)) {
            None => Err(Reply::no_such_message(n)),
            Some(e) if e.deleted => Err(Reply::message_deleted()),
            Some(e) => Ok(&e.msg),
        }
    }

    /// The UIDL of a message as Dovecot gives it: the one kept in the uidlist for mail
    /// migrated from another server, else the default form; so clients keep theirs.
    pub fn uidl(&self, msg: &Message) -> String {
        match self.kept_uidls.get(&msg.uid) {
            Some(u) => u.clone(),
            None => mailstore::pop3_uidl(self.uid_validity, msg.uid),
        }
    }

    pub fn mark_deleted(&mut self, n: u32) -> Result<(), Reply> {
        self.get(n)?;
        self.entries[n as usize - 1].deleted = true;
        Ok(())
    }

    /// RETR of message `n` completed.
    pub fn mark_retrieved(&mut self, n: u32) {
        self.retrieved += 1;
        if let Some(e) = self.entries.get_mut((n as usize).wrapping_sub(1)) {
            e.seen |= !e.msg.flags.seen;
        }
    }

    /// RSET: unmarks every deletion and forgets pending \Seen flags (as Dovecot does).
    pub fn reset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
            e.seen = false;
        }
    }

    pub async fn open_message(&self, msg: &Message) -> mailstore::Result<std::fs::File> {
        let (folder, msg) = (self.folder.clone(), msg.clone());
        blocking(move || folder.open(&msg)).await
    }

    /// The UPDATE state (RFC 1939 §6): sets the pending \Seen flags and removes the
    /// messages marked deleted; returns how many were removed.
    pub async fn update(self) -> mailstore::Result<usize> {
        let (deleted, seen) = self.changes(true);
        let n = deleted.len();
        let folder = self.folder;
        blocking(move || {
            set_seen(&folder, &seen)?;
            if !deleted.is_empty() {
                folder.expunge(&deleted)?;
            }
            Ok(n)
        })
        .await
    }

    /// The session ended without QUIT: deletions are dropped, \Seen flags still set.
    pub async fn abandon(self) {
        let (_, seen) = self.changes(false);
        if seen.is_empty() {
            return;
        }
        let (folder, account) = (self.folder, self.account);
        if let Err(e) = blocking(move || set_seen(&folder, &seen)).await {
            tracing::warn!(account = %account, error = %e, "pop3: cannot mark retrieved messages seen");
        }
    }

    /// (messages to remove, messages to mark seen); deleted messages need no flag.
    fn changes(&self, with_deletions: bool) -> (Vec<Message>, Vec<Message>) {
        let deleted = self.entries.iter().filter(|e| with_deletions && e.deleted).map(|e| e.msg.clone()).collect();
        let seen = self.entries.iter().filter(|e| e.seen && !(with_deletions && e.deleted)).map(|e| e.msg.clone()).collect();
        (deleted, seen)
    }
}

/// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..=0x7E (it must not break the
/// `n uidl` line).
fn valid_uidl(u: &str) -> bool {
    (1..=70).contains(&u.len()) && u.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Adds \Seen to each message; one removed by another session meanwhile is skipped.
fn set_seen(folder: &Folder, msgs: &[Message]) -> mailstore::Result<()> {
    for msg in msgs {
        match folder.change_flags(msg, &|f| f.seen = true, None) {
            Ok(_) | Err(mailstore::Error::Expunged) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> mailstore::Result<T> + Send + 'static) -> mailstore::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| mailstore::Error::Io(std::io::Error::other(e)))?
}
