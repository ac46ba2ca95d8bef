//! Protocol servers: one module per protocol, each a session state machine and one file
//! per command, on top of `app::Services`; `listener` binds and accepts for all of them.
pub mod access;
pub mod imap;
pub mod listener;
pub mod pop3;
pub mod smtp;
