//! Maildir delivery for local domains: `data_dir/mail/DOMAIN/USER/{tmp,new,cur}`.
//!
//! Each message is written to tmp/ with a unique name, fsynced, then renamed into new/
//! (the directory is fsynced too), so a reader never sees a partial message and a crash
//! never loses an acknowledged one.
use super::{BoxFuture, Job, JobResult, RcptResult, Transport, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct MaildirTransport {
    root: PathBuf,
    hostname: String,
}

impl MaildirTransport {
    pub fn new(data_dir: &Path, hostname: &str) -> MaildirTransport {
        MaildirTransport { root: data_dir.join("mail"), hostname: hostname.replace(['/', ':'], "_") }
    }

    /// The mailbox directory for an address, or None when the address cannot name one safely.
    pub fn mailbox(&self, address: &str) -> Option<PathBuf> {
        let (local, domain) = address.rsplit_once('@')?;
        let safe = |s: &str| {
            !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.chars().any(char::is_control)
        };
        let (local, domain) = (local.to_lowercase(), domain.to_ascii_lowercase());
        (safe(&local) && safe(&domain)).then(|| self.root.join(domain).join(local))
    }

    fn deliver_one(&self, job: &Job, index: usize) -> RcptResult {
        let rcpt = &job.env.recipients[index];
        let outcome = match self.mailbox(&rcpt.address) {
            None => Err((Verdict::Failed, (5, 1, 3), format!("cannot deliver to {:?}: invalid mailbox name", rcpt.address))),
            Some(dir) => self.write(&dir, &job.env.mail_from, &rcpt.address, &job.body).map_err(|e| {
                let full = matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT));
                (Verdict::Deferred, if full { (4, 2, 2) } else { (4, 3, 0) }, format!("cannot write to {}: {e}", dir.display()))
            }),
        };
        let (verdict, status, text) = match outcome {
            Ok(file) => (Verdict::Delivered, (2, 0, 0), format!("delivered to maildir {}", file.display())),
            Err(x) => x,
        };
        RcptResult { index, verdict, status, text, diagnostic: None, relay: "maildir".into(), retry_at: None }
    }

    fn write(&self, dir: &Path, sender: &str, rcpt: &str, body: &[u8]) -> std::io::Result<PathBuf> {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            self.hostname
        );
        let tmp = dir.join("tmp").join(&name);
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n").as_bytes())?;
        f.write_all(body)?;
        f.sync_all()?;
        let new = dir.join("new").join(&name);
        std::fs::rename(&tmp, &new)?;
        std::fs::File::open(dir.join("new"))?.sync_all()?;
        Ok(new)
    }
}

impl Transport for MaildirTransport {
    fn name(&self) -> &'static str {
        "maildir"
    }
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult> {
        // fsync blocks: run on the blocking pool with owned copies.
        let this = MaildirTransport { root: self.root.clone(), hostname: self.hostname.clone() };
        let job = Job { env: job.env.clone(), body: job.body.clone(), rcpts: job.rcpts.clone(), destination: job.destination.clone() };
        Box::pin(async move {
            let indices = job.rcpts.clone();
            let done = tokio::task::spawn_blocking(move || job.rcpts.iter().map(|&i| this.deliver_one(&job, i)).collect());
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
