//! POP3 (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH): I/O-free command parsing and replies.
//!
//! Owns: the `Command` grammar (`command`), every text the POP3 server puts on the wire
//! (`reply`), and the transformation of a stored message into its RETR/TOP wire form
//! (`message`: CRLF line ends, dot-stuffing, the TOP line limit, the terminating dot).
//! Must not touch: I/O, sessions, the mail store; uses nothing else of postern.
pub mod command;
pub mod message;
pub mod reply;

pub use command::{Command, ParseError};
pub use message::Encoder;
pub use reply::{Multiline, Reply, RespCode};

/// Longest command line accepted, CRLF included. RFC 2449 §4 allows 255 octets; clients
/// with long user names or passwords exceed it, so we accept four times as much (Dovecot
/// takes 2048 for the whole input buffer) and answer longer lines with `-ERR`.
pub const MAX_COMMAND_LINE: usize = 1024;

/// Longest SASL response line after `+ ` (RFC 5034 §4: the 255-octet limit does not apply
/// to it; the same bound as SMTP AUTH responses, RFC 4954).
pub const MAX_SASL_LINE: usize = 12288;
