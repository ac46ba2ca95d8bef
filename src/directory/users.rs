//! SMTP AUTH accounts in a TOML file: `[[user]] name = "...", password_hash = "$argon2id$..."`,
//! plus, for the daemon, the accounts of `users.accounts_file` (docker-mailserver's
//! `address|{SCHEME}hash` lines) and of the environment (ENABLE_SASL).
//!
//! Only the CLI writes the TOML file (atomically, mode 0600); the daemon reads it.
use super::password;
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
    /// The TOML file's accounts (the only ones `save` writes back).
    by_name: BTreeMap<String, String>,
    /// Accounts from the accounts file; they win over the TOML file.
    extra: BTreeMap<String, String>,
    /// Accounts from the environment, hashed once at start; they win over both files.
    env: BTreeMap<String, String>,
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
            password::parse(&u.password_hash).map_err(|e| UserError::Parse {
                path: path.display().to_string(),
                msg: format!("user {:?}: invalid password_hash: {e}", u.name),
            })?;
            by_name.insert(u.name, u.password_hash);
        }
        Ok(Users { by_name, ..Users::default() })
    }

    /// What the daemon serves: the TOML file, the accounts file, then the environment's
    /// accounts (hashed with argon2id on the first load, reused from `previous` after).
    pub fn load_all(cfg: &crate::config::Users, previous: Option<&Users>) -> Result<Users, UserError> {
        let mut users = Users::load(&cfg.file)?;
        if let Some(path) = &cfg.accounts_file {
            users.extra = read_accounts_file(path)?;
        }
        users.env = match previous {
            Some(p) if p.env.len() == cfg.env_accounts.len() => p.env.clone(),
            _ => cfg.env_accounts.iter().map(|a| (a.name.clone(), password::hash(&a.password))).collect(),
        };
        Ok(users)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.extra.is_empty() && self.env.is_empty()
    }

    /// Every account name, once.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let all: std::collections::BTreeSet<&str> =
            self.by_name.keys().chain(self.extra.keys()).chain(self.env.keys()).map(String::as_str).collect();
        all.into_iter()
    }

    /// The stored hash of `name`: the environment's, then the accounts file's, then the
    /// TOML file's.
    pub fn hash(&self, name: &str) -> Option<&str> {
        self.env.get(name).or_else(|| self.extra.get(name)).or_else(|| self.by_name.get(name)).map(String::as_str)
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
        self.by_name.insert(name.into(), password::hash(password));
        self.save(path)
    }

    /// Adds or replaces a user with an already made hash and writes the file.
    pub fn set_hash(&mut self, path: &Path, name: &str, hash: String) -> Result<(), UserError> {
        password::parse(&hash).map_err(|e| UserError::Parse { path: path.display().to_string(), msg: e })?;
        self.by_name.insert(name.into(), hash);
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

/// `address|{SCHEME}hash` or `address|password` per line (docker-mailserver's
/// postfix-accounts.cf; fields after a second `|` are ignored); `#` comments and blank
/// lines skipped. A bare password is kept as `{PLAIN}` and compared in constant time.
fn read_accounts_file(path: &Path) -> Result<BTreeMap<String, String>, UserError> {
    let text = std::fs::read_to_string(path).map_err(|source| UserError::Read { path: path.display().to_string(), source })?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let bad = |msg: String| UserError::Parse { path: path.display().to_string(), msg: format!("line {}: {msg}", n + 1) };
        let mut fields = line.split('|');
        let name = fields.next().unwrap_or("").trim();
        let secret = fields.next().ok_or_else(|| bad("expected address|password".into()))?;
        if name.is_empty() || secret.is_empty() {
            return Err(bad("expected address|password".into()));
        }
        let stored = if secret.starts_with('{') || secret.starts_with('$') {
            password::parse(secret).map_err(|e| bad(format!("{name}: {e}")))?;
            secret.to_string()
        } else {
            format!("{{PLAIN}}{secret}")
        };
        out.insert(name.to_string(), stored);
    }
    Ok(out)
}

/// Writes via a temp file + fsync + rename, readable by the owner only.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
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

    /// Does `password` match `name`'s stored hash?
    fn verify(u: &Users, name: &str, pw: &str) -> bool {
        u.hash(name).is_some_and(|h| password::verify(h, pw))
    }

    #[test]
    fn add_verify_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/users.toml");
        let mut u = Users::load(&path).unwrap();
        assert!(u.is_empty());
        u.set_password(&path, "alice", "s3cret").unwrap();
        let u2 = Users::load(&path).unwrap();
        assert!(verify(&u2, "alice", "s3cret"));
        assert!(!verify(&u2, "alice", "wrong"));
        assert!(!verify(&u2, "bob", "s3cret"));
        assert!(std::fs::read_to_string(&path).unwrap().contains("$argon2id$"));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let mut u3 = u2.clone();
        u3.delete(&path, "alice").unwrap();
        assert!(Users::load(&path).unwrap().is_empty());
        assert!(matches!(u3.delete(&path, "alice"), Err(UserError::NoSuchUser(_))));
    }

    #[test]
    fn accounts_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postfix-accounts.cf");
        let sha512 = "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/";
        std::fs::write(&file, format!("# accounts\nuser1@example.com|{{SHA512-CRYPT}}{sha512}\nuser2@example.com|plain pw\n\n")).unwrap();
        let cfg = crate::config::Users {
            file: dir.path().join("users.toml"),
            accounts_file: Some(file.clone()),
            env_accounts: vec![crate::config::EnvAccount { name: "app".into(), password: "s3".into() }],
        };
        let u = Users::load_all(&cfg, None).unwrap();
        assert!(verify(&u, "user1@example.com", "pw") && !verify(&u, "user1@example.com", "x"));
        assert!(verify(&u, "user2@example.com", "plain pw"));
        assert!(verify(&u, "app", "s3") && !verify(&u, "app", "s4"));
        assert_eq!(u.names().count(), 3);
        let again = Users::load_all(&cfg, Some(&u)).unwrap();
        assert_eq!(again.env, u.env, "environment hashes are reused on reload");
        std::fs::write(&file, "user3|{MD4}x\n").unwrap();
        let e = Users::load_all(&cfg, None).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("MD4"), "{e}");
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
