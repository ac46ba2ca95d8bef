//! The durable queue: one stored copy of each message plus per-recipient state.
//!
//! Owns: the `Spool` trait, its sled implementation (the only code that imports sled),
//! queue ids and the group-commit flusher. Nothing is acknowledged before `Queue::enqueue`
//! returns, and it returns only after the data is flushed to disk.
//! Must not touch: delivery decisions, SMTP replies (callers map `SpoolError`).
mod commit;
mod content;
mod id;
mod message;
mod sled;
mod spool;

pub use content::{BodyWriter, Content, HEADER_MAX, INLINE_MAX, Mapped, READ_CHUNK, Tail, Unqueued};
pub use id::QueueId;
pub use message::{Envelope, Outcome, OutcomeKind, RcptState, Recipient};
pub use sled::SledSpool;
pub use spool::{Spool, SpoolError};

use commit::GroupCommit;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// Handle to the queue; clones share one spool and one flusher.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    spool: Arc<dyn Spool>,
    commit: GroupCommit,
    subscriber: Mutex<Option<mpsc::UnboundedSender<QueueId>>>,
}

impl Queue {
    /// Opens the sled spool at `data_dir/queue`. Must be called inside a tokio runtime
    /// (it spawns the flusher). Fails with [`SpoolError::Locked`] if another process
    /// (the daemon) has it open.
    pub fn open(data_dir: &Path) -> Result<Queue, SpoolError> {
        let spool = SledSpool::open(&data_dir.join("queue"))?;
        Ok(Queue::with_spool(Arc::new(spool)))
    }

    /// A queue over any spool. Panics outside a tokio runtime.
    pub fn with_spool(spool: Arc<dyn Spool>) -> Queue {
        let commit = GroupCommit::start(&spool);
        let inner = Inner {
            spool,
            commit,
            subscriber: Mutex::new(None),
        };
        Queue {
            inner: Arc::new(inner),
        }
    }

    /// Where message `id` is received to; give the result to [`Queue::enqueue`].
    pub fn writer(&self, id: &QueueId) -> BodyWriter {
        BodyWriter::new(content::body_path(self.inner.spool.body_dir(), id.as_str()))
    }

    /// Stores a new message and returns once it is durable; only then may the caller
    /// answer 250/202. `env.id` comes from [`QueueId::generate`]; `env.size` is set from
    /// the content, whose file tail (if any) comes from [`Queue::writer`] for that id.
    /// Afterwards the subscriber (if any) receives the id.
    ///
    /// On error nothing was acknowledged; if the write succeeded but the flush failed,
    /// the message is removed again (best effort) since the client will retry.
    pub async fn enqueue(&self, mut env: Envelope, content: Content) -> Result<(), SpoolError> {
        env.size = content.len();
        let id = env.id.clone();
        // The record is small (a large message's bytes are in its file already): a memory
        // copy into sled's log buffer, done inline.
        if let Err(e) = self.inner.spool.put(&env, &content) {
            if let Tail::File { path, .. } = &content.tail {
                let _ = std::fs::remove_file(path.as_path());
            }
            return Err(e);
        }
        if let Err(e) = self.inner.commit.wait().await {
            let _ = self.inner.spool.remove(&id);
            return Err(e);
        }
        self.notify(id);
        Ok(())
    }

    /// Replaces a stored envelope and returns once that is durable.
    /// [`SpoolError::NotFound`] if the message was removed meanwhile.
    pub async fn update(&self, env: &Envelope) -> Result<(), SpoolError> {
        let env = env.clone();
        self.blocking(move |s| s.update(&env)).await?;
        self.inner.commit.wait().await
    }

    /// Removes a message and returns once that is durable; `false` if it was not stored.
    pub async fn remove(&self, id: &QueueId) -> Result<bool, SpoolError> {
        let id = id.clone();
        let existed = self.blocking(move |s| s.remove(&id)).await?;
        self.inner.commit.wait().await?;
        Ok(existed)
    }

    pub fn get(&self, id: &QueueId) -> Result<Option<Envelope>, SpoolError> {
        self.inner.spool.get(id)
    }

    /// The stored content (a large body stays in its file until read).
    pub fn body(&self, id: &QueueId) -> Result<Option<Content>, SpoolError> {
        self.inner.spool.body(id)
    }

    /// Every envelope, sorted by id (arrival order).
    pub fn list(&self) -> Result<Vec<Envelope>, SpoolError> {
        self.inner.spool.list()
    }

    /// A receiver for the ids of messages enqueued from now on (the delivery scheduler
    /// calls this once at start, *then* loads older messages with [`Queue::list`], so no
    /// message falls between the two; an id may then come from both). A new call
    /// replaces the previous subscriber.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<QueueId> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.subscriber() = Some(tx);
        rx
    }

    pub fn len(&self) -> usize {
        self.inner.spool.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Group-commit flushes run so far; with many concurrent writers it grows much more
    /// slowly than the number of writes.
    pub fn flush_count(&self) -> u64 {
        self.inner.commit.flush_count()
    }

    /// Returns once everything written so far (lazy updates and removals included) is
    /// durable; the daemon calls it at shutdown.
    pub async fn sync(&self) -> Result<(), SpoolError> {
        self.inner.commit.wait().await
    }

    /// Records delivery progress without waiting for the disk: losing it in a crash only
    /// means a recipient is tried again (at-least-once), never that mail is lost.
    /// (An envelope update is a small in-memory write: done inline.)
    pub async fn update_lazy(&self, env: &Envelope) -> Result<(), SpoolError> {
        self.inner.spool.update(env)
    }

    /// Removes a fully handled message without waiting for the disk (see `update_lazy`).
    pub async fn remove_lazy(&self, id: &QueueId) -> Result<bool, SpoolError> {
        self.inner.spool.remove(id)
    }

    /// Tells the subscriber (the scheduler) to look at `id` again, e.g. after an operator
    /// retried or released it.
    pub fn notify(&self, id: QueueId) {
        let mut sub = self.subscriber();
        if sub.as_ref().is_some_and(|tx| tx.send(id).is_err()) {
            *sub = None; // receiver dropped
        }
    }

    fn subscriber(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<QueueId>>> {
        self.inner
            .subscriber
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, SpoolError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Spool) -> Result<T, SpoolError> + Send + 'static,
    {
        let spool = self.inner.spool.clone();
        tokio::task::spawn_blocking(move || f(spool.as_ref()))
            .await
            .unwrap_or_else(|e| Err(SpoolError::Storage(format!("spool task failed: {e}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io;

    fn envelope(rcpt: &str) -> Envelope {
        Envelope::new(
            QueueId::generate(),
            "sender@example.org",
            vec![Recipient::new(rcpt)],
        )
    }

    fn bytes_of(c: Option<Content>) -> Option<Vec<u8>> {
        c.map(|c| c.to_vec().unwrap())
    }

    fn body_for(n: usize) -> Vec<u8> {
        let mut b = format!("Subject: message {n}\r\n\r\n").into_bytes();
        b.extend((0..n * 37).map(|i| b'a' + (i % 26) as u8));
        b
    }

    #[tokio::test]
    async fn enqueue_update_remove_and_subscriber_sees_new_ids() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let mut rx = queue.subscribe();
        let (mut a, b) = (envelope("a@example.net"), envelope("b@example.net"));
        queue.enqueue(a.clone(), Content::inline(&b"body a"[..])).await.unwrap();
        queue.enqueue(b.clone(), Content::inline(&b"body b"[..])).await.unwrap();
        assert_eq!(rx.recv().await, Some(a.id.clone()));
        assert_eq!(rx.recv().await, Some(b.id.clone()));
        assert_eq!(queue.len(), 2);
        a.size = 6;
        assert_eq!(
            queue.get(&a.id).unwrap(),
            Some(a.clone()),
            "size is set from the body"
        );

        a.recipients[0].state = RcptState::Delivered;
        queue.update(&a).await.unwrap();
        assert_eq!(
            queue.get(&a.id).unwrap().unwrap().recipients[0].state,
            RcptState::Delivered
        );
        assert!(queue.remove(&a.id).await.unwrap());
        assert!(matches!(
            queue.update(&a).await,
            Err(SpoolError::NotFound(_))
        ));
        let ids: Vec<_> = queue.list().unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![b.id.clone()]);
        assert_eq!(bytes_of(queue.body(&b.id).unwrap()).as_deref(), Some(&b"body b"[..]));

        drop(rx); // a gone subscriber does not break enqueue
        queue
            .enqueue(envelope("c@example.net"), Content::inline(&b"c"[..]))
            .await
            .unwrap();
        assert_eq!(queue.len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_enqueues_share_flushes() {
        const N: usize = 200;
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let tasks: Vec<_> = (0..N)
            .map(|n| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let env = envelope(&format!("r{n}@example.net"));
                    let id = env.id.clone();
                    queue.enqueue(env, Content::inline(body_for(n))).await.map(|()| (id, n))
                })
            })
            .collect();
        let mut acked = HashMap::new();
        for t in tasks {
            let (id, n) = t.await.unwrap().unwrap();
            acked.insert(id, n);
        }
        let listed = queue.list().unwrap();
        assert_eq!(listed.len(), N);
        for env in &listed {
            let n = acked[&env.id];
            assert_eq!(bytes_of(queue.body(&env.id).unwrap()), Some(body_for(n)));
        }
        // How many messages share a flush depends on the disk's fsync time (seen here: 2.5
        // to 8 per flush); benches/queue measures it. What must hold is that they share.
        let flushes = queue.flush_count();
        eprintln!("{N} concurrent enqueues, {flushes} flushes");
        assert!(
            flushes >= 1 && flushes < N as u64,
            "{flushes} flushes for {N} messages: group commit shared none"
        );
    }

    #[tokio::test]
    async fn reopen_after_drop_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let mut kept = Vec::new();
        for n in 0..30 {
            let env = envelope(&format!("r{n}@example.net"));
            queue.enqueue(env.clone(), Content::inline(body_for(n * 10))).await.unwrap();
            kept.push((queue.get(&env.id).unwrap().unwrap(), body_for(n * 10)));
        }
        kept[3].0.held = true;
        queue.update(&kept[3].0).await.unwrap();
        let gone = kept.remove(7).0.id;
        queue.remove(&gone).await.unwrap();
        drop(queue);

        let queue = Queue::open(dir.path()).unwrap();
        assert_eq!(queue.len(), kept.len());
        let listed = queue.list().unwrap();
        assert_eq!(
            listed,
            kept.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
        );
        for (env, body) in &kept {
            assert_eq!(bytes_of(queue.body(&env.id).unwrap()).as_ref(), Some(body));
        }
        assert_eq!(queue.get(&gone).unwrap(), None);
    }

    /// A spool whose flush reports a full disk, to check `with_spool` and the error path.
    struct FullDisk(SledSpool);

    impl Spool for FullDisk {
        fn put(&self, env: &Envelope, content: &Content) -> Result<(), SpoolError> {
            self.0.put(env, content)
        }
        fn update(&self, env: &Envelope) -> Result<(), SpoolError> {
            self.0.update(env)
        }
        fn get(&self, id: &QueueId) -> Result<Option<Envelope>, SpoolError> {
            self.0.get(id)
        }
        fn body(&self, id: &QueueId) -> Result<Option<Content>, SpoolError> {
            self.0.body(id)
        }
        fn body_dir(&self) -> &std::path::Path {
            self.0.body_dir()
        }
        fn remove(&self, id: &QueueId) -> Result<bool, SpoolError> {
            self.0.remove(id)
        }
        fn list(&self) -> Result<Vec<Envelope>, SpoolError> {
            self.0.list()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn flush(&self) -> Result<(), SpoolError> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC).into())
        }
    }

    #[tokio::test]
    async fn failed_flush_is_reported_and_not_kept_or_announced() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::with_spool(Arc::new(FullDisk(SledSpool::open(dir.path()).unwrap())));
        let mut rx = queue.subscribe();
        let env = envelope("a@example.net");
        let err = queue.enqueue(env.clone(), Content::inline(&b"x"[..])).await.unwrap_err();
        assert!(err.is_storage_full(), "{err:?}");
        assert_eq!(queue.get(&env.id).unwrap(), None);
        assert!(queue.is_empty());
        assert!(
            rx.try_recv().is_err(),
            "no id announced for a failed enqueue"
        );
        assert_eq!(queue.flush_count(), 1);
    }
}
