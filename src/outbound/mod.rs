//! Outbound delivery: MX resolution, the SMTP client, TLS policy, DSNs and the scheduler.
//!
//! Owns: everything between a queued message and a remote server's final reply.
pub mod mx;
pub mod tls;
pub mod client;
pub mod dsn;
pub mod dsn_parse;
pub mod backoff;
pub mod bounce;
pub mod route;
pub mod schedule;
pub mod scheduler;
pub mod mta_sts;
pub mod sts_cache;
