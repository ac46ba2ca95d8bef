//! The one harness of the integration tests. Every `tests/*.rs` is its own crate that does
//! `mod support;` and uses part of it, hence the `dead_code` allowance.
//!
//! - server, config, queue: the real `postern` binary in a temp dir (`TestServer`), its
//!   config and certificate, its queue (`postern queue list --json`) and the queue poller;
//! - session: in-process sessions (`InProcess`: the daemon's services without a process,
//!   each connection a socket pair), for dialogue tests;
//! - dialog: a raw-socket SMTP client; outbound: driving postern's outbound client directly;
//! - peers: finding and running third-party peers, free ports, kill-on-drop; wait: the one
//!   polling loop;
//! - dns (dnsmasq), rcv (aiosmtpd receiver, smtp-sink), postfix (a private Postfix relay),
//!   pki (a test CA), proxy (a recording TCP relay): the peers tests talk to;
//! - pg (a private PostgreSQL server, fixtures in tests/fixtures/), hashes (password hashes
//!   from doveadm, mkpasswd, passlib): the SQL directory's world;
//! - dovecot: a private Dovecot 2.3 (IMAP, POP3) over Maildirs, the reference for the
//!   mailstore, IMAP and POP3;
//! - mx, routing, inbound: the worlds of the delivery, routing/Maildir/webhook and inbound
//!   authentication suites.
#![allow(dead_code, unused_imports)]

pub mod config;
pub mod dialog;
pub mod dovecot;
pub mod dns;
pub mod hashes;
pub mod imap;
pub mod inbound;
pub mod mx;
pub mod outbound;
pub mod peers;
pub mod pg;
pub mod pki;
pub mod postfix;
pub mod proxy;
pub mod redis;
pub mod queue;
pub mod rcv;
pub mod routing;
pub mod server;
pub mod session;
pub mod wait;

pub use config::Config;
pub use dialog::{Dialog, Reply, queued_id};
pub use queue::{QueuedMessage, Recipient};
pub use server::{ServerBuilder, TestServer};
