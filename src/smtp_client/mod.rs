//! Talking to other mail servers: MX resolution (hickory), the SMTP client with its TLS
//! policy, MTA-STS and its cache, DANE (TLSA over a validating resolver). Used by `transport::smtp` (and `postern check dns`).
//!
//! Owns: one SMTP conversation with a remote server and how to find and trust it.
//! Must not touch: the queue or the scheduler.
pub mod client;
pub mod dane;
pub mod mta_sts;
pub mod mx;
pub mod secure_dns;
pub mod sts_cache;
pub mod tls;
pub mod tlsrpt;
