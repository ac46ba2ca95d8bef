//! SMTP AUTH accounts in a TOML file: `[[user]] name = "...", password_hash = "$argon2id$..."`.
//!
//! Only the CLI writes the file (atomically, mode 0600); the daemon reads it.
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("invalid user name {0:?}: use letters, digits and . _ - + @")]
    BadName(String),
    #[error("the password must not be empty")]
    EmptyPassword,
    #[error("no such user {0:?}")]
    NoSuchUser(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<UserEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password_hash: String,
}

/// The accounts, by name.
#[derive(Debug, Default, Clone)]
pub struct Users {
    by_name: BTreeMap<String, String>,
}

/// Verifying against this when the user is unknown keeps response time from telling
/// which user names exist.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash("not a real password"));

fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

impl Users {
    /// Reads the file; a missing file means no accounts.
    pub fn load(path: &Path) -> Result<Users, UserError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
            Err(source) => return Err(UserError::Read { path: path.display().to_string(), source }),
        };
        let file: UsersFile = toml::from_str(&text)
            .map_err(|e| UserError::Parse { path: path.display().to_string(), msg: e.to_string() })?;
        let mut by_name = BTreeMap::new();
        for u in file.user {
            PasswordHash::new(&u.password_hash).map_err(|e| UserError::Parse {
                path: path.display().to_string(),
                msg: format!("user {:?}: invalid password_hash: {e}", u.name),
            })?;
            by_name.insert(u.name, u.password_hash);
        }
        Ok(Users { by_name })
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Checks a password (CPU-heavy: call from a blocking thread).
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let (stored, exists) = match self.by_name.get(name) {
            Some(h) => (h.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && exists
    }

    /// Adds or replaces a user and writes the file.
    pub fn set_password(&mut self, path: &Path, name: &str, password: &str) -> Result<(), UserError> {
        let valid = !name.is_empty()
            && name.len() <= 256
            && name.chars().all(|c| c.is_alphanumeric() || ".-_+@".contains(c));
        if !valid {
            return Err(UserError::BadName(name.into()));
        }
        if password.is_empty() {
            return Err(UserError::EmptyPassword);
        }
        self.by_name.insert(name.into(), hash(password));
        self.save(path)
    }

    pub fn delete(&mut self, path: &Path, name: &str) -> Result<(), UserError> {
        self.by_name.remove(name).ok_or_else(|| UserError::NoSuchUser(name.into()))?;
        self.save(path)
    }

    fn save(&self, path: &Path) -> Result<(), UserError> {
        let file = UsersFile {
            user: self
                .by_name
                .iter()
                .map(|(n, h)| UserEntry { name: n.clone(), password_hash: h.clone() })
                .collect(),
        };
        let text = toml::to_string(&file).expect("users serialize");
        write_private(path, text.as_bytes())
            .map_err(|source| UserError::Write { path: path.display().to_string(), source })
    }
}

/// Writes via a temp file + fsync + rename, readable by the owner only.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_verify_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/users.toml");
        let mut u = Users::load(&path).unwrap();
        assert!(u.is_empty());
        u.set_password(&path, "alice", "s3cret").unwrap();
        let u2 = Users::load(&path).unwrap();
        assert!(u2.verify("alice", "s3cret"));
        assert!(!u2.verify("alice", "wrong"));
        assert!(!u2.verify("bob", "s3cret"));
        assert!(std::fs::read_to_string(&path).unwrap().contains("$argon2id$"));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let mut u3 = u2.clone();
        u3.delete(&path, "alice").unwrap();
        assert!(Users::load(&path).unwrap().is_empty());
        assert!(matches!(u3.delete(&path, "alice"), Err(UserError::NoSuchUser(_))));
    }

    #[test]
    fn bad_names_and_empty_passwords_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.toml");
        let mut u = Users::default();
        assert!(matches!(u.set_password(&path, "a b", "x"), Err(UserError::BadName(_))));
        assert!(matches!(u.set_password(&path, "a\"]\n", "x"), Err(UserError::BadName(_))));
        assert!(matches!(u.set_password(&path, "a", ""), Err(UserError::EmptyPassword)));
    }
}
