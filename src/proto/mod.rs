//! The protocol layer: I/O-free protocol code, fed bytes and fuzzed in isolation. It uses
//! nothing else of postern. `smtp` (commands, replies, addresses and their one
//! normalization, DATA/BDAT, SASL), `rfc5322` (dates, message-ids, header helpers),
//! `mta_sts` (the policy we publish and its id).
pub mod mta_sts;
pub mod rfc5322;
pub mod smtp;
