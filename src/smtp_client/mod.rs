//! Talking to other mail servers: MX resolution (hickory), the SMTP client with its TLS
//! policy, MTA-STS and its cache. Used by `transport::smtp` (and `postern check dns`).
//!
//! Owns: one SMTP conversation with a remote server and how to find and trust it.
//! Must not touch: the queue or the scheduler.
pub mod client;
pub mod mta_sts;
pub mod mx;
pub mod sts_cache;
pub mod tls;
