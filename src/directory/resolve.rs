//! Lookups: what an address is (alias, mailbox, or unlisted), whether a recipient may be
//! accepted at RCPT time, and the expansion of recipients before a message is queued.
//!
//! Lookup order for `user+tag@d` (delimiter `+`): SRS address of our SRS domain (reversed),
//! alias `user+tag@d`, mailbox `user+tag@d`, alias `user@d`, mailbox `user@d`, catch-all
//! `@d`. A local domain without any alias or mailbox accepts every local part (Maildir).
use super::{Directory, DirectoryError, Snapshot, Srs, normalize};
use crate::config::{Config, QuotaFull};
use crate::routing::{self as route, Choice};
use crate::queue::Recipient;
use crate::smtp::Reply;
use std::collections::HashSet;
use std::path::PathBuf;

/// Alias chains longer than this stop where they are (Postfix: virtual_alias_recursion_limit).
const MAX_DEPTH: usize = 20;
/// Recipients one address may expand to (Postfix: virtual_alias_expansion_limit).
const MAX_EXPANSION: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Deliver to these addresses instead.
    Alias(Vec<String>),
    /// A listed mailbox (normalized address, `+tag` removed when only the base is listed).
    Mailbox(String),
    /// Not in the tables: the transport map decides.
    Unlisted,
}

/// A Maildir mailbox: its normalized address and quota in bytes (0 = unlimited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub address: String,
    pub quota: u64,
}

impl Mailbox {
    /// `root/DOMAIN/LOCAL`, or None when the address cannot name a directory safely.
    pub fn dir(&self, root: &std::path::Path) -> Option<PathBuf> {
        let (local, domain) = self.address.rsplit_once('@')?;
        let safe = |s: &str| {
            !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.chars().any(char::is_control)
        };
        (safe(local) && safe(domain)).then(|| root.join(domain).join(local))
    }

    /// Would `incoming` more bytes exceed the quota?
    pub fn over_quota(&self, root: &std::path::Path, incoming: u64) -> bool {
        self.quota > 0
            && self.dir(root).is_some_and(|d| crate::mailstore::usage(&d).saturating_add(incoming) > self.quota)
    }
}

/// Why a recipient is refused at RCPT time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownUser,
    OverQuota,
    /// The transport map says `reject`.
    Rejected,
}

impl Refusal {
    pub fn reply(self, rcpt: &str) -> Reply {
        match self {
            Refusal::UnknownUser => Reply::mailbox_unknown(rcpt),
            Refusal::OverQuota => Reply::mailbox_full(rcpt),
            Refusal::Rejected => Reply::policy_rejected(&format!("<{rcpt}>: Recipient address rejected: Access denied")),
        }
    }
}

/// The SRS keys: `srs.secret`, else the lines of `srs.secret_file`, else
/// `data_dir/srs.secret` (generated on first start, mode 0600).
pub fn load_srs(cfg: &Config) -> Result<Option<Srs>, DirectoryError> {
    let s = &cfg.srs;
    if !s.enabled {
        return Ok(None);
    }
    let secrets: Vec<String> = if !s.secret.is_empty() {
        vec![s.secret.clone()]
    } else {
        let path = s.secret_file.clone().unwrap_or_else(|| cfg.server.data_dir.join("srs.secret"));
        let err = |source| DirectoryError::SrsSecret { path: path.display().to_string(), source };
        if s.secret_file.is_none() && !path.exists() {
            write_new_secret(&path).map_err(err)?;
        }
        let text = std::fs::read_to_string(&path).map_err(err)?;
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    };
    if secrets.is_empty() {
        let path = s.secret_file.clone().unwrap_or_default().display().to_string();
        return Err(DirectoryError::Parse { path, msg: "no SRS secret in the file".into() });
    }
    let domain = if !s.domain.is_empty() {
        super::normalize_domain(&s.domain)
    } else {
        cfg.relay.local_domains.first().cloned().unwrap_or_else(|| cfg.server.hostname.to_ascii_lowercase())
    };
    Ok(Some(Srs::new(&secrets, &domain, s.max_age.get())))
}

fn write_new_secret(path: &std::path::Path) -> std::io::Result<()> {
    use base64::Engine;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes: [u8; 24] = rand::random();
    let line = base64::engine::general_purpose::STANDARD.encode(bytes) + "\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

fn rfc822_orcpt(address: &str) -> String {
    if address.is_ascii() { format!("rfc822;{address}") } else { format!("utf-8;{address}") }
}

impl Directory {
    /// `user+tag@d` -> `user@d` (normalized input), when a delimiter is configured.
    fn base(&self, key: &str) -> Option<String> {
        let delim = self.delimiter?;
        let (local, domain) = key.rsplit_once('@')?;
        let (user, _tag) = local.split_once(delim)?;
        (!user.is_empty()).then(|| format!("{user}@{domain}"))
    }

    /// What `address` is, in the tables of `snap`.
    pub fn resolve(&self, snap: &Snapshot, address: &str) -> Resolved {
        let key = normalize(address);
        if let Some(t) = snap.aliases.get(&key) {
            return Resolved::Alias(t.to_vec());
        }
        if snap.mailboxes.get(&key).is_some() {
            return Resolved::Mailbox(key);
        }
        if let Some(base) = self.base(&key) {
            if let Some(t) = snap.aliases.get(&base) {
                return Resolved::Alias(t.to_vec());
            }
            if snap.mailboxes.get(&base).is_some() {
                return Resolved::Mailbox(base);
            }
        }
        let Some((local, domain)) = address.rsplit_once('@') else { return Resolved::Unlisted };
        match snap.aliases.catch_all(&super::normalize_domain(domain)) {
            Some(targets) => Resolved::Alias(
                targets.iter().map(|t| t.strip_prefix('@').map_or_else(|| t.clone(), |d| format!("{local}@{d}"))).collect(),
            ),
            None => Resolved::Unlisted,
        }
    }

    /// The Maildir mailbox mail for `address` goes to, or None for an unknown user of a
    /// domain that lists its users.
    pub fn mailbox_for(&self, snap: &Snapshot, address: &str) -> Option<Mailbox> {
        let key = normalize(address);
        let base = self.base(&key);
        for k in std::iter::once(&key).chain(base.as_ref()) {
            if let Some(own) = snap.mailboxes.get(k) {
                return Some(Mailbox { address: k.clone(), quota: own.unwrap_or(self.default_quota) });
            }
        }
        let domain = key.rsplit_once('@').map_or("", |(_, d)| d);
        if snap.is_listed_domain(domain) {
            return None;
        }
        Some(Mailbox { address: base.unwrap_or(key), quota: self.default_quota })
    }

    /// The RCPT TO check for one recipient (the relay policy has already passed);
    /// `size` is the SIZE= the client announced.
    pub fn check_recipient(&self, cfg: &Config, rcpt: &str, size: Option<u64>) -> Result<(), Refusal> {
        let key = normalize(rcpt);
        let Some((local, domain)) = key.rsplit_once('@') else { return Ok(()) };
        let choice = route::choose(cfg, &key);
        if choice == Choice::Reject {
            return Err(Refusal::Rejected);
        }
        if !cfg.is_local_domain(domain) {
            return Ok(());
        }
        if let Some(srs) = self.srs.as_ref().filter(|s| s.domain() == domain && Srs::is_srs_local(local)) {
            return srs.reverse(rcpt, crate::rfc5322::unix_now()).map(|_| ()).map_err(|_| Refusal::UnknownUser);
        }
        let snap = self.snapshot();
        if matches!(self.resolve(&snap, rcpt), Resolved::Alias(_)) || choice != Choice::Maildir {
            return Ok(());
        }
        match self.mailbox_for(&snap, rcpt) {
            None => Err(Refusal::UnknownUser),
            Some(m) if self.quota_full == QuotaFull::Reject && m.over_quota(&self.mail_root, size.unwrap_or(0).max(1)) => {
                Err(Refusal::OverQuota)
            }
            Some(_) => Ok(()),
        }
    }

    /// Replaces aliased recipients by their targets (recursively, duplicates removed) and
    /// reverses bounces to our SRS addresses. New recipients keep the DSN request of the one
    /// they came from, name it as ORCPT, and get an SRS sender when they leave by SMTP.
    pub fn expand(&self, cfg: &Config, mail_from: &str, rcpts: Vec<Recipient>) -> Vec<Recipient> {
        let snap = self.snapshot();
        let now = crate::rfc5322::unix_now();
        let mut out = Vec::with_capacity(rcpts.len());
        let mut seen = HashSet::new();
        for r in rcpts {
            let mut finals = Vec::new();
            self.expand_address(&snap, &r.address, &mut Vec::new(), &mut finals, now);
            let original = normalize(&r.address);
            for f in finals {
                let key = normalize(&f);
                if !seen.insert(key.clone()) {
                    continue;
                }
                if key == original {
                    out.push(r.clone());
                    continue;
                }
                let mut n = Recipient::new(f);
                n.notify = r.notify;
                n.orcpt = Some(r.orcpt.clone().unwrap_or_else(|| rfc822_orcpt(&r.address)));
                n.mail_from = self.srs_sender(cfg, mail_from, &n.address, now);
                tracing::debug!(from = %r.address, to = %n.address, srs = n.mail_from.is_some(), "alias expanded");
                out.push(n);
            }
        }
        out
    }

    fn expand_address(&self, snap: &Snapshot, address: &str, chain: &mut Vec<String>, out: &mut Vec<String>, now: u64) {
        if out.len() >= MAX_EXPANSION {
            tracing::warn!(address, limit = MAX_EXPANSION, "alias expansion limit reached; further targets dropped");
            return;
        }
        let key = normalize(address);
        let targets = match self.srs_reverse(&key, address, now) {
            Some(original) => vec![original],
            None => match self.resolve(snap, address) {
                Resolved::Alias(t) => t,
                Resolved::Mailbox(_) | Resolved::Unlisted => return out.push(address.to_string()),
            },
        };
        chain.push(key.clone());
        for t in targets {
            let tk = normalize(&t);
            if chain.contains(&tk) && tk != key {
                continue; // a loop back to an alias being expanded: its targets are covered
            }
            if tk == key || chain.len() >= MAX_DEPTH {
                out.push(t); // an alias naming itself delivers to that address too
            } else {
                self.expand_address(snap, &t, chain, out, now);
            }
        }
        chain.pop();
    }

    fn srs_reverse(&self, key: &str, address: &str, now: u64) -> Option<String> {
        let srs = self.srs.as_ref()?;
        let (local, domain) = key.rsplit_once('@')?;
        if domain != srs.domain() || !Srs::is_srs_local(local) {
            return None;
        }
        match srs.reverse(address, now) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::info!(address, error = %e, "SRS address not reversed");
                None
            }
        }
    }

    /// The SRS sender for mail forwarded to `target`, when it leaves by SMTP.
    fn srs_sender(&self, cfg: &Config, mail_from: &str, target: &str, now: u64) -> Option<String> {
        let srs = self.srs.as_ref()?;
        match route::choose(cfg, &normalize(target)) {
            Choice::Mx | Choice::Smarthost => srs.forward(mail_from, now),
            Choice::Maildir | Choice::Webhook(_) | Choice::Reject => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory over temp files: example.com lists alice, bob and aliases; open.test lists
    /// nothing; remote.test is not local.
    fn dir(aliases: &str, mailboxes: &str) -> (tempfile::TempDir, Config, Directory) {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.server.data_dir = t.path().join("data");
        cfg.relay.local_domains = vec!["example.com".into(), "open.test".into()];
        cfg.aliases.file = t.path().join("aliases.toml");
        cfg.mailboxes.file = t.path().join("mailboxes.toml");
        cfg.srs.secret = "k".into();
        std::fs::write(&cfg.aliases.file, aliases).unwrap();
        std::fs::write(&cfg.mailboxes.file, mailboxes).unwrap();
        let d = Directory::open(&cfg).unwrap();
        (t, cfg, d)
    }

    const MAILBOXES: &str = "[[mailbox]]\naddress = \"alice@example.com\"\n[[mailbox]]\naddress = \"bob@example.com\"\nquota = 10\n";

    fn addrs(r: &[Recipient]) -> Vec<&str> {
        r.iter().map(|r| r.address.as_str()).collect()
    }

    #[test]
    fn rcpt_checks_listed_open_and_remote_domains() {
        let (_t, cfg, d) = dir("\"team@example.com\" = [\"alice@example.com\"]\n", MAILBOXES);
        assert_eq!(d.check_recipient(&cfg, "Alice@Example.com", None), Ok(()));
        assert_eq!(d.check_recipient(&cfg, "alice+news@example.com", None), Ok(()));
        assert_eq!(d.check_recipient(&cfg, "team@example.com", None), Ok(()));
        assert_eq!(d.check_recipient(&cfg, "nobody@example.com", None), Err(Refusal::UnknownUser));
        assert_eq!(d.check_recipient(&cfg, "anyone@open.test", None), Ok(()), "nothing listed: open");
        assert_eq!(d.check_recipient(&cfg, "x@remote.test", None), Ok(()), "not ours to judge");
        assert_eq!(d.check_recipient(&cfg, "postmaster", None), Ok(()));
        assert_eq!(d.check_recipient(&cfg, "bob@example.com", Some(11)), Err(Refusal::OverQuota));
        assert_eq!(d.check_recipient(&cfg, "bob@example.com", Some(10)), Ok(()));
        assert_eq!(Refusal::UnknownUser.reply("n@example.com").code, 550);
        assert_eq!(Refusal::OverQuota.reply("b@example.com").status, Some(crate::smtp::reply::Status(5, 2, 2)));
    }

    #[test]
    fn expansion_recursion_loops_catch_all_and_subaddress() {
        let aliases = "\"team@example.com\" = [\"alice@example.com\", \"list@example.com\", \"Carol@Remote.TEST\"]\n\
                       \"list@example.com\" = [\"bob@example.com\", \"team@example.com\", \"alice@example.com\"]\n\
                       \"self@example.com\" = [\"self@example.com\", \"bob@example.com\"]\n\
                       \"@example.com\" = [\"alice@example.com\"]\n\"@old.test\" = [\"@remote.test\"]\n";
        let (_t, cfg, d) = dir(aliases, MAILBOXES);
        let r = d.expand(&cfg, "s@origin.test", vec![Recipient::new("team@example.com")]);
        assert_eq!(addrs(&r), ["alice@example.com", "bob@example.com", "Carol@remote.test"], "the loop back to team is dropped");
        assert_eq!(r[0].orcpt.as_deref(), Some("rfc822;team@example.com"));
        assert!(r[0].mail_from.is_none(), "local target: no SRS");
        let srs = r[2].mail_from.as_deref().unwrap();
        assert!(srs.starts_with("SRS0=") && srs.ends_with("=origin.test=s@example.com"), "{srs}");
        let r = d.expand(&cfg, "s@origin.test", vec![Recipient::new("self@example.com")]);
        assert_eq!(addrs(&r), ["self@example.com", "bob@example.com"]);
        assert!(r[0].orcpt.is_none(), "the original recipient is kept as it was");
        let r = d.expand(&cfg, "", vec![Recipient::new("stranger@example.com"), Recipient::new("alice+x@example.com")]);
        assert_eq!(addrs(&r), ["alice@example.com", "alice+x@example.com"], "catch-all; +tag of a mailbox is kept");
        let r = d.expand(&cfg, "", vec![Recipient::new("Joe@old.test")]);
        assert_eq!(addrs(&r), ["Joe@remote.test"]);
        assert!(r[0].mail_from.is_none(), "null sender is never rewritten");
    }

    #[test]
    fn srs_bounces_are_accepted_and_reversed() {
        let (_t, cfg, d) = dir("", MAILBOXES);
        let srs = d.srs().unwrap().forward("s@origin.test", crate::rfc5322::unix_now()).unwrap();
        assert_eq!(d.check_recipient(&cfg, &srs, None), Ok(()));
        let forged = srs.replacen("SRS0=", "SRS0=x", 1);
        assert_eq!(d.check_recipient(&cfg, &forged, None), Err(Refusal::UnknownUser));
        let r = d.expand(&cfg, "", vec![Recipient::new(srs.clone())]);
        assert_eq!(addrs(&r), ["s@origin.test"]);
        assert_eq!(r[0].orcpt.as_deref(), Some(format!("rfc822;{srs}").as_str()));
    }

    #[test]
    fn files_are_reloaded_when_they_change_and_bad_files_are_ignored() {
        let (_t, cfg, d) = dir("", MAILBOXES);
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None), Err(Refusal::UnknownUser));
        std::fs::write(&cfg.mailboxes.file, format!("{MAILBOXES}[[mailbox]]\naddress = \"carol@example.com\"\n")).unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None), Ok(()));
        std::fs::write(&cfg.mailboxes.file, "[[mailbox]]\naddress = oops").unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None), Ok(()), "previous tables kept");
        std::fs::remove_file(&cfg.mailboxes.file).unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None), Ok(()), "no file: open domain again");
    }

    #[test]
    fn srs_secret_is_generated_once_and_reused() {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.server.data_dir = t.path().to_path_buf();
        cfg.relay.local_domains = vec!["example.com".into()];
        let a = load_srs(&cfg).unwrap().unwrap().forward("x@y.test", 0).unwrap();
        let b = load_srs(&cfg).unwrap().unwrap().forward("x@y.test", 0).unwrap();
        assert_eq!(a, b);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(t.path().join("srs.secret")).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        cfg.srs.enabled = false;
        assert!(load_srs(&cfg).unwrap().is_none());
    }
}
