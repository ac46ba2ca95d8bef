//! Lookups: what an address is (alias, mailbox, or unlisted), whether a recipient may be
//! accepted at RCPT time, and the expansion of recipients before a message is queued.
//!
//! Lookup order for `user+tag@d` (delimiter `+`): SRS address of our SRS domain (reversed),
//! alias `user+tag@d`, mailbox `user+tag@d`, alias `user@d`, mailbox `user@d`, catch-all
//! `@d`. A local domain without any alias or mailbox accepts every local part (Maildir).
use super::{Directory, DirectoryError, Srs, Unavailable, normalize};
use crate::config::{Config, QuotaFull};
use crate::routing::{self as route, Choice};
use crate::queue::Recipient;
use crate::proto::smtp::Reply;
use std::collections::HashSet;
use std::path::PathBuf;

/// Alias chains longer than this stop where they are (Postfix: virtual_alias_recursion_limit).
const MAX_DEPTH: usize = 20;
/// Recipients one address may expand to (Postfix: virtual_alias_expansion_limit).
const MAX_EXPANSION: usize = 1000;
/// Alias domains followed one after another at most (a → b → c).
const MAX_ALIAS_DOMAINS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Deliver to these addresses instead.
    Alias(Vec<String>),
    /// A listed mailbox (normalized address, `+tag` removed when only the base is listed).
    Mailbox(String),
    /// Not in the tables: the transport map decides.
    Unlisted,
}

/// A Maildir mailbox: its normalized address, quota in bytes (0 = unlimited), and the
/// path its store keeps (relative to the mail root), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub address: String,
    pub quota: u64,
    pub maildir: Option<PathBuf>,
    /// Bytes its domain may still take when the domain has a quota of its own
    /// (PostfixAdmin `domain.quota`): the quota less what all its mailboxes hold.
    pub domain_room: Option<u64>,
}

impl Mailbox {
    /// The stored path under `root`, else `root/DOMAIN/LOCAL`; None when that cannot name
    /// a directory below `root` safely.
    pub fn dir(&self, root: &std::path::Path) -> Option<PathBuf> {
        let safe = |s: &str| {
            !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.chars().any(char::is_control)
        };
        if let Some(rel) = &self.maildir {
            use std::path::Component;
            let below = rel.components().all(|c| matches!(c, Component::Normal(n) if n.to_str().is_some_and(safe)));
            return (below && rel.components().next().is_some()).then(|| root.join(rel));
        }
        let (local, domain) = self.address.rsplit_once('@')?;
        (safe(local) && safe(domain)).then(|| root.join(domain).join(local))
    }

    /// Would `incoming` more bytes exceed the mailbox's quota or its domain's?
    pub fn over_quota(&self, root: &std::path::Path, incoming: u64) -> bool {
        let mailbox_full = self.quota > 0
            && self.dir(root).is_some_and(|d| crate::mailstore::usage(&d).saturating_add(incoming) > self.quota);
        mailbox_full || self.domain_room.is_some_and(|room| incoming > room)
    }
}

/// Why a recipient is refused at RCPT time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownUser,
    OverQuota,
    /// The transport map says `reject`.
    Rejected,
    /// The directory could not answer: a temporary refusal.
    Unavailable,
}

impl Refusal {
    pub fn reply(self, rcpt: &str) -> Reply {
        match self {
            Refusal::UnknownUser => Reply::mailbox_unknown(rcpt),
            Refusal::OverQuota => Reply::mailbox_full(rcpt),
            Refusal::Rejected => Reply::policy_rejected(&format!("<{rcpt}>: Recipient address rejected: Access denied")),
            Refusal::Unavailable => Reply::directory_unavailable(rcpt),
        }
    }
}

impl From<Unavailable> for Refusal {
    fn from(e: Unavailable) -> Refusal {
        tracing::warn!(error = %e, "recipient lookup failed; answering 451");
        Refusal::Unavailable
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

    /// The active account with a mailbox at exactly `key`.
    async fn mailbox_account(&self, key: &str) -> Result<Option<super::Account>, Unavailable> {
        Ok(self.backend.account(key).await?.filter(|a| a.mailbox && a.active))
    }

    /// The mailbox an IMAP/POP3 login opens: the account's own (active, with a mailbox),
    /// never one reached through an alias or a `+tag`.
    pub async fn login_mailbox(&self, login: &str) -> Result<Option<Mailbox>, Unavailable> {
        let key = normalize(login);
        let Some(a) = self.mailbox_account(&key).await? else { return Ok(None) };
        let quota = a.quota.unwrap_or(self.default_quota);
        Ok(Some(Mailbox { address: key, quota, maildir: a.maildir, domain_room: None }))
    }

    /// What `address` is.
    pub async fn resolve(&self, address: &str) -> Result<Resolved, Unavailable> {
        self.resolve_at(address, 0).await
    }

    /// `resolve`, `depth` alias domains deep (boxed: an alias domain recurses).
    fn resolve_at<'a>(&'a self, address: &'a str, depth: usize) -> super::backend::Lookup<'a, Resolved> {
        Box::pin(async move {
            let key = normalize(address);
            for k in std::iter::once(key.clone()).chain(self.base(&key)) {
                if let Some(t) = self.backend.alias(&k).await? {
                    return Ok(Resolved::Alias(t));
                }
                if self.mailbox_account(&k).await?.is_some() {
                    return Ok(Resolved::Mailbox(k));
                }
            }
            let Some((local, domain)) = address.rsplit_once('@') else { return Ok(Resolved::Unlisted) };
            let domain = super::normalize_domain(domain);
            // An alias domain: u@alias is u@target when that is known (PostfixAdmin's
            // alias-domain maps); unknown there, it is unknown here too.
            if let Some(target) = self.backend.alias_domain(&domain).await?.filter(|t| *t != domain)
                && depth < MAX_ALIAS_DOMAINS
            {
                let mapped = format!("{}@{target}", key.rsplit_once('@').map_or(local, |(l, _)| l));
                if self.resolve_at(&mapped, depth + 1).await? != Resolved::Unlisted {
                    return Ok(Resolved::Alias(vec![mapped]));
                }
            }
            Ok(match self.backend.catch_all(&domain).await? {
                Some(targets) => Resolved::Alias(
                    targets.iter().map(|t| t.strip_prefix('@').map_or_else(|| t.clone(), |d| format!("{local}@{d}"))).collect(),
                ),
                None => Resolved::Unlisted,
            })
        })
    }

    /// May `login` send as `sender` (`relay.sender_login`)? Yes when the sender is the login
    /// itself (or its `+tag` form), or an alias whose targets include the login (Postfix
    /// `smtpd_sender_login_maps` over the alias table, as PostfixAdmin sets it up).
    pub async fn owns_sender(&self, login: &str, sender: &str) -> Result<bool, Unavailable> {
        let (login, sender) = (normalize(login), normalize(sender));
        let base = self.base(&sender);
        if sender == login || base.as_deref() == Some(login.as_str()) {
            return Ok(true);
        }
        for k in std::iter::once(&sender).chain(base.as_ref()) {
            if let Some(targets) = self.backend.alias(k).await?
                && targets.iter().any(|t| normalize(t) == login)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The Maildir mailbox mail for `address` goes to, or None for an unknown user of a
    /// domain that lists its users.
    pub async fn mailbox_for(&self, address: &str) -> Result<Option<Mailbox>, Unavailable> {
        let key = normalize(address);
        let base = self.base(&key);
        for k in std::iter::once(&key).chain(base.as_ref()) {
            if let Some(a) = self.mailbox_account(k).await? {
                let quota = a.quota.unwrap_or(self.default_quota);
                let domain_room = self.domain_room(k).await?;
                return Ok(Some(Mailbox { address: k.clone(), quota, maildir: a.maildir, domain_room }));
            }
        }
        let domain = key.rsplit_once('@').map_or("", |(_, d)| d);
        if self.backend.lists_users(domain).await? {
            return Ok(None);
        }
        Ok(Some(Mailbox { address: base.unwrap_or(key), quota: self.default_quota, maildir: None, domain_room: None }))
    }

    /// What the domain of `address` may still take, when it has a quota: the quota less
    /// the usage of every mailbox the directory lists there.
    async fn domain_room(&self, address: &str) -> Result<Option<u64>, Unavailable> {
        let Some((_, domain)) = address.rsplit_once('@') else { return Ok(None) };
        let quota = self.backend.domain_quota(domain).await?;
        let Some(admin) = self.admin().filter(|_| quota > 0) else { return Ok(None) };
        let mailboxes = admin.mailboxes(Some(domain)).await.map_err(|e| Unavailable(e.to_string()))?;
        let used: u64 = mailboxes
            .iter()
            .map(|m| Mailbox { address: m.address.clone(), quota: 0, maildir: m.maildir.as_ref().map(PathBuf::from), domain_room: None })
            .filter_map(|m| m.dir(&self.mail_root))
            .map(|d| crate::mailstore::usage(&d))
            .sum();
        Ok(Some(quota.saturating_sub(used)))
    }

    /// The RCPT TO check for one recipient (the relay policy has already passed);
    /// `size` is the SIZE= the client announced.
    pub async fn check_recipient(&self, cfg: &Config, rcpt: &str, size: Option<u64>) -> Result<(), Refusal> {
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
            return srs.reverse(rcpt, crate::proto::rfc5322::unix_now()).map(|_| ()).map_err(|_| Refusal::UnknownUser);
        }
        if matches!(self.resolve(rcpt).await?, Resolved::Alias(_)) || choice != Choice::Maildir {
            return Ok(());
        }
        match self.mailbox_for(rcpt).await? {
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
    pub async fn expand(&self, cfg: &Config, mail_from: &str, rcpts: Vec<Recipient>) -> Result<Vec<Recipient>, Unavailable> {
        let now = crate::proto::rfc5322::unix_now();
        let mut out = Vec::with_capacity(rcpts.len());
        let mut seen = HashSet::new();
        for r in rcpts {
            let mut finals = Vec::new();
            self.expand_address(&r.address, &mut Vec::new(), &mut finals, now).await?;
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
        Ok(out)
    }

    /// Depth-first expansion of one address (boxed: it recurses).
    fn expand_address<'a>(
        &'a self,
        address: &'a str,
        chain: &'a mut Vec<String>,
        out: &'a mut Vec<String>,
        now: u64,
    ) -> super::backend::Lookup<'a, ()> {
        Box::pin(async move {
            if out.len() >= MAX_EXPANSION {
                tracing::warn!(address, limit = MAX_EXPANSION, "alias expansion limit reached; further targets dropped");
                return Ok(());
            }
            let key = normalize(address);
            let targets = match self.srs_reverse(&key, address, now) {
                Some(original) => vec![original],
                None => match self.resolve(address).await? {
                    Resolved::Alias(t) => t,
                    Resolved::Mailbox(_) | Resolved::Unlisted => {
                        out.push(address.to_string());
                        return Ok(());
                    }
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
                    self.expand_address(&t, chain, out, now).await?;
                }
            }
            chain.pop();
            Ok(())
        })
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

    #[tokio::test]
    async fn rcpt_checks_listed_open_and_remote_domains() {
        let (_t, cfg, d) = dir("\"team@example.com\" = [\"alice@example.com\"]\n", MAILBOXES);
        assert_eq!(d.check_recipient(&cfg, "Alice@Example.com", None).await, Ok(()));
        assert_eq!(d.check_recipient(&cfg, "alice+news@example.com", None).await, Ok(()));
        assert_eq!(d.check_recipient(&cfg, "team@example.com", None).await, Ok(()));
        assert_eq!(d.check_recipient(&cfg, "nobody@example.com", None).await, Err(Refusal::UnknownUser));
        assert_eq!(d.check_recipient(&cfg, "anyone@open.test", None).await, Ok(()), "nothing listed: open");
        assert_eq!(d.check_recipient(&cfg, "x@remote.test", None).await, Ok(()), "not ours to judge");
        assert_eq!(d.check_recipient(&cfg, "postmaster", None).await, Ok(()));
        assert_eq!(d.check_recipient(&cfg, "bob@example.com", Some(11)).await, Err(Refusal::OverQuota));
        assert_eq!(d.check_recipient(&cfg, "bob@example.com", Some(10)).await, Ok(()));
        assert_eq!(Refusal::UnknownUser.reply("n@example.com").code, 550);
        assert_eq!(Refusal::OverQuota.reply("b@example.com").status, Some(crate::proto::smtp::reply::Status(5, 2, 2)));
    }

    #[tokio::test]
    async fn expansion_recursion_loops_catch_all_and_subaddress() {
        let aliases = "\"team@example.com\" = [\"alice@example.com\", \"list@example.com\", \"Carol@Remote.TEST\"]\n\
                       \"list@example.com\" = [\"bob@example.com\", \"team@example.com\", \"alice@example.com\"]\n\
                       \"self@example.com\" = [\"self@example.com\", \"bob@example.com\"]\n\
                       \"@example.com\" = [\"alice@example.com\"]\n\"@old.test\" = [\"@remote.test\"]\n";
        let (_t, cfg, d) = dir(aliases, MAILBOXES);
        let r = d.expand(&cfg, "s@origin.test", vec![Recipient::new("team@example.com")]).await.unwrap();
        assert_eq!(addrs(&r), ["alice@example.com", "bob@example.com", "Carol@remote.test"], "the loop back to team is dropped");
        assert_eq!(r[0].orcpt.as_deref(), Some("rfc822;team@example.com"));
        assert!(r[0].mail_from.is_none(), "local target: no SRS");
        let srs = r[2].mail_from.as_deref().unwrap();
        assert!(srs.starts_with("SRS0=") && srs.ends_with("=origin.test=s@example.com"), "{srs}");
        let r = d.expand(&cfg, "s@origin.test", vec![Recipient::new("self@example.com")]).await.unwrap();
        assert_eq!(addrs(&r), ["self@example.com", "bob@example.com"]);
        assert!(r[0].orcpt.is_none(), "the original recipient is kept as it was");
        let r = d.expand(&cfg, "", vec![Recipient::new("stranger@example.com"), Recipient::new("alice+x@example.com")]).await.unwrap();
        assert_eq!(addrs(&r), ["alice@example.com", "alice+x@example.com"], "catch-all; +tag of a mailbox is kept");
        let r = d.expand(&cfg, "", vec![Recipient::new("Joe@old.test")]).await.unwrap();
        assert_eq!(addrs(&r), ["Joe@remote.test"]);
        assert!(r[0].mail_from.is_none(), "null sender is never rewritten");
    }

    #[tokio::test]
    async fn srs_bounces_are_accepted_and_reversed() {
        let (_t, cfg, d) = dir("", MAILBOXES);
        let srs = d.srs().unwrap().forward("s@origin.test", crate::proto::rfc5322::unix_now()).unwrap();
        assert_eq!(d.check_recipient(&cfg, &srs, None).await, Ok(()));
        let forged = srs.replacen("SRS0=", "SRS0=x", 1);
        assert_eq!(d.check_recipient(&cfg, &forged, None).await, Err(Refusal::UnknownUser));
        let r = d.expand(&cfg, "", vec![Recipient::new(srs.clone())]).await.unwrap();
        assert_eq!(addrs(&r), ["s@origin.test"]);
        assert_eq!(r[0].orcpt.as_deref(), Some(format!("rfc822;{srs}").as_str()));
    }

    #[tokio::test]
    async fn files_are_reloaded_when_they_change_and_bad_files_are_ignored() {
        let (_t, cfg, d) = dir("", MAILBOXES);
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None).await, Err(Refusal::UnknownUser));
        std::fs::write(&cfg.mailboxes.file, format!("{MAILBOXES}[[mailbox]]\naddress = \"carol@example.com\"\n")).unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None).await, Ok(()));
        std::fs::write(&cfg.mailboxes.file, "[[mailbox]]\naddress = oops").unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None).await, Ok(()), "previous tables kept");
        std::fs::remove_file(&cfg.mailboxes.file).unwrap();
        assert_eq!(d.check_recipient(&cfg, "carol@example.com", None).await, Ok(()), "no file: open domain again");
    }

    /// A store that is down: every lookup is unavailable.
    struct Down;

    impl crate::directory::Backend for Down {
        fn account<'a>(&'a self, _: &'a str) -> super::super::backend::Lookup<'a, Option<crate::directory::Account>> {
            Box::pin(async { Err(Unavailable("connection refused".into())) })
        }
        fn alias<'a>(&'a self, _: &'a str) -> super::super::backend::Lookup<'a, Option<Vec<String>>> {
            Box::pin(async { Err(Unavailable("connection refused".into())) })
        }
        fn catch_all<'a>(&'a self, _: &'a str) -> super::super::backend::Lookup<'a, Option<Vec<String>>> {
            Box::pin(async { Err(Unavailable("connection refused".into())) })
        }
        fn lists_users<'a>(&'a self, _: &'a str) -> super::super::backend::Lookup<'a, bool> {
            Box::pin(async { Err(Unavailable("connection refused".into())) })
        }
    }

    #[tokio::test]
    async fn an_unavailable_store_gives_temporary_answers_only() {
        let (_t, mut cfg, _) = dir("", MAILBOXES);
        cfg.srs.enabled = false;
        let d = Directory::with_backend(&cfg, std::sync::Arc::new(Down)).unwrap();
        let refused = d.check_recipient(&cfg, "alice@example.com", None).await;
        assert_eq!(refused, Err(Refusal::Unavailable));
        let reply = Refusal::Unavailable.reply("alice@example.com").to_string();
        assert_eq!(reply, "451 4.3.0 <alice@example.com>: Temporary lookup failure");
        assert_eq!(d.check_recipient(&cfg, "x@remote.test", None).await, Ok(()), "remote domains need no lookup");
        assert!(d.expand(&cfg, "", vec![Recipient::new("alice@example.com")]).await.is_err());
        assert!(d.mailbox_for("alice@example.com").await.is_err());
        assert!(d.authenticate("alice@example.com", "pw").await.is_err());
    }

    #[tokio::test]
    async fn a_mailbox_logs_in_with_the_users_file_password_of_its_address() {
        let (t, mut cfg, _) = dir("", MAILBOXES);
        cfg.users.file = t.path().join("users.toml");
        let mut users = crate::directory::Users::default();
        users.set_password(&cfg.users.file, "alice@example.com", "s3cret").unwrap();
        let d = Directory::open(&cfg).unwrap();
        assert_eq!(d.authenticate("alice@example.com", "s3cret").await, Ok(true));
        assert_eq!(d.authenticate("alice@example.com", "wrong").await, Ok(false));
        assert_eq!(d.authenticate("bob@example.com", "s3cret").await, Ok(false), "a mailbox without a password");
        assert_eq!(d.authenticate("nobody", "s3cret").await, Ok(false));
        let m = d.mailbox_for("Alice+tag@EXAMPLE.com").await.unwrap().unwrap();
        assert_eq!((m.address.as_str(), m.maildir), ("alice@example.com", None));
    }

    #[test]
    fn stored_maildir_paths_stay_below_the_root() {
        let root = std::path::Path::new("/var/vmail");
        let m = |rel: Option<&str>| Mailbox { address: "a@example.com".into(), quota: 0, maildir: rel.map(PathBuf::from), domain_room: None };
        assert_eq!(m(None).dir(root), Some(root.join("example.com/a")));
        assert_eq!(m(Some("example.com/a.b/")).dir(root), Some(root.join("example.com/a.b/")));
        assert_eq!(m(Some("../etc")).dir(root), None);
        assert_eq!(m(Some("/etc/x")).dir(root), None);
        assert_eq!(m(Some("")).dir(root), None);
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
