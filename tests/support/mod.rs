//! Shared harness for the end-to-end tests (`tests/e2e_*.rs`): runs the real `postern` binary
//! in a temp dir, talks SMTP over raw sockets, and finds/drives the third-party peers.
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code, unused_imports)]

pub mod config;
pub mod dialog;
pub mod peers;
pub mod queue;
pub mod server;

pub use config::Config;
pub use dialog::{Dialog, Reply, queued_id};
pub use queue::{QueuedMessage, Recipient};
pub use server::{ServerBuilder, TestServer};
