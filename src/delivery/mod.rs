//! Delivery: the scheduler over the queue (due recipients, per-destination backoff and
//! rate, the router over transports), delivery status notifications (RFC 3464: building
//! and parsing them) and bounces.
//!
//! Owns: everything between a queued message and each recipient's final state.
//! Must not touch: SMTP dialogue details (`smtp_client`), storage internals (`queue`).
pub mod backoff;
pub mod bounce;
pub mod dsn;
pub mod dsn_parse;
pub mod route;
pub mod schedule;
pub mod scheduler;
pub mod tlsrpt;
pub mod tlsrpt_send;
