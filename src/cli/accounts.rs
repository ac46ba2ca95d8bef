//! `postern domain|mailbox|alias`: changes the directory through the service layer the
//! admin API and the web UI use (`app::accounts`), on whichever backend the config names
//! (files, sqlite, postgres). The daemon sees a change within `directory.cache_ttl` (files:
//! at once).
use super::{AliasCommand, AliasDomainCommand, DomainCommand, MailboxCommand, exit};
use postern::app::accounts::{self, Actor, MailboxChange};
use postern::config::Config;
use postern::directory::Directory;
use postern::directory::admin::{Admin, AdminError, DomainEntry, MailboxEntry};
use std::io::Read;

pub enum Cmd {
    Domain(DomainCommand),
    Mailbox(MailboxCommand),
    Alias(AliasCommand),
    AliasDomain(AliasDomainCommand),
}

pub fn run(cfg: &Config, cmd: Cmd) -> i32 {
    with_directory(cfg, async |directory| {
        let admin = directory.admin().ok_or_else(|| AdminError::Failed("this directory cannot be changed".into()))?;
        dispatch(admin, cfg.mailboxes.quota, cmd).await
    })
}

/// Runs one directory command on a runtime of its own against the configured directory;
/// its outcome as an exit code (the error on stderr).
pub fn with_directory(cfg: &Config, f: impl AsyncFnOnce(&Directory) -> Result<(), AdminError>) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("postern: {e}");
            return exit::SOFTWARE;
        }
    };
    rt.block_on(async {
        let directory = match Directory::connect(cfg).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("postern: {e}");
                return exit::CONFIG;
            }
        };
        match f(&directory).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("postern: {e}");
                code(&e)
            }
        }
    })
}

/// `postern directory migrate --to URL [--schema S]`.
pub fn migrate(cfg: &Config, to: &str, schema: &str) -> i32 {
    use postern::config::{DirectoryBackend, DirectorySchema, ListedDomains};
    let backend = if to.starts_with("sqlite:") {
        DirectoryBackend::Sqlite
    } else if to.starts_with("postgres:") || to.starts_with("postgresql:") {
        DirectoryBackend::Postgres
    } else {
        eprintln!("postern: --to: use sqlite:///path/to/file.db or postgres://user@host/db");
        return exit::USAGE;
    };
    let schema = match schema {
        "postern" => DirectorySchema::Postern,
        "postfixadmin" => DirectorySchema::Postfixadmin,
        other => {
            eprintln!("postern: --schema {other:?}: postern or postfixadmin");
            return exit::USAGE;
        }
    };
    let mut target = cfg.clone();
    target.directory.backend = backend;
    target.directory.url = to.to_string();
    target.directory.url_file = None;
    target.directory.schema = schema;
    target.relay.listed = ListedDomains::default();
    with_directory(cfg, async |from| {
        let into = Directory::connect(&target).await.map_err(|e| AdminError::Failed(e.to_string()))?;
        let cannot = || AdminError::Failed("this directory cannot be changed".into());
        let r = postern::directory::migrate::copy(from.admin().ok_or_else(cannot)?, into.admin().ok_or_else(cannot)?).await?;
        let line = |what: &str, (new, kept): (usize, usize)| eprintln!("{what}: {new} copied, {kept} already there");
        line("domains", r.domains);
        line("mailboxes", r.mailboxes);
        line("aliases", r.aliases);
        line("alias domains", r.alias_domains);
        for a in &r.without_password {
            eprintln!("note: {a} had no password and cannot log in until `postern mailbox passwd {a}`");
        }
        Ok(())
    })
}

/// The exit code of a failed directory command.
pub fn code(e: &AdminError) -> i32 {
    match e {
        AdminError::Unavailable(_) => exit::TEMPFAIL,
        AdminError::NotFound(_) => exit::NOUSER,
        AdminError::Exists(_) | AdminError::Invalid { .. } | AdminError::Limit { .. } => exit::DATAERR,
        AdminError::Failed(_) => exit::CANTCREAT,
    }
}

/// The password from stdin, without the newline `echo` adds.
fn password_from_stdin() -> Result<String, AdminError> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| AdminError::Failed(format!("cannot read the password from stdin: {e}")))?;
    let p = text.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&text);
    if p.is_empty() {
        return Err(postern::directory::admin::invalid("password", "empty (give it on stdin)"));
    }
    Ok(p.to_string())
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn dispatch(admin: &dyn Admin, default_quota: u64, cmd: Cmd) -> Result<(), AdminError> {
    match cmd {
        Cmd::Domain(DomainCommand::Add { domain, description, backupmx, quota, max_mailboxes, max_aliases, max_quota }) => {
            let entry = DomainEntry {
                description,
                backupmx,
                quota: quota.unwrap_or(0),
                max_mailboxes,
                max_aliases,
                max_quota,
                ..DomainEntry::new(domain.clone())
            };
            accounts::create_domain(admin, Actor::CLI, entry).await?;
            eprintln!("domain {domain} added");
        }
        Cmd::Domain(DomainCommand::List { json }) => {
            let list = admin.domains().await?;
            if json {
                print_json(&list);
            } else {
                for d in list {
                    let flags = [(d.backupmx, "backup-mx"), (!d.active, "inactive")].iter().filter(|f| f.0).map(|f| f.1).collect::<Vec<_>>().join(",");
                    println!("{}\t{}\t{}", d.domain, flags, d.description);
                }
            }
        }
        Cmd::Domain(DomainCommand::Delete { domain }) => {
            accounts::delete_domain(admin, Actor::CLI, &domain).await?;
            eprintln!("domain {domain} deleted");
        }
        Cmd::Mailbox(MailboxCommand::Add { address, quota, name }) => {
            let entry = MailboxEntry { address: address.clone(), name, quota, active: true, maildir: None };
            accounts::create_mailbox(admin, default_quota, Actor::CLI, entry, Some(password_from_stdin()?)).await?;
            eprintln!("mailbox {address} added");
        }
        Cmd::Mailbox(MailboxCommand::List { domain, json }) => {
            let list = admin.mailboxes(domain.as_deref()).await?;
            if json {
                print_json(&list);
            } else {
                for m in list {
                    let quota = m.quota.map_or_else(|| "default".to_string(), |q| q.to_string());
                    println!("{}\t{}\t{}\t{}", m.address, quota, if m.active { "active" } else { "inactive" }, m.name);
                }
            }
        }
        Cmd::Mailbox(MailboxCommand::Passwd { address }) => {
            let change = MailboxChange { password: Some(password_from_stdin()?), ..MailboxChange::default() };
            accounts::update_mailbox(admin, default_quota, Actor::CLI, &address, change).await?;
            eprintln!("password of {address} changed");
        }
        Cmd::Mailbox(MailboxCommand::Delete { address }) => {
            accounts::delete_mailbox(admin, Actor::CLI, &address).await?;
            eprintln!("mailbox {address} deleted (its Maildir is kept)");
        }
        Cmd::Alias(AliasCommand::Add { address, targets }) => {
            accounts::create_alias(admin, Actor::CLI, &address, Some(targets), true).await?;
            eprintln!("alias {address} added");
        }
        Cmd::Alias(AliasCommand::List { domain, json }) => {
            let list = admin.aliases(domain.as_deref()).await?;
            if json {
                print_json(&list);
            } else {
                for a in list {
                    println!("{}\t{}", a.address, a.targets.join(","));
                }
            }
        }
        Cmd::Alias(AliasCommand::Delete { address }) => {
            accounts::delete_alias(admin, Actor::CLI, &address).await?;
            eprintln!("alias {address} deleted");
        }
        Cmd::AliasDomain(AliasDomainCommand::Add { alias, target }) => {
            let a = accounts::create_alias_domain(admin, Actor::CLI, Some(alias), Some(target), true).await?;
            eprintln!("alias domain {} added: mail for user@{} goes to user@{}", a.alias_domain, a.alias_domain, a.target_domain);
        }
        Cmd::AliasDomain(AliasDomainCommand::List { json }) => {
            let list = admin.alias_domains().await?;
            if json {
                print_json(&list);
            } else {
                for a in list {
                    println!("{}\t{}\t{}", a.alias_domain, a.target_domain, if a.active { "active" } else { "inactive" });
                }
            }
        }
        Cmd::AliasDomain(AliasDomainCommand::Delete { alias }) => {
            accounts::delete_alias_domain(admin, Actor::CLI, &alias).await?;
            eprintln!("alias domain {alias} deleted");
        }
    }
    Ok(())
}
