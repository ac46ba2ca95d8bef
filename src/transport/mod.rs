//! Transports: where a message finally goes (SMTP to MX or smarthost, Maildir, webhook),
//! all behind one trait the scheduler calls.
//!
//! Owns: one delivery attempt for a group of recipients that share a destination.
//! Must not touch: the queue (the scheduler records the results), retry timing.
pub mod maildir;
pub mod smtp;
pub mod webhook;
pub mod xoauth2;

use crate::queue::{Content, Envelope};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One attempt: the recipients (indices into `env.recipients`) that go to one destination.
pub struct Job {
    pub env: Arc<Envelope>,
    /// The message, streamed from the queue by the transport.
    pub body: Content,
    pub rcpts: Vec<usize>,
    /// The destination's key, e.g. the recipient domain for MX delivery.
    pub destination: String,
    /// Envelope sender for these recipients when it is not the message's own (SRS for
    /// forwarded mail); every recipient of a job shares it.
    pub sender: Option<String>,
}

impl Job {
    /// The envelope sender to use: the job's override, else the message's.
    pub fn sender(&self) -> &str {
        self.sender.as_deref().unwrap_or(&self.env.mail_from)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Temporary failure: try again later.
    Deferred,
    /// Permanent failure: bounce.
    Failed,
}

/// What happened to one recipient, in the terms of a Postfix log line and a DSN.
#[derive(Debug, Clone)]
pub struct RcptResult {
    pub index: usize,
    pub verdict: Verdict,
    /// Enhanced status (RFC 3463) for the DSN Status field.
    pub status: (u8, u16, u16),
    /// Human text: "host mx.test[127.0.0.2] said: 550 5.1.1 ... (in reply to RCPT TO command)".
    pub text: String,
    /// The remote server's reply, as `smtp; 550 5.1.1 ...` for Diagnostic-Code.
    pub diagnostic: Option<String>,
    /// `mx.test[127.0.0.2]:25`, "maildir", the webhook URL...
    pub relay: String,
    /// Not tried at all (destination backing off): wait until this unix time, and do not
    /// count it as an attempt.
    pub retry_at: Option<u64>,
    /// SMTP only: which TLS policy applied (dane, mta-sts, opportunistic, ...), for the log.
    pub tls: Option<&'static str>,
}

/// The outcome of a job.
pub struct JobResult {
    pub rcpts: Vec<RcptResult>,
    /// The destination itself failed (unreachable, DNS trouble, greeting refused): the
    /// scheduler backs off the whole destination instead of hammering it per message.
    pub destination_failed: bool,
}

impl JobResult {
    /// The same verdict for every recipient of the job.
    pub fn all(job: &Job, verdict: Verdict, status: (u8, u16, u16), text: String, relay: &str) -> JobResult {
        let rcpts = job
            .rcpts
            .iter()
            .map(|&index| RcptResult {
                index,
                verdict,
                status,
                text: text.clone(),
                diagnostic: None,
                relay: relay.into(),
                retry_at: None,
                tls: None,
            })
            .collect();
        JobResult { rcpts, destination_failed: false }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Transport: Send + Sync {
    /// Name used in logs and metrics ("smtp", "maildir", "webhook").
    fn name(&self) -> &'static str;
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult>;
}
