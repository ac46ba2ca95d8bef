//! The storage contract the rest of postern relies on.
//!
//! Owns: the `Spool` trait and `SpoolError`. A spool stores, per message, one envelope
//! (small, rewritten as delivery progresses) and its content (written once: a head and a
//! tail inline, or a body file the spool owns from `put` on).
//! Must not touch: sled or any other backend (see `sled.rs`), scheduling, SMTP replies.
//!
//! Writes are *not* durable when they return: durability comes from [`Spool::flush`],
//! which `Queue` shares between many writers (group commit, see `commit.rs`).
use super::{Content, Envelope, QueueId};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Message storage. Implementations are blocking (call them from `spawn_blocking` or
/// accept a short stall) and safe to share between threads.
pub trait Spool: Send + Sync {
    /// Stores a new message: its envelope (keyed by `env.id`) and its content. A file tail
    /// must be `body_dir()/<id>`, written and fsynced; the spool owns it from now on.
    ///
    /// Atomic: afterwards both are stored or, on error, neither. Fails with
    /// [`SpoolError::Duplicate`] if the id is already stored (nothing is overwritten).
    /// Not durable until a later [`Spool::flush`] returns.
    fn put(&self, env: &Envelope, content: &Content) -> Result<(), SpoolError>;

    /// Replaces the envelope of a stored message (recipient state, hold flag, ...).
    ///
    /// Fails with [`SpoolError::NotFound`] if the message is not stored, so a late
    /// update cannot resurrect a removed message. The body is untouched.
    /// Not durable until a later [`Spool::flush`] returns.
    fn update(&self, env: &Envelope) -> Result<(), SpoolError>;

    /// The envelope of a message, `None` if it is not stored.
    /// Sees every write that returned before it was called, flushed or not.
    fn get(&self, id: &QueueId) -> Result<Option<Envelope>, SpoolError>;

    /// The content of a message as given to `put`, `None` if it is not stored.
    fn body(&self, id: &QueueId) -> Result<Option<Content>, SpoolError>;

    /// Where body files are written (`<dir>/<id>`).
    fn body_dir(&self) -> &Path;

    /// Removes envelope and content together (atomic; a body file goes right after). Returns whether the message was stored;
    /// removing a missing id is not an error. Not durable until a later flush returns.
    fn remove(&self, id: &QueueId) -> Result<bool, SpoolError>;

    /// Every stored envelope, sorted by id (that is, by arrival).
    /// Records that cannot be decoded are logged and skipped, so one bad record
    /// cannot stop delivery of the rest; `get` on such an id returns the error.
    fn list(&self) -> Result<Vec<Envelope>, SpoolError>;

    /// Number of stored messages (cheap: no scan).
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until every write that returned before this call is durable: it survives
    /// a crash of the process and, as far as the filesystem allows, a power loss.
    /// Safe to call from several threads, but `Queue` calls it from one flusher only.
    fn flush(&self) -> Result<(), SpoolError>;
}

/// Why a spool operation failed. `Clone` so one flush result can answer many waiters.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpoolError {
    /// The disk or quota is full: a temporary condition (SMTP 452 4.3.1).
    #[error("queue storage is full: {0}")]
    Full(#[source] Arc<io::Error>),
    /// Any other I/O failure (SMTP 451 4.3.0).
    #[error("queue I/O error: {0}")]
    Io(#[source] Arc<io::Error>),
    /// Another process has the spool open; for the CLI this means the daemon runs.
    #[error("queue {} is in use by another process (is the postern daemon running?)", path.display())]
    Locked { path: PathBuf },
    /// A stored record could not be decoded.
    #[error("queue record {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// The storage engine reported corruption or an internal bug.
    #[error("queue storage error: {0}")]
    Storage(String),
    #[error("message {0} is not in the queue")]
    NotFound(QueueId),
    #[error("message {0} is already in the queue")]
    Duplicate(QueueId),
    /// The queue's flusher is gone (runtime shutting down).
    #[error("queue is shut down")]
    Closed,
}

impl SpoolError {
    /// Wraps an I/O error, telling "disk/quota full" apart from other failures.
    pub fn from_io(e: io::Error) -> SpoolError {
        let full = matches!(
            e.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        ) || matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
        if full {
            SpoolError::Full(Arc::new(e))
        } else {
            SpoolError::Io(Arc::new(e))
        }
    }

    /// True when the failure is lack of space: answer 452 4.3.1 instead of 451 4.3.0.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, SpoolError::Full(_))
    }
}

impl From<io::Error> for SpoolError {
    fn from(e: io::Error) -> Self {
        SpoolError::from_io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_is_told_apart_from_other_io_errors() {
        assert!(SpoolError::from_io(io::Error::from_raw_os_error(libc::ENOSPC)).is_storage_full());
        assert!(SpoolError::from_io(io::Error::from_raw_os_error(libc::EDQUOT)).is_storage_full());
        let eio = SpoolError::from_io(io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(eio, SpoolError::Io(_)), "{eio:?}");
    }
}
