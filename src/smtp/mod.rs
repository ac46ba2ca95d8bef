//! SMTP protocol types with no I/O: command parser, addresses, replies, DATA reader, SASL.
//!
//! Owns: everything that turns bytes into typed protocol values and back.
//! Must not touch: sockets, tokio, config, the queue. It is fuzzed and benched alone.
pub mod address;
pub mod command;
pub mod data;
pub mod reply;
pub mod sasl;

pub use address::{Address, ForwardPath, ReversePath};
pub use command::{Command, MailParams, RcptParams};
pub use reply::Reply;

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub const MAX_TEXT_LINE: usize = 1000;
