//! `postern domain|mailbox|alias`: changes the directory through its `Admin` interface, on
//! whichever backend the config names (files, sqlite, postgres). The daemon sees a change
//! within `directory.cache_ttl` (files: at once).
use super::{AliasCommand, DomainCommand, MailboxCommand, exit};
use postern::config::Config;
use postern::directory::admin::{Admin, AdminError, AliasEntry, DomainEntry, MailboxEntry};
use postern::directory::{Directory, password};
use std::io::Read;

pub enum Cmd {
    Domain(DomainCommand),
    Mailbox(MailboxCommand),
    Alias(AliasCommand),
}

pub fn run(cfg: &Config, cmd: Cmd) -> i32 {
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
        let Some(admin) = directory.admin() else {
            eprintln!("postern: this directory cannot be changed");
            return exit::CONFIG;
        };
        match dispatch(admin, cmd).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("postern: {e}");
                code(&e)
            }
        }
    })
}

fn code(e: &AdminError) -> i32 {
    match e {
        AdminError::Unavailable(_) => exit::TEMPFAIL,
        AdminError::NotFound(_) => exit::NOUSER,
        AdminError::Exists(_) | AdminError::Invalid { .. } => exit::DATAERR,
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

async fn dispatch(admin: &dyn Admin, cmd: Cmd) -> Result<(), AdminError> {
    match cmd {
        Cmd::Domain(DomainCommand::Add { domain, description, backupmx }) => {
            admin.create_domain(DomainEntry { domain: domain.clone(), description, backupmx, active: true }).await?;
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
            admin.delete_domain(&domain).await?;
            eprintln!("domain {domain} deleted");
        }
        Cmd::Mailbox(MailboxCommand::Add { address, quota, name }) => {
            let hash = password::hash(&password_from_stdin()?);
            admin.create_mailbox(MailboxEntry { address: address.clone(), name, quota, active: true, maildir: None }, hash).await?;
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
            let hash = password::hash(&password_from_stdin()?);
            admin.set_password(&address, hash).await?;
            eprintln!("password of {address} changed");
        }
        Cmd::Mailbox(MailboxCommand::Delete { address }) => {
            admin.delete_mailbox(&address).await?;
            eprintln!("mailbox {address} deleted (its Maildir is kept)");
        }
        Cmd::Alias(AliasCommand::Add { address, targets }) => {
            admin.create_alias(AliasEntry { address: address.clone(), targets, active: true }).await?;
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
            admin.delete_alias(&address).await?;
            eprintln!("alias {address} deleted");
        }
    }
    Ok(())
}
