//! Maildir delivery for local domains: `data_dir/mail/DOMAIN/USER/{tmp,new,cur}`.
//!
//! Each message is copied (from the queue's memory or body file) to tmp/ with a unique
//! name, fsynced, then renamed into new/
//! (the directory is fsynced too), so a reader never sees a partial message and a crash
//! never loses an acknowledged one. File names carry the size (`,S=`, Maildir++), which is
//! what the per-mailbox quota counts; a `maildirsize` (Maildir++) gets a delta line and
//! IDLE sessions are woken (`mailstore::changes`). The mailbox comes from the directory
//! (`user+tag@d` lands in `user`'s Maildir when only `user@d` is listed).
use super::{BoxFuture, Job, JobResult, RcptResult, Transport, Verdict};
use crate::config::QuotaFull;
use crate::directory::{Directory, Mailbox, Unavailable};
use crate::mailstore;
use crate::queue::Content;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Clone)]
pub struct MaildirTransport {
    directory: Arc<Directory>,
    hostname: String,
}

/// Does the header section already carry `Delivered-To: rcpt`? Then this is a loop.
fn already_delivered(body: &[u8], rcpt: &str) -> bool {
    let end = memchr::memmem::find(body, b"\r\n\r\n").unwrap_or(body.len());
    let needle = format!("delivered-to: {}", rcpt.to_lowercase());
    body[..end]
        .split(|b| *b == b'\n')
        .any(|line| String::from_utf8_lossy(line).trim_end().to_lowercase() == needle)
}

type Outcome = Result<PathBuf, (Verdict, (u8, u16, u16), String)>;

impl MaildirTransport {
    pub fn new(directory: Arc<Directory>, hostname: &str) -> MaildirTransport {
        MaildirTransport { directory, hostname: hostname.replace(['/', ':', ','], "_") }
    }

    /// `mailbox`: what the directory said for this recipient (looked up before the
    /// blocking write).
    fn deliver_one(&self, mailbox: Result<Option<Mailbox>, Unavailable>, job: &Job, index: usize) -> RcptResult {
        let (verdict, status, text) = match self.try_one(mailbox, job, index) {
            Ok(file) => (Verdict::Delivered, (2, 0, 0), format!("delivered to maildir {}", file.display())),
            Err(x) => x,
        };
        RcptResult { index, verdict, status, text, diagnostic: None, relay: "maildir".into(), retry_at: None }
    }

    fn try_one(&self, mailbox: Result<Option<Mailbox>, Unavailable>, job: &Job, index: usize) -> Outcome {
        let rcpt = &job.env.recipients[index];
        let root = self.directory.mail_root();
        let mailbox = match mailbox {
            Ok(Some(m)) => m,
            Ok(None) => return Err((Verdict::Failed, (5, 1, 1), format!("unknown user: \"{}\"", rcpt.address))),
            Err(e) => return Err((Verdict::Deferred, (4, 4, 3), e.to_string())),
        };
        let Some(dir) = mailbox.dir(root) else {
            return Err((Verdict::Failed, (5, 1, 3), format!("cannot deliver to {:?}: invalid mailbox name", rcpt.address)));
        };
        // The header section is within the head, or (a queue from before bodies had
        // heads) at the start of the tail: the first bytes are enough.
        let start = job.body.prefix(job.body.head.len() + crate::queue::HEADER_MAX).map_err(|e| {
            (Verdict::Deferred, (4, 3, 0), format!("cannot read the queued message: {e}"))
        })?;
        if already_delivered(&start, &rcpt.address) {
            return Err((Verdict::Failed, (5, 4, 6), format!("mail forwarding loop for {}", rcpt.address)));
        }
        let header = self.trace_header(job, index);
        let size = header.len() as u64 + job.body.len();
        if mailbox.over_quota(root, size) {
            let text = format!("mailbox {} is full (quota {} bytes)", mailbox.address, mailbox.quota);
            return Err(match self.directory.quota_full() {
                QuotaFull::Reject => (Verdict::Failed, (5, 2, 2), text),
                QuotaFull::Defer => (Verdict::Deferred, (4, 2, 2), text),
            });
        }
        let file = write(&dir, &self.hostname, header.as_bytes(), &job.body, size).map_err(|e| {
            let full = matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT));
            (Verdict::Deferred, if full { (4, 2, 2) } else { (4, 3, 0) }, format!("cannot write to {}: {e}", dir.display()))
        })?;
        // Maildir++ quota bookkeeping (a delta line, only when `maildirsize` exists) and
        // a wake-up for IDLE sessions on this INBOX.
        mailstore::record_delivery(&dir, size);
        mailstore::changes::notify(&dir);
        Ok(file)
    }

    /// Return-Path, Delivered-To and (for mail that came through an alias or with ORCPT)
    /// X-Original-To, as Postfix's virtual delivery agent writes them.
    fn trace_header(&self, job: &Job, index: usize) -> String {
        let rcpt = &job.env.recipients[index];
        let mut h = format!("Return-Path: <{}>\r\nDelivered-To: {}\r\n", job.sender(), rcpt.address);
        if let Some(orig) = rcpt.orcpt.as_deref().and_then(|o| o.split_once(';')).map(|(_, a)| a)
            && !orig.eq_ignore_ascii_case(&rcpt.address)
            && !orig.contains(['\r', '\n'])
        {
            h.push_str(&format!("X-Original-To: {orig}\r\n"));
        }
        h
    }
}

fn write(dir: &Path, hostname: &str, header: &[u8], body: &Content, size: u64) -> std::io::Result<PathBuf> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let name = format!(
        "{}.M{}P{}Q{}.{hostname},S={size}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    );
    let tmp = dir.join("tmp").join(&name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(header)?;
    body.copy_to(&mut f)?;
    f.sync_all()?;
    let new = dir.join("new").join(&name);
    std::fs::rename(&tmp, &new)?;
    std::fs::File::open(dir.join("new"))?.sync_all()?;
    Ok(new)
}

impl Transport for MaildirTransport {
    fn name(&self) -> &'static str {
        "maildir"
    }
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult> {
        // fsync blocks: run on the blocking pool with owned copies.
        let this = self.clone();
        let job = Job { env: job.env.clone(), body: job.body.clone(), rcpts: job.rcpts.clone(), destination: job.destination.clone(), sender: job.sender.clone() };
        Box::pin(async move {
            let indices = job.rcpts.clone();
            let mut mailboxes = Vec::with_capacity(indices.len());
            for &i in &indices {
                mailboxes.push(this.directory.mailbox_for(&job.env.recipients[i].address).await);
            }
            let done = tokio::task::spawn_blocking(move || {
                job.rcpts.iter().zip(mailboxes).map(|(&i, m)| this.deliver_one(m, &job, i)).collect()
            });
            let rcpts = done.await.unwrap_or_else(|e| {
                indices
                    .iter()
                    .map(|&index| RcptResult { index, verdict: Verdict::Deferred, status: (4, 3, 0), text: format!("maildir delivery failed: {e}"), diagnostic: None, relay: "maildir".into(), retry_at: None })
                    .collect()
            });
            JobResult { rcpts, destination_failed: false }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_are_seen_in_headers_only() {
        let body = b"Delivered-To: A@example.com\r\nSubject: x\r\n\r\nDelivered-To: b@example.com\r\n";
        assert!(already_delivered(body, "a@example.com"));
        assert!(!already_delivered(body, "b@example.com"));
    }
}
