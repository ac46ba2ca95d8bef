//! CONDSTORE mod-sequences (RFC 7162) without a state file of our own.
//!
//! A message's MODSEQ is its file's ctime in nanoseconds since the epoch. Every flag
//! change in a Maildir is a rename (`:2,FS` → `:2,S`), and a rename updates the inode's
//! ctime on Linux, so a change made by Dovecot, a mail client on the same disk or any
//! other program raises the MODSEQ exactly like one made by postern — no extra file that
//! Dovecot would not maintain (Dovecot keeps its own modseqs in `dovecot.index`, which
//! postern neither reads nor writes). `sync` already stats every file for INTERNALDATE
//! and the size, so the MODSEQ costs nothing more per message.
//!
//! HIGHESTMODSEQ is the largest of the messages' MODSEQs and of the ctimes of the `new/`
//! and `cur/` directories (at least 1). RFC 7162 §3.1.2.1 wants it never to decrease
//! (a client keeps it to ask `CHANGEDSINCE` later): every change to the folder — a
//! delivery, a flag rename, the new/ → cur/ move, an expunge (unlink) — adds or removes
//! a directory entry and so raises the directory's ctime to the time of the change,
//! which is at least every MODSEQ handed out before; an expunge of the message holding
//! the highest MODSEQ therefore does not lower it, and an empty folder still has one.
//!
//! The kernel stamps ctime from a coarse clock (a few ms), so two changes of one message
//! within one tick would get the same MODSEQ: after its own renames postern checks that
//! the MODSEQ rose and, when it did not, waits for the next tick and sets the file's
//! atime (which raises the ctime; mtime, the INTERNALDATE, is left alone).
//!
//! Known limits, accepted: a second change by another program in the same tick as the
//! previous one keeps the MODSEQ (CHANGEDSINCE/UNCHANGEDSINCE with that value miss it);
//! a hard link (COPY) or chmod of a file also raises its MODSEQ, which RFC 7162
//! allows (a client just fetches flags that did not change, or gets a `[MODIFIED]` for
//! a conditional STORE; the session then learns the new MODSEQ from the conflict, so the
//! client's FETCH MODSEQ and retry pass); a clock stepped backwards
//! can make new MODSEQs lower than old ones. Nanoseconds fit the 63-bit mod-sequence
//! until the year 2262.
//!
//! Owns: the MODSEQ derivation. Must not touch: anything but `stat`.
use super::Message;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The MODSEQ of a file (at least 1: 0 is not a valid mod-sequence).
pub fn of(meta: &std::fs::Metadata) -> u64 {
    let ns = u64::try_from(meta.ctime()).unwrap_or(0).saturating_mul(1_000_000_000).saturating_add(u64::try_from(meta.ctime_nsec()).unwrap_or(0));
    ns.clamp(1, i64::MAX as u64)
}

/// The MODSEQ of `path` just renamed by us, made higher than `before` (see above);
/// `before` when the file cannot be read.
pub fn after_change(path: &Path, before: u64) -> u64 {
    let now = || std::fs::metadata(path).map(|m| of(&m)).ok();
    let mut modseq = now().unwrap_or(before);
    for _ in 0..50 {
        if modseq > before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        let touched = std::fs::File::open(path).and_then(|f| f.set_times(std::fs::FileTimes::new().set_accessed(std::time::SystemTime::now())));
        if touched.is_err() {
            break;
        }
        modseq = now().unwrap_or(before);
    }
    modseq
}

/// The folder's HIGHESTMODSEQ given its messages as just read.
pub fn highest(dir: &Path, messages: &[Message]) -> u64 {
    let dirs = ["new", "cur"].iter().filter_map(|d| std::fs::metadata(dir.join(d)).ok()).map(|m| of(&m));
    messages.iter().map(|m| m.modseq).chain(dirs).max().unwrap_or(1).max(1)
}
