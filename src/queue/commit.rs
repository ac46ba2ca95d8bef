//! Group commit: many writers share one flush.
//!
//! Owns: the single flusher task. A writer finishes its spool write, then calls
//! [`GroupCommit::wait`], which sends a oneshot waiter to the flusher. The flusher takes
//! one waiter, drains every other queued waiter, runs one `Spool::flush` on the blocking
//! pool and answers them all. A waiter is only received after its writer's write
//! returned, and the flush starts after the receive, so every write is covered by a flush
//! that started after it. One flusher only: many concurrent sled `flush_async` calls hang
//! (CRATES.md §4).
use super::spool::{Spool, SpoolError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::oneshot;

type Waiter = oneshot::Sender<Result<(), SpoolError>>;

pub(crate) struct GroupCommit {
    waiters: std::sync::mpsc::Sender<Waiter>,
    flushes: Arc<AtomicU64>,
}

impl GroupCommit {
    /// Starts the flusher: one dedicated OS thread, so a batch costs no tokio
    /// blocking-pool hand-off. It holds the spool weakly: dropping the last owner closes
    /// the spool at once, and the thread ends when the channel closes.
    pub(crate) fn start(spool: &Arc<dyn Spool>) -> GroupCommit {
        let (tx, rx) = std::sync::mpsc::channel();
        let flushes = Arc::new(AtomicU64::new(0));
        let (weak, f) = (Arc::downgrade(spool), flushes.clone());
        std::thread::Builder::new().name("queue-flush".into()).spawn(move || run(weak, rx, f)).expect("flush thread");
        GroupCommit { waiters: tx, flushes }
    }

    /// Returns once a flush that started after this call has completed.
    pub(crate) async fn wait(&self) -> Result<(), SpoolError> {
        let (tx, rx) = oneshot::channel();
        self.waiters.send(tx).map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }

    /// Flushes run so far (for tests and metrics).
    pub(crate) fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

fn run(spool: Weak<dyn Spool>, rx: std::sync::mpsc::Receiver<Waiter>, flushes: Arc<AtomicU64>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let result = match spool.upgrade() {
            Some(spool) => spool.flush(),
            None => Err(SpoolError::Closed),
        };
        flushes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::error!(error = %e, waiters = batch.len(), "queue flush failed");
        }
        for waiter in batch {
            // A waiter whose caller went away (cancelled) needs no answer.
            let _ = waiter.send(result.clone());
        }
    }
}
