//! The Maildirs postern delivers into and IMAP/POP3 read: one account's Maildir++ root
//! (INBOX) and its folders (`.Sent`, `.Archive.2025`), with the per-folder state Dovecot
//! keeps beside the mail (`dovecot-uidlist`, `dovecot-keywords`, `dovecot-uidvalidity`,
//! `subscriptions`, `maildirsize`), read and written in Dovecot's formats so a Maildir
//! moves between Dovecot and postern with its UIDVALIDITY, UIDs, keywords and POP3 UIDLs.
//!
//! Owns: everything on disk under a Maildir root. Blocking file I/O: async callers use
//! `spawn_blocking`. Must not touch: the directory (callers pass the root path), the
//! queue, the network.
//!
//! Concurrency: delivery writes tmp/ → new/ without locks; UID assignment, flag renames
//! and expunges take the `dovecot-uidlist.lock` dotlock, so two sessions and concurrent
//! delivery never give one file two UIDs or one UID two files.
//!
//! Parts: `sync` (scan + numbering), `ops` (append, flags, expunge, copy), `folders`
//! (Maildir++ directories), `name` (file names and flag letters), `uidlist`, `keywords`,
//! `uidvalidity`, `subscriptions`, `quota` (`maildirsize`): one file format each;
//! `lock` (Dovecot's dotlock), `changes` (IDLE wake-ups), `modseq` (CONDSTORE),
//! `snapshot` (one shared view per folder for all sessions).
pub mod changes;
mod folders;
mod keywords;
mod lock;
pub mod modseq;
mod name;
mod ops;
mod quota;
mod snapshot;
mod subscriptions;
mod sync;
#[cfg(test)]
mod tests;
mod uidlist;
mod uidvalidity;
mod usage;

pub use usage::usage;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such mailbox")]
    NoSuchFolder,
    #[error("mailbox already exists")]
    Exists,
    #[error("invalid mailbox name")]
    BadName,
    /// The message (file) went away: expunged by another session.
    #[error("message expunged")]
    Expunged,
    #[error("over quota")]
    OverQuota,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// One account's mail store, rooted at its Maildir (INBOX).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A folder as LIST shows it. Names are IMAP names as stored on disk (modified UTF-7,
/// `.` separates levels, `INBOX` is the root Maildir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderInfo {
    pub name: String,
    /// RFC 6154 attribute for Drafts/Sent/Trash/Junk/Archive (`\Sent`, ...), by name.
    pub special_use: Option<&'static str>,
    pub has_children: bool,
    pub subscribed: bool,
}

/// Bytes and messages in the whole store (`maildirsize`, Maildir++ quota).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub messages: u64,
}

/// The hierarchy separator of folder names (Dovecot's Maildir++ default).
pub const SEPARATOR: char = '.';

/// Folders created at first login, with their RFC 6154 attributes.
pub const SPECIAL_USE: [(&str, &str); 4] = [("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Junk", "\\Junk")];

impl Store {
    /// The store at `root`; creates the Maildir (tmp/ new/ cur/) when missing.
    pub fn open(root: &Path) -> Result<Store> {
        folders::open(root)
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Every folder, INBOX first, then by name.
    pub fn list(&self) -> Result<Vec<FolderInfo>> {
        folders::list(self)
    }
    /// Names that only exist as parents of folders (Dovecot creates `.A.b` without `.A`):
    /// LIST shows them `\Noselect`. Sorted.
    pub fn implied_parents(&self) -> Result<Vec<String>> {
        folders::implied_parents(self)
    }
    /// Creates a folder (and missing parents); `Exists` when it is there.
    pub fn create(&self, name: &str) -> Result<()> {
        folders::create(self, name)
    }
    /// Deletes a folder and its mail (not INBOX: `BadName`).
    pub fn delete(&self, name: &str) -> Result<()> {
        folders::delete(self, name)
    }
    /// Renames a folder and its children; renaming INBOX moves its messages into a new
    /// folder and leaves INBOX empty (RFC 3501 §6.3.5).
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        folders::rename(self, from, to)
    }
    /// Adds or removes a name in the `subscriptions` file (Dovecot format).
    pub fn subscribe(&self, name: &str, on: bool) -> Result<()> {
        folders::subscribe(self, name, on)
    }
    /// Creates and subscribes the `SPECIAL_USE` folders that are missing.
    pub fn ensure_special_use(&self) -> Result<()> {
        folders::ensure_special_use(self)
    }
    /// The folder by name (`INBOX` case-insensitively); `NoSuchFolder` when missing.
    pub fn folder(&self, name: &str) -> Result<Folder> {
        folders::folder(self, name)
    }
    /// Bytes and messages stored, from `maildirsize` (recomputed when missing or stale).
    pub fn usage(&self) -> Result<Usage> {
        Ok(quota::usage(&self.root)?)
    }
}

/// One folder (a Maildir): its messages are read with `sync`, changed through it.
#[derive(Debug, Clone)]
pub struct Folder {
    name: String,
    /// The folder's Maildir (the root for INBOX).
    dir: PathBuf,
    /// The store's root (`dovecot-uidvalidity`, `maildirsize`).
    root: PathBuf,
}

/// What a folder holds at one moment, messages in ascending UID order.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: Vec<Message>,
    /// Keyword names defined for this folder (`dovecot-keywords`), for FLAGS.
    pub keywords: Vec<String>,
    /// CONDSTORE HIGHESTMODSEQ (see `modseq`).
    pub highest_modseq: u64,
}

/// One message of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub uid: u32,
    /// Base file name, with its `:2,FLAGS` suffix when it has one.
    pub file: String,
    /// Still in new/ (a read-only sync leaves it there): IMAP \Recent.
    pub recent: bool,
    /// Bytes in the file (`,S=`, else the file's length).
    pub size: u64,
    /// Bytes with CRLF line ends, what IMAP RFC822.SIZE and POP3 report (`,W=`, else
    /// the uidlist's `W`, else counted once and recorded in the uidlist).
    pub vsize: u64,
    /// INTERNALDATE: the file's mtime (Dovecot's convention).
    pub internal_date: SystemTime,
    pub flags: Flags,
    /// CONDSTORE mod-sequence: the file's ctime in nanoseconds (see `modseq`).
    pub modseq: u64,
}

/// IMAP system flags (`\Recent` aside) and keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub seen: bool,
    pub answered: bool,
    pub flagged: bool,
    pub deleted: bool,
    pub draft: bool,
    pub keywords: BTreeSet<String>,
}

/// Cheap fingerprint of a folder's state (mtimes of new/, cur/ and dovecot-uidlist):
/// equal stamps mean `sync` would return the same view. IDLE polls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp(pub [i128; 3]);

impl Stamp {
    /// False for a second after the folder changed: another change in the same clock
    /// tick would not move the stamp, so an equal stamp does not yet prove "unchanged".
    pub fn settled(&self) -> bool {
        snapshot::settled(self)
    }
}

impl Folder {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Reads new/, cur/ and `dovecot-uidlist`; unless `read_only`, moves new/ files to
    /// cur/ (as Dovecot does on SELECT); gives files not yet listed the next UIDs (under
    /// the dotlock) and returns the current view. A folder without a uidlist gets a
    /// fresh UIDVALIDITY (`dovecot-uidvalidity`).
    pub fn sync(&self, read_only: bool) -> Result<View> {
        sync::sync(self, read_only)
    }
    /// The folder's view as `sync` gives it, shared (one `Arc`) with every session that
    /// reads the same unchanged folder; see `snapshot`.
    pub fn shared_view(&self, read_only: bool) -> Result<std::sync::Arc<View>> {
        snapshot::view(self, read_only)
    }
    /// UIDVALIDITY from the uidlist's header, without reading the messages (a folder
    /// without a uidlist is synced to get one).
    pub fn uid_validity(&self) -> Result<u32> {
        match uidlist::UidList::validity(&self.dir)? {
            Some(v) => Ok(v),
            None => Ok(self.sync(true)?.uid_validity),
        }
    }
    /// The stamp `sync` would see now.
    pub fn stamp(&self) -> Result<Stamp> {
        let stamp = sync::stamp(self)?;
        snapshot::polled(&self.dir, stamp);
        Ok(stamp)
    }
    /// The stamp as some session read it within the last second, without I/O (None when
    /// nobody did): what IDLE polls first.
    pub fn recent_stamp(&self) -> Option<Stamp> {
        snapshot::recent_stamp(&self.dir)
    }
    /// Where the message's file is now (new/ or cur/).
    pub fn path_of(&self, msg: &Message) -> PathBuf {
        ops::path_of(self, msg)
    }
    /// Opens the message's file; `Expunged` when it is gone (finds a renamed file by
    /// its base name before giving up).
    pub fn open(&self, msg: &Message) -> Result<std::fs::File> {
        ops::open(self, msg)
    }
    /// Stores a message read from `data` into cur/ with these flags and internal date
    /// (fsynced, then listed under the next UID); returns its UID. The caller checks
    /// the quota first.
    pub fn append(&self, data: &mut dyn std::io::Read, flags: &Flags, internal_date: Option<SystemTime>) -> Result<u32> {
        ops::append(self, data, flags, internal_date)
    }
    /// Gives the message these flags (renames its file; new keywords are added to
    /// `dovecot-keywords`); returns it as it is now.
    pub fn set_flags(&self, msg: &Message, flags: &Flags) -> Result<Message> {
        self.change_flags(msg, &|f| f.clone_from(flags), None).map(|m| m.expect("no condition, no conflict"))
    }
    /// `set_flags` unless the message's mod-sequence on disk is now above
    /// `unchanged_since` (CONDSTORE STORE UNCHANGEDSINCE): then `Err(modseq on disk)`,
    /// nothing changed.
    pub fn set_flags_unchanged_since(&self, msg: &Message, flags: &Flags, unchanged_since: u64) -> Result<std::result::Result<Message, u64>> {
        self.change_flags(msg, &|f| f.clone_from(flags), Some(unchanged_since))
    }
    /// Changes the message's flags as they are on disk now (STORE +FLAGS / -FLAGS: a
    /// flag another session set since this one read the folder is kept), with the
    /// UNCHANGEDSINCE condition of `set_flags_unchanged_since` when given.
    pub fn change_flags(&self, msg: &Message, change: &dyn Fn(&mut Flags), unchanged_since: Option<u64>) -> Result<std::result::Result<Message, u64>> {
        ops::change_flags(self, msg, change, unchanged_since)
    }
    /// Removes these messages (files and uidlist lines).
    pub fn expunge(&self, msgs: &[Message]) -> Result<()> {
        ops::expunge(self, msgs)
    }
    /// Copies the messages into `dest` with their flags and internal dates (hard links
    /// where possible); returns their new UIDs in the same order.
    pub fn copy(&self, msgs: &[Message], dest: &Folder) -> Result<Vec<u32>> {
        ops::copy(self, msgs, dest)
    }
    /// POP3 UIDLs kept in the uidlist (`P<uidl>` fields: Dovecot stores them for mail
    /// migrated from another server, and serves them instead of `pop3_uidl`), by UID.
    pub fn pop3_uidls(&self) -> Result<std::collections::HashMap<u32, String>> {
        let list = uidlist::UidList::read(&self.dir)?;
        Ok(list.into_iter().flat_map(|l| l.records).filter_map(|r| Some((r.uid, r.pop3_uidl()?.to_string()))).collect())
    }
    /// The folder's Maildir directory (what `changes::subscribe` takes).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// POP3 UIDL of a message, Dovecot's default `%08Xu%08Xv` (UID, then UIDVALIDITY, in
/// hex), so clients migrated from Dovecot do not download everything again. Dovecot 2.3
/// writes these hex digits in lower case (`000000016b1151c5`, checked against it in
/// tests/mailstore_dovecot.rs), and UIDLs compare byte for byte.
pub fn pop3_uidl(uid_validity: u32, uid: u32) -> String {
    format!("{uid:08x}{uid_validity:08x}")
}

/// Records a delivery of `bytes` into the Maildir `root` in its `maildirsize` (when it
/// has one; a delta line appended without a lock, as Maildir++ allows).
pub fn record_delivery(root: &Path, bytes: u64) {
    quota::add(root, i64::try_from(bytes).unwrap_or(i64::MAX), 1);
}
