//! `Admin` for the files backend: rewrites `mailboxes.file` (`[[domain]]`, `[[mailbox]]`),
//! `aliases.file` and `users.file` (a mailbox's password), each atomically (a temporary
//! file renamed over it). The daemon notices each change by itself. Comments in these
//! files are not kept (as with `postern user add`).
use super::admin::{self, Admin, AdminError, AliasDomainEntry, AliasEntry, Change, DomainEntry, MailboxEntry};
use super::files::FilesBackend;
use super::mailboxes::{Entry, File};
use super::{Users, normalize, normalize_domain};
use std::path::Path;

fn failed(path: &Path, e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Result<String, AdminError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(failed(path, e)),
    }
}

/// Writes `text` to `path` through a temporary file in the same directory.
fn write(path: &Path, text: &str) -> Result<(), AdminError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("directory")));
    std::fs::write(&tmp, text).map_err(|e| failed(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| failed(path, e))
}

impl FilesBackend {
    fn mailbox_file(&self) -> Result<File, AdminError> {
        let p = self.mailboxes_path();
        File::parse(&read(p)?, p).map_err(|e| AdminError::Failed(e.to_string()))
    }

    fn save_mailboxes(&self, f: &File) -> Result<(), AdminError> {
        let text = toml::to_string(f).map_err(|e| AdminError::Failed(e.to_string()))?;
        write(self.mailboxes_path(), &text)
    }

    fn alias_table(&self) -> Result<toml::Table, AdminError> {
        let p = self.aliases_path();
        read(p)?.parse().map_err(|e: toml::de::Error| failed(p, e))
    }

    fn save_aliases(&self, t: &toml::Table) -> Result<(), AdminError> {
        write(self.aliases_path(), &toml::to_string(t).map_err(|e| AdminError::Failed(e.to_string()))?)
    }

    fn domain_known(&self, f: &File, domain: &str) -> bool {
        self.config_domains.iter().any(|d| normalize_domain(d) == domain) || f.domain.iter().any(|d| normalize_domain(&d.domain) == domain)
    }

    fn need_domain(&self, f: &File, domain: &str) -> Result<(), AdminError> {
        if self.domain_known(f, domain) {
            Ok(())
        } else {
            Err(admin::invalid("address", format!("domain {domain} does not exist (postern domain add {domain})")))
        }
    }

    fn edit_users(&self, change: impl FnOnce(&mut Users, &Path) -> Result<(), super::UserError>) -> Result<(), AdminError> {
        let path = self.users_path();
        let mut users = Users::load(path).map_err(|e| AdminError::Failed(e.to_string()))?;
        change(&mut users, path).map_err(|e| AdminError::Failed(e.to_string()))
    }

    fn done<T>(&self, r: Result<T, AdminError>) -> Result<T, AdminError> {
        self.reload_now();
        r
    }
}

fn targets_of(v: &toml::Value) -> Vec<String> {
    match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn in_domain(address: &str, domain: Option<&str>) -> bool {
    domain.is_none_or(|d| address.rsplit_once('@').is_some_and(|(_, ad)| normalize_domain(ad) == d))
}

impl Admin for FilesBackend {
    fn domains(&self) -> Change<'_, Vec<DomainEntry>> {
        Box::pin(async move {
            let f = self.mailbox_file()?;
            let mut out: Vec<DomainEntry> = self
                .config_domains
                .iter()
                .map(|d| DomainEntry { description: "relay.local_domains".into(), ..DomainEntry::new(normalize_domain(d)) })
                .collect();
            let from_config: Vec<String> = out.iter().map(|o| o.domain.clone()).collect();
            out.extend(f.domain.into_iter().filter(|d| !from_config.contains(&normalize_domain(&d.domain))));
            out.sort_by(|a, b| a.domain.cmp(&b.domain));
            Ok(out)
        })
    }

    fn create_domain(&self, d: DomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", &d.domain)?;
            let mut f = self.mailbox_file()?;
            if self.domain_known(&f, &name) {
                return Err(AdminError::Exists(format!("domain {name}")));
            }
            f.domain.push(DomainEntry { domain: name, ..d });
            self.done(self.save_mailboxes(&f))
        })
    }

    fn update_domain(&self, d: DomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", &d.domain)?;
            let mut f = self.mailbox_file()?;
            let Some(e) = f.domain.iter_mut().find(|e| normalize_domain(&e.domain) == name) else {
                return Err(self.config_or_missing(&name));
            };
            *e = DomainEntry { domain: name, ..d };
            self.done(self.save_mailboxes(&f))
        })
    }

    fn delete_domain<'a>(&'a self, domain: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", domain)?;
            let mut f = self.mailbox_file()?;
            let Some(i) = f.domain.iter().position(|e| normalize_domain(&e.domain) == name) else {
                return Err(self.config_or_missing(&name));
            };
            let used = f.mailbox.iter().filter(|m| in_domain(&m.address, Some(&name))).count()
                + self.alias_table()?.keys().filter(|a| in_domain(a, Some(&name)) || a.strip_prefix('@') == Some(&name)).count();
            if used > 0 {
                return Err(admin::invalid("domain", format!("{name} still has {used} mailboxes or aliases; delete them first")));
            }
            if let Some(a) = f.alias_domain.iter().find(|a| normalize_domain(&a.alias_domain) == name || normalize_domain(&a.target_domain) == name) {
                return Err(admin::invalid("domain", format!("{name} is used by the alias domain {} -> {}; delete that first", a.alias_domain, a.target_domain)));
            }
            f.domain.remove(i);
            self.done(self.save_mailboxes(&f))
        })
    }

    fn mailboxes<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<MailboxEntry>> {
        Box::pin(async move {
            let d = domain.map(|d| admin::check_domain("domain", d)).transpose()?;
            let f = self.mailbox_file()?;
            Ok(f.mailbox
                .into_iter()
                .filter(|m| in_domain(&m.address, d.as_deref()))
                .map(|m| {
                    let key = normalize(&m.address);
                    let maildir = key.rsplit_once('@').map(|(l, d)| format!("{d}/{l}/"));
                    MailboxEntry { address: key, name: m.name, quota: m.quota, active: m.active, maildir }
                })
                .collect())
        })
    }

    fn create_mailbox(&self, m: MailboxEntry, password_hash: String) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, domain) = admin::check_mailbox(&m)?;
            let mut f = self.mailbox_file()?;
            self.need_domain(&f, &domain)?;
            let users = Users::load(self.users_path()).map_err(|e| AdminError::Failed(e.to_string()))?;
            if f.mailbox.iter().any(|e| normalize(&e.address) == address)
                || self.alias_table()?.contains_key(&address)
                || users.hash(&address).is_some()
            {
                return Err(AdminError::Exists(address));
            }
            // The mailbox first: a failure in between leaves a mailbox nobody can log in to,
            // never a login without its mailbox.
            f.mailbox.push(Entry { address: address.clone(), quota: m.quota, name: m.name, active: m.active });
            self.save_mailboxes(&f)?;
            let r = if password_hash.is_empty() { Ok(()) } else { self.edit_users(|u, p| u.set_hash(p, &address, password_hash)) };
            self.done(r)
        })
    }

    fn update_mailbox(&self, m: MailboxEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_mailbox(&m)?;
            let mut f = self.mailbox_file()?;
            let Some(e) = f.mailbox.iter_mut().find(|e| normalize(&e.address) == address) else {
                return Err(AdminError::NotFound(format!("mailbox {address}")));
            };
            (e.quota, e.name, e.active) = (m.quota, m.name, m.active);
            self.done(self.save_mailboxes(&f))
        })
    }

    fn set_password<'a>(&'a self, address: &'a str, password_hash: String) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            if !self.mailbox_file()?.mailbox.iter().any(|e| normalize(&e.address) == address) {
                return Err(AdminError::NotFound(format!("mailbox {address}")));
            }
            let r = self.edit_users(|u, p| u.set_hash(p, &address, password_hash));
            self.done(r)
        })
    }

    fn delete_mailbox<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            let mut f = self.mailbox_file()?;
            let before = f.mailbox.len();
            f.mailbox.retain(|e| normalize(&e.address) != address);
            if f.mailbox.len() == before {
                return Err(AdminError::NotFound(format!("mailbox {address}")));
            }
            self.save_mailboxes(&f)?;
            let r = self.edit_users(|u, p| match u.delete(p, &address) {
                Err(super::UserError::NoSuchUser(_)) => Ok(()),
                other => other,
            });
            self.done(r)
        })
    }

    fn password_hash<'a>(&'a self, address: &'a str) -> Change<'a, Option<String>> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            let users = Users::load(self.users_path()).map_err(|e| AdminError::Failed(e.to_string()))?;
            Ok(users.hash(&address).map(str::to_string))
        })
    }

    fn aliases<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<AliasEntry>> {
        Box::pin(async move {
            let d = domain.map(|d| admin::check_domain("domain", d)).transpose()?;
            let t = self.alias_table()?;
            Ok(t.iter()
                .filter(|(a, _)| in_domain(a, d.as_deref()))
                .map(|(a, v)| AliasEntry { address: a.clone(), targets: targets_of(v), active: true })
                .collect())
        })
    }

    fn create_alias(&self, a: AliasEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, domain) = admin::check_alias_address(&a.address)?;
            let targets = admin::check_targets(&address, &a.targets)?;
            if !a.active {
                return Err(admin::invalid("active", "the files backend keeps no inactive aliases"));
            }
            self.need_domain(&self.mailbox_file()?, &domain)?;
            let mut t = self.alias_table()?;
            if t.keys().any(|k| normalize_key(k) == address) {
                return Err(AdminError::Exists(format!("alias {address}")));
            }
            t.insert(address, toml::Value::Array(targets.into_iter().map(toml::Value::String).collect()));
            self.done(self.save_aliases(&t))
        })
    }

    fn update_alias(&self, a: AliasEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_alias_address(&a.address)?;
            let targets = admin::check_targets(&address, &a.targets)?;
            let mut t = self.alias_table()?;
            let Some(key) = t.keys().find(|k| normalize_key(k) == address).cloned() else {
                return Err(AdminError::NotFound(format!("alias {address}")));
            };
            if !a.active {
                return Err(admin::invalid("active", "the files backend keeps no inactive aliases (delete it instead)"));
            }
            t.insert(key, toml::Value::Array(targets.into_iter().map(toml::Value::String).collect()));
            self.done(self.save_aliases(&t))
        })
    }

    fn delete_alias<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_alias_address(address)?;
            let mut t = self.alias_table()?;
            let Some(key) = t.keys().find(|k| normalize_key(k) == address).cloned() else {
                return Err(AdminError::NotFound(format!("alias {address}")));
            };
            t.remove(&key);
            self.done(self.save_aliases(&t))
        })
    }

    fn alias_domains(&self) -> Change<'_, Vec<AliasDomainEntry>> {
        Box::pin(async move { self.files_alias_domains() })
    }

    fn create_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()> {
        Box::pin(async move { self.files_create_alias_domain(a) })
    }

    fn update_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()> {
        Box::pin(async move { self.files_update_alias_domain(a) })
    }

    fn delete_alias_domain<'a>(&'a self, alias_domain: &'a str) -> Change<'a, ()> {
        Box::pin(async move { self.files_delete_alias_domain(alias_domain) })
    }
}

impl FilesBackend {
    fn alias_domain_checked(&self, f: &File, a: &AliasDomainEntry) -> Result<AliasDomainEntry, AdminError> {
        let alias = admin::check_domain("alias_domain", &a.alias_domain)?;
        let target = admin::check_domain("target_domain", &a.target_domain)?;
        admin::check_alias_domain_pair(&alias, &target)?;
        for (field, d) in [("alias_domain", &alias), ("target_domain", &target)] {
            if !self.domain_known(f, d) {
                return Err(admin::invalid(field, format!("domain {d} does not exist (postern domain add {d})")));
            }
        }
        Ok(AliasDomainEntry { alias_domain: alias, target_domain: target, active: a.active })
    }
}

impl FilesBackend {
    pub(super) fn files_alias_domains(&self) -> Result<Vec<AliasDomainEntry>, AdminError> {
        let mut out: Vec<AliasDomainEntry> = self
            .mailbox_file()?
            .alias_domain
            .into_iter()
            .map(|a| AliasDomainEntry { alias_domain: normalize_domain(&a.alias_domain), target_domain: normalize_domain(&a.target_domain), active: a.active })
            .collect();
        out.sort_by(|a, b| a.alias_domain.cmp(&b.alias_domain));
        Ok(out)
    }

    pub(super) fn files_create_alias_domain(&self, a: AliasDomainEntry) -> Result<(), AdminError> {
        let mut f = self.mailbox_file()?;
        let a = self.alias_domain_checked(&f, &a)?;
        if f.alias_domain.iter().any(|e| normalize_domain(&e.alias_domain) == a.alias_domain) {
            return Err(AdminError::Exists(format!("alias domain {}", a.alias_domain)));
        }
        f.alias_domain.push(a);
        self.done(self.save_mailboxes(&f))
    }

    pub(super) fn files_update_alias_domain(&self, a: AliasDomainEntry) -> Result<(), AdminError> {
        let mut f = self.mailbox_file()?;
        let a = self.alias_domain_checked(&f, &a)?;
        let Some(e) = f.alias_domain.iter_mut().find(|e| normalize_domain(&e.alias_domain) == a.alias_domain) else {
            return Err(AdminError::NotFound(format!("alias domain {}", a.alias_domain)));
        };
        *e = a;
        self.done(self.save_mailboxes(&f))
    }

    pub(super) fn files_delete_alias_domain(&self, alias: &str) -> Result<(), AdminError> {
        let alias = admin::check_domain("alias_domain", alias)?;
        let mut f = self.mailbox_file()?;
        let before = f.alias_domain.len();
        f.alias_domain.retain(|e| normalize_domain(&e.alias_domain) != alias);
        if f.alias_domain.len() == before {
            return Err(AdminError::NotFound(format!("alias domain {alias}")));
        }
        self.done(self.save_mailboxes(&f))
    }
}

/// An aliases-file key as `check_alias_address` normalizes it.
fn normalize_key(k: &str) -> String {
    match k.strip_prefix('@') {
        Some(d) => format!("@{}", normalize_domain(d)),
        None => normalize(k),
    }
}

impl FilesBackend {
    fn config_or_missing(&self, name: &str) -> AdminError {
        if self.config_domains.iter().any(|d| normalize_domain(d) == name) {
            admin::invalid("domain", format!("{name} is set by relay.local_domains in the config file; change it there"))
        } else {
            AdminError::NotFound(format!("domain {name}"))
        }
    }
}
