//! TLS reporting (RFC 8460), the recording half: one line per outbound TLS session attempt
//! (policy domain, policy applied, MX host, success or the RFC 8460 §4.3 result type),
//! appended to `data_dir/tlsrpt/sessions.jsonl`, so the counts survive a restart.
//!
//! Owns: the session record and its file. Must not touch: aggregation and sending
//! (delivery::tlsrpt), the SMTP dialogue (the transport reports what happened).
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::client::ClientError;

/// The recording file stops growing here (a report run empties it); later sessions are
/// dropped with a warning rather than filling the disk.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
pub const SESSIONS_FILE: &str = "sessions.jsonl";

/// RFC 8460 §4.4 policy-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PolicyType {
    #[serde(rename = "tlsa")]
    Tlsa,
    #[serde(rename = "sts")]
    Sts,
    #[serde(rename = "no-policy-found")]
    NoPolicyFound,
}

/// The policy a session ran under, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReportPolicy {
    pub policy_type: PolicyType,
    /// TLSA records in presentation form, or the MTA-STS policy's lines.
    pub policy_string: Vec<String>,
}

impl ReportPolicy {
    pub fn none() -> ReportPolicy {
        ReportPolicy { policy_type: PolicyType::NoPolicyFound, policy_string: Vec::new() }
    }
}

/// One outbound TLS session attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Unix seconds.
    pub at: u64,
    /// The policy domain: the recipient domain.
    pub domain: String,
    pub policy: ReportPolicy,
    pub mx_host: String,
    /// The receiving IP, when a connection was made.
    pub ip: Option<String>,
    /// `None`: success; otherwise the RFC 8460 result-type.
    pub failure: Option<String>,
    /// Free text for failure-details' additional-information.
    pub detail: Option<String>,
}

/// The RFC 8460 §4.3 result-type of a failed session, or `None` when `e` is not a TLS
/// failure (connection refused, a 4xx reply: not counted as a TLS session).
pub fn failure_type(e: &ClientError) -> Option<&'static str> {
    match e {
        ClientError::TlsNotOffered { .. } => Some("starttls-not-supported"),
        ClientError::TlsFailed { reason, .. } => Some(certificate_failure(reason)),
        _ => None,
    }
}

/// Sorts a handshake failure text (rustls/webpki wording) into the RFC 8460 types.
fn certificate_failure(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("not valid for name") {
        "certificate-host-mismatch"
    } else if r.contains("expired") {
        "certificate-expired"
    } else if r.contains("unknownissuer") || r.contains("unknown issuer") || r.contains("not trusted") {
        "certificate-not-trusted"
    } else {
        "validation-failure"
    }
}

/// Appends session records to `dir/sessions.jsonl`.
pub struct SessionLog {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl SessionLog {
    pub fn new(dir: &Path) -> std::io::Result<SessionLog> {
        std::fs::create_dir_all(dir)?;
        Ok(SessionLog { dir: dir.to_path_buf(), lock: Mutex::new(()) })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records one session; an I/O error is logged, never fails delivery.
    pub fn record(&self, rec: &SessionRecord) {
        let _guard = self.lock.lock().unwrap();
        let path = self.dir.join(SESSIONS_FILE);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
            tracing::warn!(domain = %rec.domain, "TLS-RPT session file full; session not recorded");
            return;
        }
        let mut line = serde_json::to_vec(rec).expect("session record serializes");
        line.push(b'\n');
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&line));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot record TLS-RPT session");
        }
    }

    /// Moves the records collected so far aside for a report run (new sessions start a
    /// fresh file) and returns every batch waiting to be reported, oldest first.
    pub fn take_batches(&self, now: u64) -> std::io::Result<Vec<PathBuf>> {
        let _guard = self.lock.lock().unwrap();
        let current = self.dir.join(SESSIONS_FILE);
        if current.exists() {
            std::fs::rename(&current, self.dir.join(format!("batch-{now}.jsonl")))?;
        }
        let mut batches: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("batch-") && n.ends_with(".jsonl")))
            .collect();
        batches.sort();
        Ok(batches)
    }
}

/// Reads a batch file; lines that do not parse (a torn last line after a crash) are skipped.
pub fn read_batch(path: &Path) -> std::io::Result<Vec<SessionRecord>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_types_from_handshake_texts() {
        assert_eq!(certificate_failure("invalid peer certificate: certificate not valid for name \"x\""), "certificate-host-mismatch");
        assert_eq!(certificate_failure("invalid peer certificate: Expired"), "certificate-expired");
        assert_eq!(certificate_failure("invalid peer certificate: UnknownIssuer"), "certificate-not-trusted");
        assert_eq!(certificate_failure("invalid peer certificate: DANE: no TLSA record matches"), "validation-failure");
    }

    #[test]
    fn records_survive_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let log = SessionLog::new(dir.path()).unwrap();
        let rec = |failure: Option<&str>| SessionRecord {
            at: 1,
            domain: "example.com".into(),
            policy: ReportPolicy::none(),
            mx_host: "mx.example.com".into(),
            ip: Some("192.0.2.1".into()),
            failure: failure.map(str::to_string),
            detail: None,
        };
        log.record(&rec(None));
        log.record(&rec(Some("starttls-not-supported")));
        let batches = log.take_batches(100).unwrap();
        assert_eq!(batches.len(), 1);
        log.record(&rec(None)); // after the move: the next batch
        let got = read_batch(&batches[0]).unwrap();
        assert_eq!(got, vec![rec(None), rec(Some("starttls-not-supported"))]);
        // A second logger on the same directory (a restart) sees the waiting batch too.
        let again = SessionLog::new(dir.path()).unwrap().take_batches(200).unwrap();
        assert_eq!(again.len(), 2);
    }
}
