//! The sled implementation of `Spool` (the only file that imports sled).
//!
//! Owns: the on-disk layout. One sled database per spool directory with two trees,
//! `envelopes` (id -> JSON envelope) and `bodies` (id -> raw bytes), changed together in
//! sled transactions. A `postern.lock` file (exclusive `flock`) tells other processes
//! that the spool is in use, with a typed error rather than sled's text.
//!
//! sled 0.34's `flush` only `sync_file_range`s its log, and never fsyncs the blob files it
//! writes for pages over ~128 KiB (16 bodies of 8 KiB are enough), nor any directory.
//! `FileSync` adds those fsyncs so a flushed message also survives a power loss.
use super::spool::{Spool, SpoolError};
use super::{Envelope, QueueId};
use ::sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

const LOCK_FILE: &str = "postern.lock";

pub struct SledSpool {
    db: ::sled::Db,
    envelopes: ::sled::Tree,
    bodies: ::sled::Tree,
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
        let bodies = db.open_tree("bodies").map_err(from_sled)?;
        let count = AtomicUsize::new(envelopes.len());
        let sync = FileSync::open(dir)?;
        Ok(SledSpool {
            db,
            envelopes,
            bodies,
            count,
            sync,
            _lock: lock,
        })
    }
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
    fn put(&self, env: &Envelope, body: &[u8]) -> Result<(), SpoolError> {
        let key = env.id.as_str().as_bytes();
        let meta = encode(env)?;
        (&self.envelopes, &self.bodies)
            .transaction(|(envelopes, bodies)| {
                if envelopes.get(key)?.is_some() {
                    return abort(SpoolError::Duplicate(env.id.clone()));
                }
                envelopes.insert(key, meta.as_slice())?;
                bodies.insert(key, body)?;
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
        (&self.envelopes, &self.bodies)
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

    fn body(&self, id: &QueueId) -> Result<Option<Vec<u8>>, SpoolError> {
        let body = self.bodies.get(id.as_str()).map_err(from_sled)?;
        Ok(body.map(|b| b.to_vec()))
    }

    fn remove(&self, id: &QueueId) -> Result<bool, SpoolError> {
        let key = id.as_str().as_bytes();
        let existed = (&self.envelopes, &self.bodies)
            .transaction(|(envelopes, bodies)| {
                let existed = envelopes.remove(key)?.is_some();
                bodies.remove(key)?;
                Ok(existed)
            })
            .map_err(from_tx)?;
        if existed {
            self.count.fetch_sub(1, Ordering::Relaxed);
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
        spool.put(&envelope(&b), b"body b").unwrap(); // stored first, sorts last
        spool.put(&env_a, b"body a\r\n").unwrap();
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.get(&a).unwrap(), Some(env_a.clone()));
        assert_eq!(spool.body(&a).unwrap().as_deref(), Some(&b"body a\r\n"[..]));

        env_a.recipients[0].attempts = 3;
        env_a.recipients[0].last_error = Some("451 4.3.0 try later".into());
        spool.update(&env_a).unwrap();
        assert_eq!(spool.get(&a).unwrap(), Some(env_a.clone()));
        assert_eq!(
            spool.body(&a).unwrap().as_deref(),
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
        assert_eq!(spool.body(&a).unwrap(), None);
        assert_eq!(spool.len(), 1);
        spool.flush().unwrap();
    }

    #[test]
    fn put_never_overwrites_and_update_never_resurrects() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SledSpool::open(dir.path()).unwrap();
        let id = QueueId::generate();
        spool.put(&envelope(&id), b"first").unwrap();
        let err = spool.put(&envelope(&id), b"second").unwrap_err();
        assert!(matches!(err, SpoolError::Duplicate(_)), "{err:?}");
        assert_eq!(spool.body(&id).unwrap().as_deref(), Some(&b"first"[..]));
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
        spool.put(&envelope(&id), &body).unwrap();
        spool.flush().unwrap();
        match SledSpool::open(dir.path()) {
            Err(SpoolError::Locked { path }) => assert_eq!(path, dir.path()),
            other => panic!("expected Locked, got {:?}", other.map(|_| ())),
        }
        drop(spool);
        let spool = SledSpool::open(dir.path()).unwrap();
        assert_eq!(spool.len(), 1);
        assert_eq!(spool.body(&id).unwrap(), Some(body));
    }
}
