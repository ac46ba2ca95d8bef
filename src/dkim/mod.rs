//! DKIM for outgoing mail: key loading, signing (with mail-auth) and key generation.
//!
//! Owns: the `[[dkim]]` config entry type, reading private keys from PEM once at start-up,
//! choosing the keys for a message by its RFC5322.From domain, producing DKIM-Signature
//! header lines, and writing new keys plus the DNS TXT record that publishes them (also
//! into `data_dir/dkim`, the keys the web UI manages: `managed`).
//! Must not touch: the queue, sockets, DNS lookups (verification of inbound mail lives in
//! `inbound/`).
mod keygen;
mod keys;
pub mod managed;
mod sign;

use std::path::PathBuf;

pub use keygen::{Algorithm, GeneratedKey, keygen};
pub use keys::parse_pem;
pub use sign::DkimSigner;

pub use crate::config::DkimKeyConfig;

/// Everything that can go wrong while loading, using or generating DKIM keys.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("DKIM key {path} for {domain}: cannot read file: {source}")]
    Read {
        path: PathBuf,
        domain: String,
        source: std::io::Error,
    },
    #[error("DKIM key {path} for {domain}: {reason}")]
    BadKey {
        path: PathBuf,
        domain: String,
        reason: String,
    },
    #[error("invalid DKIM {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot read the message to sign: {0}")]
    Io(String),
    #[error("DKIM selector {selector} is configured twice for {domain}")]
    DuplicateSelector { domain: String, selector: String },
    #[error("DKIM signing for {domain} (selector {selector}) failed: {reason}")]
    Sign {
        domain: String,
        selector: String,
        reason: String,
    },
    #[error("DKIM key generation failed: {0}")]
    Generate(String),
    #[error("DKIM key file {path} already exists; not overwriting it")]
    Exists { path: PathBuf },
    #[error("cannot write DKIM key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
