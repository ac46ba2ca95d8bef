//! What ACME keeps under `data_dir/acme/`: the account credentials per CA directory
//! (`account-HASH.json`, 0600), the certificate and key per set of names
//! (`certs/FIRSTNAME-HASH/cert.pem`, `key.pem` 0600) and `status.json` for `postern acme
//! status`. Every file is written whole (temp file, fsync, rename): a crash leaves the old
//! file or the new one, never half of one.
use super::x509::CertInfo;
use crate::config::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub fn root(cfg: &Config) -> PathBuf {
    cfg.server.data_dir.join("acme")
}

fn short_hash(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The account is per CA directory: moving from a staging to a production CA makes a new one.
pub fn account_path(cfg: &Config) -> PathBuf {
    root(cfg).join(format!("account-{}.json", short_hash(cfg.acme.directory.trim())))
}

/// The directory of the certificate for the configured set of names.
pub fn cert_dir(cfg: &Config) -> PathBuf {
    let domains = cfg.acme_domains();
    let mut sorted = domains.clone();
    sorted.sort();
    let first = domains.first().map(String::as_str).unwrap_or("none");
    root(cfg).join("certs").join(format!("{first}-{}", short_hash(&sorted.join(","))))
}

pub fn cert_paths(cfg: &Config) -> (PathBuf, PathBuf) {
    let dir = cert_dir(cfg);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

pub fn status_path(cfg: &Config) -> PathBuf {
    root(cfg).join("status.json")
}

/// Writes `data` to `path` atomically with the given mode.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().expect("stored files have a parent directory");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The issued certificate, when it exists, parses, has not expired and matches its key
/// (anything else is reissued at once).
pub fn current(cfg: &Config, now: i64) -> Option<(PathBuf, PathBuf, CertInfo)> {
    if !cfg.acme.enabled() {
        return None;
    }
    let (cert, key) = cert_paths(cfg);
    let info = super::x509::parse_pem(&std::fs::read(&cert).ok()?)?;
    (info.not_after > now && pair_matches(&cert, &key)).then_some((cert, key, info))
}

fn pair_matches(cert: &Path, key: &Path) -> bool {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Option<Vec<CertificateDer<'static>>> = CertificateDer::pem_file_iter(cert).ok().and_then(|it| it.collect::<Result<_, _>>().ok());
    let (Some(chain), Ok(key)) = (chain, PrivateKeyDer::from_pem_file(key)) else { return false };
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, key, &provider).is_ok_and(|ck| ck.keys_match().is_ok())
}

/// What `postern acme status` shows; rewritten by the daemon after every step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub directory: String,
    pub challenge: String,
    pub domains: Vec<String>,
    pub issuer: Option<String>,
    pub serial: Option<String>,
    /// Unix seconds.
    pub not_after: Option<i64>,
    pub next_attempt: Option<i64>,
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub failures: u32,
}

pub fn read_status(cfg: &Config) -> Option<Status> {
    serde_json::from_slice(&std::fs::read(status_path(cfg)).ok()?).ok()
}

pub fn write_status(cfg: &Config, s: &Status) {
    let json = serde_json::to_vec_pretty(s).expect("status serializes");
    if let Err(e) = write_atomic(&status_path(cfg), &json, 0o644) {
        tracing::warn!(error = %e, "acme: cannot write status.json");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/key.pem");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn a_certificate_counts_only_with_its_own_key_and_before_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        c.server.data_dir = dir.path().into();
        c.server.hostname = "mx.example.com".into();
        assert!(current(&c, 0).is_none(), "ACME off");
        c.acme.directory = "https://ca.example/dir".into();
        assert!(current(&c, 0).is_none(), "nothing stored");
        let mut params = rcgen::CertificateParams::new(vec!["mx.example.com".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (cp, kp) = cert_paths(&c);
        write_atomic(&cp, cert.pem().as_bytes(), 0o644).unwrap();
        write_atomic(&kp, rcgen::KeyPair::generate().unwrap().serialize_pem().as_bytes(), 0o600).unwrap();
        assert!(current(&c, 0).is_none(), "another key");
        write_atomic(&kp, key.serialize_pem().as_bytes(), 0o600).unwrap();
        assert!(current(&c, 0).is_some());
        assert!(current(&c, 2208988800).is_none(), "expired on 2040-01-01");
    }

    #[test]
    fn paths_follow_the_name_set_and_the_ca() {
        let mut c = Config::default();
        c.server.data_dir = "/d".into();
        c.server.hostname = "mx.example.com".into();
        c.acme.directory = "https://ca.example/dir".into();
        let first = cert_dir(&c);
        assert!(first.to_string_lossy().starts_with("/d/acme/certs/mx.example.com-"), "{first:?}");
        c.acme.domains = vec!["mx.example.com".into(), "smtp.example.com".into()];
        assert_ne!(cert_dir(&c), first);
        let account = account_path(&c);
        c.acme.directory = "https://staging.ca.example/dir".into();
        assert_ne!(account_path(&c), account);
    }
}
