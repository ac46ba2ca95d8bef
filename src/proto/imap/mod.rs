//! IMAP4rev1 (RFC 3501) with the extensions postern serves: I/O-free command framing and
//! parsing (literals announced and bounded), response pieces, dates, sequence sets,
//! SEARCH evaluation, and what a server computes from a message's bytes (ENVELOPE,
//! BODYSTRUCTURE, sections, SEARCH matching). Fuzzed (`fuzz/`: `imap_command`,
//! `imap_session`).
//!
//! Decision: our own parser, not imap-codec. imap-codec (fuzzed upstream, a good parser)
//! was evaluated against what the server needs: (1) an APPEND message literal must go to
//! disk as it arrives, in bounded memory, like every other ingest path since issue 14 —
//! imap-codec's server decoder wants the whole command, literal included, in one buffer;
//! (2) it is alpha (0.x, API still moving) and models IMAP4rev1 only, without CONDSTORE
//! or the LIST-EXTENDED/LIST-STATUS return options; (3) the server uses a small subset
//! of the grammar, and the parser here (syntax.rs, command.rs, condstore.rs,
//! fetch_items.rs, search.rs; ~1,300 lines with tests) has one type per command and is
//! fuzzed like the SMTP one. The framer (`framer.rs`) is separate from the parser so the
//! streaming decision is made before a message literal is read.
//!
//! Owns: IMAP syntax. Must not touch: I/O, the mail store, configuration.
pub mod command;
pub mod condstore;
pub mod date;
mod fetch_items;
pub mod framer;
pub mod message;
pub mod response;
pub mod search;
pub mod sequence;
mod syntax;
pub mod utf7;
