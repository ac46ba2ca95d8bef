//! IMAP4rev1 (RFC 3501) with the extensions postern serves: I/O-free command parsing
//! (literals announced and bounded), response encoding, and what a server computes from a
//! message's bytes (ENVELOPE, BODYSTRUCTURE, sections, SEARCH matching). Fuzzed.
pub mod message;
pub mod utf7;
