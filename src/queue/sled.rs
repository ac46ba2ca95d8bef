//! The sled implementation of `Spool` (the only file that imports sled).
//!
//! Owns: the on-disk layout. One sled database per spool directory with two trees,
//! `envelopes` (id -> JSON envelope) and `messages` (id -> the message's head and either
//! its inline tail or where its body file ends), changed together in sled transactions;
//! large bodies live in `bodies/<id>` beside the database (see `content.rs`). A queue of
//! the previous release (raw bytes in a `bodies` tree) is migrated at open.
//!
//! Crash consistency: a body file is fsynced before its envelope is stored, and the
//! `bodies/` directory before the flush that acknowledges it, so an acknowledged envelope
//! always has its file. At open, files without an envelope are removed, and an envelope
//! whose file is missing (never acknowledged, or removed just before a crash made the
//! removal void) is dropped with an error in the log. A `postern.lock` file (exclusive `flock`) tells other processes
//! that the spool is in use, with a typed error rather than sled's text.
//!
//! sled 0.34's `flush` only `sync_file_range`s its log, and never fsyncs the blob files it
//! writes for pages over ~128 KiB (16 bodies of 8 KiB are enough), nor any directory.
//! `FileSync` adds those fsyncs so a flushed message also survives a power loss.
use super::content::{Content, Tail, body_path};
use super::spool::{Spool, SpoolError};
use super::{Envelope, QueueId};
use bytes::Bytes;
use ::sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

const LOCK_FILE: &str = "postern.lock";
const BODIES_DIR: &str = "bodies";
/// The previous release's tree of raw message bytes.
const OLD_BODIES_TREE: &str = "bodies";
const MESSAGES_TREE: &str = "messages";

pub struct SledSpool {
    db: ::sled::Db,
    envelopes: ::sled::Tree,
    messages: ::sled::Tree,
    body_dir: PathBuf,
    /// A body file was stored since the last flush: the directory needs an fsync.
    new_body_files: AtomicBool,
    /// Stored messages; sled's `Tree::len` is a full scan.
    count: AtomicUsize,
    sync: FileSync,
    /// Held for the spool's lifetime; the kernel releases the lock if the process dies.
    _lock: File,
}

impl SledSpool {
    /// Opens (creating if needed) the spool in `dir`. Fails with [`SpoolError::Locked`]
    /// if another process has it open. sled's own periodic flush (500 ms) stays on.
    pub fn open(dir: &Path) -> Result<SledSpool, SpoolError> {
        fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        let db = ::sled::Config::new().path(dir).open().map_err(from_sled)?;
        let envelopes = db.open_tree("envelopes").map_err(from_sled)?;
        let messages = db.open_tree(MESSAGES_TREE).map_err(from_sled)?;
        let body_dir = dir.join(BODIES_DIR);
        fs::create_dir_all(&body_dir)?;
        let sync = FileSync::open(dir)?;
        let spool = SledSpool {
            db,
            envelopes,
            messages,
            body_dir,
            new_body_files: AtomicBool::new(false),
            count: AtomicUsize::new(0),
            sync,
            _lock: lock,
        };
        spool.migrate_old_bodies()?;
        spool.reconcile_body_files()?;
        spool.count.store(spool.envelopes.len(), Ordering::Relaxed);
        Ok(spool)
    }

    /// Moves raw bodies of the previous release into `messages` (idempotent: a crash
    /// half-way leaves both, and the next open finishes).
    fn migrate_old_bodies(&self) -> Result<(), SpoolError> {
        if !self.db.tree_names().iter().any(|n| n.as_ref() == OLD_BODIES_TREE.as_bytes()) {
            return Ok(());
        }
        let old = self.db.open_tree(OLD_BODIES_TREE).map_err(from_sled)?;
        let mut moved = 0usize;
        for item in old.iter() {
            let (key, raw) = item.map_err(from_sled)?;
            if self.messages.get(&key).map_err(from_sled)?.is_none() {
                let content = Content { head: Bytes::new(), tail: Tail::Inline(Bytes::copy_from_slice(&raw)) };
                self.messages.insert(&key, encode_content(&content)).map_err(from_sled)?;
            }
            moved += 1;
        }
        self.flush()?;
        self.db.drop_tree(OLD_BODIES_TREE).map_err(from_sled)?;
        self.flush()?;
        if moved > 0 {
            tracing::info!(messages = moved, "migrated queue bodies to the current format");
        }
        Ok(())
    }

    /// Removes body files no envelope points to, and envelopes whose file is gone.
    fn reconcile_body_files(&self) -> Result<(), SpoolError> {
        let mut wanted = HashSet::new();
        for item in self.messages.iter() {
            let (key, record) = item.map_err(from_sled)?;
            let Ok(name) = std::str::from_utf8(&key) else { continue };
            let Ok((_, FileRef::File { offset, len })) = decode_record(&record) else { continue };
            let path = body_path(&self.body_dir, name);
            match fs::metadata(&path) {
                Ok(m) if m.len() >= offset + len => {
                    wanted.insert(OsString::from(name));
                }
                found => {
                    tracing::error!(id = %name, file = %path.display(), found = ?found.map(|m| m.len()), "queue body file missing or short; dropping the message (it was never acknowledged)");
                    (&self.envelopes, &self.messages)
                        .transaction(|(e, m)| {
                            e.remove(&key)?;
                            m.remove(&key)?;
                            Ok::<_, ConflictableTransactionError<SpoolError>>(())
                        })
                        .map_err(from_tx)?;
                }
            }
        }
        let mut removed = 0usize;
        for entry in fs::read_dir(&self.body_dir)? {
            let entry = entry?;
            if !wanted.contains(&entry.file_name()) {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(files = removed, "removed queue body files without an envelope");
        }
        self.flush()
    }

    fn content(&self, id: &QueueId, record: &[u8]) -> Result<Content, SpoolError> {
        let corrupt = |reason: &str| SpoolError::Corrupt { key: id.to_string(), reason: reason.into() };
        let (head, file) = decode_record(record).map_err(corrupt)?;
        let tail = match file {
            FileRef::Inline(range) => Tail::Inline(Bytes::copy_from_slice(&record[range])),
            FileRef::File { offset, len } => Tail::File { path: Arc::new(body_path(&self.body_dir, id.as_str())), offset, len },
        };
        Ok(Content { head: Bytes::copy_from_slice(&record[head]), tail })
    }
}

/// Where a record's tail is: a byte range of the record, or a range of the body file.
enum FileRef {
    Inline(std::ops::Range<usize>),
    File { offset: u64, len: u64 },
}

const RECORD_V1: u8 = 1;

/// `[1][head len: u32 LE][head][0][inline tail]` or `[1][head len][head][1][offset: u64 LE][len: u64 LE]`.
fn encode_content(c: &Content) -> Vec<u8> {
    let inline = match &c.tail {
        Tail::Inline(b) => b.len(),
        Tail::File { .. } => 16,
    };
    let mut out = Vec::with_capacity(6 + c.head.len() + inline);
    out.push(RECORD_V1);
    out.extend_from_slice(&(c.head.len() as u32).to_le_bytes());
    out.extend_from_slice(&c.head);
    match &c.tail {
        Tail::Inline(b) => {
            out.push(0);
            out.extend_from_slice(b);
        }
        Tail::File { offset, len, .. } => {
            out.push(1);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out
}

fn decode_record(r: &[u8]) -> Result<(std::ops::Range<usize>, FileRef), &'static str> {
    let (&[RECORD_V1], rest) = r.split_at_checked(1).ok_or("empty record")? else {
        return Err("unknown record version");
    };
    let head_len = rest.get(..4).ok_or("short record")?;
    let head_len = u32::from_le_bytes(head_len.try_into().expect("4 bytes")) as usize;
    let head = 5..5usize.checked_add(head_len).ok_or("bad head length")?;
    let kind = *r.get(head.end).ok_or("short record")?;
    let after = head.end + 1;
    let file = match kind {
        0 => FileRef::Inline(after..r.len()),
        1 => {
            let f = r.get(after..after + 16).ok_or("short record")?;
            let offset = u64::from_le_bytes(f[..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(f[8..].try_into().expect("8 bytes"));
            FileRef::File { offset, len }
        }
        _ => return Err("unknown tail kind"),
    };
    if head.end > r.len() {
        return Err("short record");
    }
    Ok((head, file))
}

fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SpoolError::Locked {
            path: dir.to_owned(),
        }),
        Err(TryLockError::Error(e)) => Err(e.into()),
    }
}

impl Spool for SledSpool {
    fn put(&self, env: &Envelope, content: &Content) -> Result<(), SpoolError> {
        let key = env.id.as_str().as_bytes();
        let meta = encode(env)?;
        let record = encode_content(content);
        if let Tail::File { path, .. } = &content.tail {
            debug_assert_eq!(**path, body_path(&self.body_dir, env.id.as_str()));
            self.new_body_files.store(true, Ordering::SeqCst);
        }
        (&self.envelopes, &self.messages)
            .transaction(|(envelopes, messages)| {
                if envelopes.get(key)?.is_some() {
                    return abort(SpoolError::Duplicate(env.id.clone()));
                }
                envelopes.insert(key, meta.as_slice())?;
                messages.insert(key, record.as_slice())?;
                Ok(())
            })
            .map_err(from_tx)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn update(&self, env: &Envelope) -> Result<(), SpoolError> {
        let key = env.id.as_str().as_bytes();
        let meta = encode(env)?;
        // Same transaction machinery as `remove`, so the existence check cannot race it.
        (&self.envelopes, &self.messages)
            .transaction(|(envelopes, _)| {
                if envelopes.get(key)?.is_none() {
                    return abort(SpoolError::NotFound(env.id.clone()));
                }
                envelopes.insert(key, meta.as_slice())?;
                Ok(())
            })
            .map_err(from_tx)
    }

    fn get(&self, id: &QueueId) -> Result<Option<Envelope>, SpoolError> {
        match self.envelopes.get(id.as_str()).map_err(from_sled)? {
            Some(bytes) => decode(id.as_str().as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn body(&self, id: &QueueId) -> Result<Option<Content>, SpoolError> {
        match self.messages.get(id.as_str()).map_err(from_sled)? {
            Some(record) => self.content(id, &record).map(Some),
            None => Ok(None),
        }
    }

    fn body_dir(&self) -> &Path {
        &self.body_dir
    }

    fn remove(&self, id: &QueueId) -> Result<bool, SpoolError> {
        let key = id.as_str().as_bytes();
        let (existed, record) = (&self.envelopes, &self.messages)
            .transaction(|(envelopes, messages)| {
                let existed = envelopes.remove(key)?.is_some();
                Ok((existed, messages.remove(key)?))
            })
            .map_err(from_tx)?;
        if existed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        // The message is handled (delivered, bounced or deleted by the operator): should a
        // crash undo the removal, the open drops the envelope whose file is gone.
        if record.is_some_and(|r| matches!(decode_record(&r), Ok((_, FileRef::File { .. })))) {
            match fs::remove_file(body_path(&self.body_dir, id.as_str())) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(id = %id, error = %e, "cannot remove queue body file"),
            }
        }
        Ok(existed)
    }

    fn list(&self) -> Result<Vec<Envelope>, SpoolError> {
        let mut out = Vec::new();
        for item in self.envelopes.iter() {
            let (key, bytes) = item.map_err(from_sled)?;
            match decode(&key, &bytes) {
                Ok(env) => out.push(env),
                Err(e) => tracing::error!(error = %e, "skipping unreadable queue record"),
            }
        }
        Ok(out)
    }

    fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    fn flush(&self) -> Result<(), SpoolError> {
        if self.new_body_files.swap(false, Ordering::SeqCst)
            && let Err(e) = sync_dir(&self.body_dir)
        {
            self.new_body_files.store(true, Ordering::SeqCst);
            return Err(e.into());
        }
        self.db.flush().map_err(from_sled)?;
        self.sync.sync()?;
        Ok(())
    }
}

/// The fsyncs sled 0.34 leaves out (see the module header).
struct FileSync {
    dir: PathBuf,
    /// sled's log file; `sync_data` on any descriptor of it syncs the file.
    db_file: File,
    /// Blob files already fsynced; sled writes each blob once and later deletes it.
    synced_blobs: Mutex<HashSet<OsString>>,
}

impl FileSync {
    fn open(dir: &Path) -> io::Result<FileSync> {
        // sled writes `conf` and creates files without syncing them or their directories.
        File::open(dir.join("conf"))?.sync_all()?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        let db_file = File::open(dir.join("db"))?;
        Ok(FileSync {
            dir: dir.to_owned(),
            db_file,
            synced_blobs: Mutex::default(),
        })
    }

    /// Blobs first, so the log never becomes durable pointing at a lost blob on our watch.
    fn sync(&self) -> io::Result<()> {
        let blobs = self.dir.join("blobs");
        let mut synced = self
            .synced_blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut present = HashSet::with_capacity(synced.len());
        let mut new = false;
        for entry in fs::read_dir(&blobs)? {
            let name = entry?.file_name();
            if !synced.contains(&name) {
                match File::open(blobs.join(&name)) {
                    Ok(f) => f.sync_all()?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // collected
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            sync_dir(&blobs)?;
        }
        *synced = present;
        self.db_file.sync_data()
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn encode(env: &Envelope) -> Result<Vec<u8>, SpoolError> {
    serde_json::to_vec(env).map_err(|e| SpoolError::Corrupt {
        key: env.id.to_string(),
        reason: format!("cannot encode: {e}"),
    })
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<Envelope, SpoolError> {
    serde_json::from_slice(bytes).map_err(|e| SpoolError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn abort<T>(e: SpoolError) -> Result<T, ConflictableTransactionError<SpoolError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn from_tx(e: TransactionError<SpoolError>) -> SpoolError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => from_sled(e),
    }
}

fn from_sled(e: ::sled::Error) -> SpoolError {
    match e {
        ::sled::Error::Io(e) => SpoolError::from_io(e),
        other => SpoolError::Storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Recipient;

    fn bytes_of(c: Option<Content>) -> Option<Vec<u8>> {
        c.map(|c| c.to_vec().unwrap())
    }

    fn envelope(id: &QueueId) -> Envelope {
        let mut env = Envelope::new(
            id.clone(),
            "sender@example.org",
            vec![Recipient::new("rcpt@example.net")],
        );
        env.helo = Some("client.example.org".into());
        env
    }

    #[test]
    fn put_get_body_update_list_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SledSpool::open(dir.path()).unwrap();
        let (a, b) = (QueueId::generate(), QueueId::generate());
        let mut env_a = envelope(&a);
        spool.put(&envelope(&b), &Content::inline(&b"body b"[..])).unwrap(); // stored first, sorts last
        spool.put(&env_a, &Content::inline(&b"body a\r\n"[..])).unwrap();
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.get(&a).unwrap(), Some(env_a.clone()));
        assert_eq!(bytes_of(spool.body(&a).unwrap()).as_deref(), Some(&b"body a\r\n"[..]));

        env_a.recipients[0].attempts = 3;
        env_a.recipients[0].last_error = Some("451 4.3.0 try later".into());
        spool.update(&env_a).unwrap();
        assert_eq!(spool.get(&a).unwrap(), Some(env_a.clone()));
        assert_eq!(
            bytes_of(spool.body(&a).unwrap()).as_deref(),
            Some(&b"body a\r\n"[..]),
            "update kept body"
        );

        let ids: Vec<_> = spool.list().unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            vec![a.clone(), b.clone()],
            "list is sorted by id, not insert order"
        );

        assert!(spool.remove(&a).unwrap());
        assert!(!spool.remove(&a).unwrap(), "second remove reports absence");
        assert_eq!(spool.get(&a).unwrap(), None);
        assert!(spool.body(&a).unwrap().is_none());
        assert_eq!(spool.len(), 1);
        spool.flush().unwrap();
    }

    #[test]
    fn put_never_overwrites_and_update_never_resurrects() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SledSpool::open(dir.path()).unwrap();
        let id = QueueId::generate();
        spool.put(&envelope(&id), &Content::inline(&b"first"[..])).unwrap();
        let err = spool.put(&envelope(&id), &Content::inline(&b"second"[..])).unwrap_err();
        assert!(matches!(err, SpoolError::Duplicate(_)), "{err:?}");
        assert_eq!(bytes_of(spool.body(&id).unwrap()).as_deref(), Some(&b"first"[..]));
        assert_eq!(spool.len(), 1);

        spool.remove(&id).unwrap();
        let err = spool.update(&envelope(&id)).unwrap_err();
        assert!(matches!(err, SpoolError::NotFound(_)), "{err:?}");
        assert_eq!(spool.get(&id).unwrap(), None);
    }

    #[test]
    fn second_open_of_a_held_spool_is_locked_and_reopen_after_drop_works() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SledSpool::open(dir.path()).unwrap();
        let id = QueueId::generate();
        // Large enough that sled stores its page as a blob file.
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        spool.put(&envelope(&id), &Content::inline(body.clone())).unwrap();
        spool.flush().unwrap();
        match SledSpool::open(dir.path()) {
            Err(SpoolError::Locked { path }) => assert_eq!(path, dir.path()),
            other => panic!("expected Locked, got {:?}", other.map(|_| ())),
        }
        drop(spool);
        let spool = SledSpool::open(dir.path()).unwrap();
        assert_eq!(spool.len(), 1);
        assert_eq!(bytes_of(spool.body(&id).unwrap()), Some(body));
    }
}
