//! Protocol servers: one module per protocol, each a session state machine and one file
//! per command, on top of `app::Services`; `listener` binds and accepts for all of them.
pub mod access;
pub mod imap;
pub mod listener;
pub mod pop3;
pub mod smtp;

/// Why a session stopped reading from its client: the same for every protocol.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("timeout")]
    Timeout,
    #[error("client closed the connection")]
    Closed,
    #[error("shutting down")]
    Shutdown,
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
