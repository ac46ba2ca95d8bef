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
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), SpoolError>>;

pub(crate) struct GroupCommit {
    waiters: mpsc::UnboundedSender<Waiter>,
    flushes: Arc<AtomicU64>,
}

impl GroupCommit {
    /// Spawns the flusher on the current tokio runtime (panics outside one).
    /// It holds the spool weakly: dropping the last owner closes the spool at once,
    /// without waiting for the task to notice.
    pub(crate) fn start(spool: &Arc<dyn Spool>) -> GroupCommit {
        let (tx, rx) = mpsc::unbounded_channel();
        let flushes = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(Arc::downgrade(spool), rx, flushes.clone()));
        GroupCommit {
            waiters: tx,
            flushes,
        }
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

async fn run(
    spool: Weak<dyn Spool>,
    mut rx: mpsc::UnboundedReceiver<Waiter>,
    flushes: Arc<AtomicU64>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let result = match spool.upgrade() {
            Some(spool) => tokio::task::spawn_blocking(move || spool.flush())
                .await
                .unwrap_or_else(|e| Err(SpoolError::Storage(format!("flush task failed: {e}")))),
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
