//! Protocol servers: one module per protocol, each a listener, a session state machine and
//! one file per command, on top of `app::Services`. SMTP today; IMAP and POP3 next.
pub mod smtp;
