//! The web UI's administrators: `data_dir/admins.toml` (`admin.file`), written by
//! `postern admin add` and read by the UI at each login (so a new admin needs no restart).
//! Mailbox owners are not listed here: they log in with their mailbox's own credentials.
//!
//! Owns: the file format (`[[admin]] name, password_hash, domains`), argon2id hashing of
//! admin passwords, and checking a login. Must not touch: the directory's accounts.
use crate::directory::password;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One administrator. No `domains`: a superadmin; otherwise a domain admin of those domains
/// (PostfixAdmin's `domain_admins`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAccount {
    pub name: String,
    pub password_hash: String,
    #[serde(default)]
    pub domains: Vec<String>,
}

impl std::fmt::Debug for AdminAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccount").field("name", &self.name).field("domains", &self.domains).finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminsFile {
    #[serde(default)]
    admin: Vec<AdminAccount>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// All administrators in `path` (none when the file does not exist).
pub fn load(path: &Path) -> Result<Vec<AdminAccount>, AdminsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(AdminsError::Read { path: path.display().to_string(), source }),
    };
    let file: AdminsFile = toml::from_str(&text).map_err(|e| AdminsError::Parse { path: path.display().to_string(), msg: e.to_string() })?;
    Ok(file.admin)
}

/// Adds an administrator or replaces one of the same name (new password, new domains).
/// Returns true when it replaced one.
pub fn add(path: &Path, name: &str, password: &str, domains: &[String]) -> Result<bool, AdminsError> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AdminsError::Invalid(format!("admin name {name:?}: one word without spaces")));
    }
    if password.is_empty() {
        return Err(AdminsError::Invalid("the password (stdin) is empty".into()));
    }
    let domains = domains
        .iter()
        .map(|d| crate::directory::admin::check_domain("domain", d).map_err(|e| AdminsError::Invalid(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = load(path)?;
    let entry = AdminAccount { name: name.to_string(), password_hash: password::hash(password), domains };
    let replaced = match all.iter_mut().find(|a| a.name == name) {
        Some(a) => {
            *a = entry;
            true
        }
        None => {
            all.push(entry);
            false
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| AdminsError::Write { path: dir.display().to_string(), source })?;
    }
    let text = toml::to_string(&AdminsFile { admin: all }).expect("admins serialize");
    crate::directory::users::write_private(path, text.as_bytes())
        .map_err(|source| AdminsError::Write { path: path.display().to_string(), source })?;
    Ok(replaced)
}

/// The administrator `name` when `password` is theirs. An unknown name costs the same time
/// as a wrong password. Runs the hash on the calling thread: call it from a blocking task.
pub fn verify(path: &Path, name: &str, password: &str) -> Result<Option<AdminAccount>, AdminsError> {
    let found = load(path)?.into_iter().find(|a| a.name == name);
    Ok(match found {
        Some(a) if password::verify(&a.password_hash, password) => Some(a),
        Some(_) => None,
        None => {
            password::verify(&password::DUMMY_HASH, password);
            None
        }
    })
}

/// Whether `name` is an administrator (a login name is looked up here before the directory).
pub fn exists(path: &Path, name: &str) -> Result<bool, AdminsError> {
    Ok(load(path)?.iter().any(|a| a.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_verify_and_replace() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("data/admins.toml");
        assert!(!add(&path, "root", "s3cret", &[]).unwrap());
        assert!(!add(&path, "ann", "pw", &["Example.ORG".into()]).unwrap());
        assert_eq!(verify(&path, "ann", "pw").unwrap().unwrap().domains, ["example.org"]);
        assert!(verify(&path, "ann", "wrong").unwrap().is_none());
        assert!(verify(&path, "nobody", "pw").unwrap().is_none());
        assert!(add(&path, "root", "new", &[]).unwrap());
        assert!(verify(&path, "root", "new").unwrap().is_some());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("$argon2id$") && !text.contains("s3cret"));
        assert!(add(&path, "two words", "pw", &[]).is_err());
        assert!(add(&path, "x", "pw", &["not a domain".into()]).is_err());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
