//! The durable queue: one stored copy of each message plus per-recipient state.
//!
//! Owns: the `Spool` trait, its sled implementation (the only code that imports sled),
//! queue ids and the group-commit flusher. Nothing is acknowledged before `Queue::enqueue`
//! returns, and it returns only after the data is flushed to disk.
mod commit;
mod id;
mod message;
mod sled;
mod spool;

pub use id::QueueId;
pub use message::{Envelope, RcptState, Recipient};
// pub use spool::{Spool, SpoolError};
