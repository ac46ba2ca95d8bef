//! Receiving mail over SMTP: listeners, the session state machine, one file per command.
//!
//! Owns: everything between an accepted TCP connection and `app::ingest`.
//! Must not touch: sled (goes through `queue`), delivery, other protocols.
pub mod accept;
mod cmd;
pub mod conn;
pub mod listener;
pub mod session;
