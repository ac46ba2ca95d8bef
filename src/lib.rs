//! postern: a mail transfer agent that replaces Postfix.
pub mod config;
pub mod daemon;
pub mod dkim;
pub mod dnscheck;
pub mod directory;
pub mod http;
pub mod inbound;
pub mod mailstore;
pub mod metrics;
pub mod queue;
pub mod smtp;
pub mod outbound;
pub mod rewrite;
pub mod rfc5322;
pub mod routing;
pub mod transport;
pub mod ratelimit;
