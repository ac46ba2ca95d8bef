//! `Admin` for the SQL directory: the statements each schema changes its rows with.
//! PostfixAdmin rows are written as PostfixAdmin itself writes them: a mailbox gets its
//! self-alias and the `domain/local/` maildir, domains the `virtual` transport.
use super::{Param, SqlBackend};
use crate::config::DirectorySchema;
use crate::directory::admin::{self, Admin, AdminError, AliasDomainEntry, AliasEntry, Change, DomainEntry, MailboxEntry};
use sqlx::FromRow;

struct Statements {
    domains: &'static str,
    domain_exists: &'static str,
    create_domain: &'static str,
    update_domain: &'static str,
    domain_in_use: &'static str,
    delete_domain: &'static str,
    mailboxes: &'static str,
    mailbox_exists: &'static str,
    /// $1 address, $2 hash, $3 name, $4 maildir, $5 quota, $6 local part, $7 domain, $8 active
    create_mailbox: &'static str,
    /// The self-alias PostfixAdmin keeps for a mailbox (None: the schema has none).
    create_self_alias: Option<&'static str>,
    update_mailbox: &'static str,
    set_password: &'static str,
    delete_mailbox: &'static str,
    delete_self_alias: Option<&'static str>,
    password: &'static str,
    aliases: &'static str,
    alias_exists: &'static str,
    create_alias: &'static str,
    update_alias: &'static str,
    delete_alias: &'static str,
    alias_domains: &'static str,
    alias_domain_exists: &'static str,
    /// $1 alias domain, $2 target domain, $3 active
    create_alias_domain: &'static str,
    update_alias_domain: &'static str,
    delete_alias_domain: &'static str,
}

const POSTFIXADMIN: Statements = Statements {
    domains: "SELECT domain, description, backupmx, CAST(quota AS BIGINT) * 1048576 AS quota, active, \
              CAST(mailboxes AS BIGINT) AS max_mailboxes, CAST(aliases AS BIGINT) AS max_aliases, \
              CAST(maxquota AS BIGINT) * 1048576 AS max_quota FROM domain WHERE domain <> 'ALL' ORDER BY domain",
    domain_exists: "SELECT domain, description, backupmx, CAST(quota AS BIGINT) * 1048576 AS quota, active, \
                    CAST(mailboxes AS BIGINT) AS max_mailboxes, CAST(aliases AS BIGINT) AS max_aliases, \
                    CAST(maxquota AS BIGINT) * 1048576 AS max_quota FROM domain WHERE domain = $1",
    create_domain: "INSERT INTO domain (domain, description, aliases, mailboxes, maxquota, quota, transport, backupmx, active) \
                    VALUES ($1, $2, $6, $7, $8, $5, 'virtual', $3, $4)",
    update_domain: "UPDATE domain SET description = $2, backupmx = $3, active = $4, quota = $5, aliases = $6, mailboxes = $7, \
                    maxquota = $8 WHERE domain = $1",
    domain_in_use: "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT username FROM mailbox WHERE domain = $1 \
                    UNION ALL SELECT address FROM alias WHERE domain = $1 AND address <> goto \
                    UNION ALL SELECT alias_domain FROM alias_domain WHERE alias_domain = $1 OR target_domain = $1) rows",
    delete_domain: "DELETE FROM domain WHERE domain = $1",
    mailboxes: "SELECT username AS address, name, CAST(quota AS BIGINT) AS quota, active, maildir FROM mailbox \
                WHERE ($1 = '' OR domain = $1) ORDER BY username",
    mailbox_exists: "SELECT username AS address, name, CAST(quota AS BIGINT) AS quota, active, maildir FROM mailbox WHERE username = $1",
    create_mailbox: "INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    create_self_alias: Some("INSERT INTO alias (address, goto, domain, active) VALUES ($1, $1, $2, $3)"),
    update_mailbox: "UPDATE mailbox SET name = $2, quota = $3, active = $4 WHERE username = $1",
    set_password: "UPDATE mailbox SET password = $2 WHERE username = $1",
    delete_mailbox: "DELETE FROM mailbox WHERE username = $1",
    delete_self_alias: Some("DELETE FROM alias WHERE address = $1 AND goto = $1"),
    password: "SELECT password AS hash FROM mailbox WHERE username = $1",
    aliases: "SELECT address, goto AS targets, active FROM alias WHERE address <> goto AND ($1 = '' OR domain = $1) ORDER BY address",
    alias_exists: "SELECT address, goto AS targets, active FROM alias WHERE address = $1",
    create_alias: "INSERT INTO alias (address, goto, domain, active) VALUES ($1, $2, $3, $4)",
    update_alias: "UPDATE alias SET goto = $2, active = $3 WHERE address = $1",
    delete_alias: "DELETE FROM alias WHERE address = $1",
    alias_domains: "SELECT alias_domain, target_domain, active FROM alias_domain ORDER BY alias_domain",
    alias_domain_exists: "SELECT alias_domain, target_domain, active FROM alias_domain WHERE alias_domain = $1",
    create_alias_domain: "INSERT INTO alias_domain (alias_domain, target_domain, created, modified, active) \
                          VALUES ($1, $2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, $3)",
    update_alias_domain: "UPDATE alias_domain SET target_domain = $2, active = $3, modified = CURRENT_TIMESTAMP WHERE alias_domain = $1",
    delete_alias_domain: "DELETE FROM alias_domain WHERE alias_domain = $1",
};

const POSTERN: Statements = Statements {
    domains: "SELECT domain, description, backupmx, quota, active, max_mailboxes, max_aliases, max_quota \
              FROM postern_domains ORDER BY domain",
    domain_exists: "SELECT domain, description, backupmx, quota, active, max_mailboxes, max_aliases, max_quota \
                    FROM postern_domains WHERE domain = $1",
    create_domain: "INSERT INTO postern_domains (domain, description, backupmx, active, quota, max_aliases, max_mailboxes, max_quota) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    update_domain: "UPDATE postern_domains SET description = $2, backupmx = $3, active = $4, quota = $5, max_aliases = $6, \
                    max_mailboxes = $7, max_quota = $8 WHERE domain = $1",
    domain_in_use: "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT login FROM postern_accounts WHERE domain = $1 \
                    UNION ALL SELECT address FROM postern_aliases WHERE domain = $1 \
                    UNION ALL SELECT alias_domain FROM postern_alias_domains WHERE alias_domain = $1 OR target_domain = $1) rows",
    delete_domain: "DELETE FROM postern_domains WHERE domain = $1",
    mailboxes: "SELECT login AS address, name, quota, active, maildir FROM postern_accounts \
                WHERE mailbox = true AND ($1 = '' OR domain = $1) ORDER BY login",
    mailbox_exists: "SELECT login AS address, name, quota, active, maildir FROM postern_accounts WHERE login = $1",
    create_mailbox: "INSERT INTO postern_accounts (login, password, name, maildir, quota, local_part, domain, active, mailbox) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true)",
    create_self_alias: None,
    update_mailbox: "UPDATE postern_accounts SET name = $2, quota = $3, active = $4 WHERE login = $1 AND mailbox = true",
    set_password: "UPDATE postern_accounts SET password = $2 WHERE login = $1 AND mailbox = true",
    delete_mailbox: "DELETE FROM postern_accounts WHERE login = $1 AND mailbox = true",
    delete_self_alias: None,
    password: "SELECT password AS hash FROM postern_accounts WHERE login = $1",
    aliases: "SELECT address, targets, active FROM postern_aliases WHERE ($1 = '' OR domain = $1) ORDER BY address",
    alias_exists: "SELECT address, targets, active FROM postern_aliases WHERE address = $1",
    create_alias: "INSERT INTO postern_aliases (address, targets, domain, active) VALUES ($1, $2, $3, $4)",
    update_alias: "UPDATE postern_aliases SET targets = $2, active = $3 WHERE address = $1",
    delete_alias: "DELETE FROM postern_aliases WHERE address = $1",
    alias_domains: "SELECT alias_domain, target_domain, active FROM postern_alias_domains ORDER BY alias_domain",
    alias_domain_exists: "SELECT alias_domain, target_domain, active FROM postern_alias_domains WHERE alias_domain = $1",
    create_alias_domain: "INSERT INTO postern_alias_domains (alias_domain, target_domain, active) VALUES ($1, $2, $3)",
    update_alias_domain: "UPDATE postern_alias_domains SET target_domain = $2, active = $3 WHERE alias_domain = $1",
    delete_alias_domain: "DELETE FROM postern_alias_domains WHERE alias_domain = $1",
};

fn statements(schema: DirectorySchema) -> &'static Statements {
    match schema {
        DirectorySchema::Postern => &POSTERN,
        DirectorySchema::Postfixadmin => &POSTFIXADMIN,
    }
}

#[derive(FromRow)]
struct DomainRow {
    domain: String,
    description: String,
    backupmx: bool,
    quota: i64,
    active: bool,
    max_mailboxes: i64,
    max_aliases: i64,
    max_quota: i64,
}

impl DomainRow {
    fn entry(self) -> DomainEntry {
        DomainEntry {
            domain: self.domain,
            description: self.description,
            backupmx: self.backupmx,
            quota: self.quota.max(0) as u64,
            active: self.active,
            max_mailboxes: self.max_mailboxes.max(-1),
            max_aliases: self.max_aliases.max(-1),
            // PostfixAdmin's -1 ("disabled") has no meaning for a quota: no limit here.
            max_quota: self.max_quota.max(0) as u64,
        }
    }
}

#[derive(FromRow)]
struct AliasDomainRow {
    alias_domain: String,
    target_domain: String,
    active: bool,
}

#[derive(FromRow)]
struct MailboxRow {
    address: String,
    name: String,
    quota: Option<i64>,
    active: bool,
    maildir: Option<String>,
}

#[derive(FromRow)]
struct AliasRow {
    address: String,
    targets: String,
    active: bool,
}

#[derive(FromRow)]
struct HashRow {
    hash: Option<String>,
}

#[derive(FromRow)]
struct Count {
    n: i64,
}

fn failed(e: sqlx::Error) -> AdminError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AdminError::Exists("the entry".into()),
        sqlx::Error::Database(_) => AdminError::Failed(e.to_string()),
        _ => AdminError::Unavailable(format!("directory unavailable: {e}")),
    }
}

fn text(s: &str) -> Param {
    Param::Text(s.to_string())
}

impl SqlBackend {
    fn st(&self) -> &'static Statements {
        statements(self.schema)
    }

    /// A domain quota as the schema stores it: bytes (postern), whole MB rounded up
    /// (PostfixAdmin's `domain.quota`).
    fn domain_quota_param(&self, bytes: u64) -> Param {
        let stored = match self.schema {
            DirectorySchema::Postern => bytes,
            DirectorySchema::Postfixadmin => bytes.div_ceil(1024 * 1024),
        };
        Param::Int(i64::try_from(stored).unwrap_or(i64::MAX))
    }

    /// $1 name, $2 description, $3 backupmx, $4 active, $5 quota, $6 max aliases, $7 max
    /// mailboxes, $8 max quota (both quotas as the schema stores them).
    fn domain_params(&self, name: &str, d: &DomainEntry) -> [Param; 8] {
        [
            text(name),
            text(&d.description),
            Param::Bool(d.backupmx),
            Param::Bool(d.active),
            self.domain_quota_param(d.quota),
            Param::Int(d.max_aliases.max(-1)),
            Param::Int(d.max_mailboxes.max(-1)),
            self.domain_quota_param(d.max_quota),
        ]
    }

    async fn domain(&self, domain: &str) -> Result<Option<DomainRow>, AdminError> {
        self.db.fetch_optional(self.st().domain_exists, &[text(domain)]).await.map_err(failed)
    }

    async fn need_domain(&self, domain: &str, field: &'static str) -> Result<(), AdminError> {
        match self.domain(domain).await? {
            Some(_) => Ok(()),
            None => Err(admin::invalid(field, format!("domain {domain} does not exist (postern domain add {domain})"))),
        }
    }

    async fn changed(&self, n: Result<u64, sqlx::Error>, what: &str) -> Result<(), AdminError> {
        self.invalidate();
        match n.map_err(failed)? {
            0 => Err(AdminError::NotFound(what.to_string())),
            _ => Ok(()),
        }
    }
}

/// A hash as the schema stores it: PostfixAdmin databases are read by Dovecot too, which
/// needs the `{SCHEME}` prefix (PostfixAdmin's `encrypt = 'dovecot:ARGON2ID'` writes it).
fn stored_hash(hash: String, schema: DirectorySchema) -> String {
    match schema {
        DirectorySchema::Postfixadmin if hash.starts_with("$argon2id$") => format!("{{ARGON2ID}}{hash}"),
        _ => hash,
    }
}

fn db_quota(q: Option<u64>, schema: DirectorySchema) -> Param {
    match schema {
        // PostfixAdmin has no "default": 0 is unlimited there.
        DirectorySchema::Postfixadmin => Param::Int(q.unwrap_or(0).min(i64::MAX as u64) as i64),
        DirectorySchema::Postern => Param::OptInt(q.map(|q| q.min(i64::MAX as u64) as i64)),
    }
}

impl Admin for SqlBackend {
    fn domains(&self) -> Change<'_, Vec<DomainEntry>> {
        Box::pin(async move {
            let rows: Vec<DomainRow> = self.db.fetch_all(self.st().domains, &[]).await.map_err(failed)?;
            Ok(rows.into_iter().map(DomainRow::entry).collect())
        })
    }

    fn create_domain(&self, d: DomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", &d.domain)?;
            if self.domain(&name).await?.is_some() {
                return Err(AdminError::Exists(format!("domain {name}")));
            }
            let params = self.domain_params(&name, &d);
            self.db.execute(self.st().create_domain, &params).await.map_err(failed)?;
            self.invalidate();
            self.refresh_domains().await?;
            Ok(())
        })
    }

    fn update_domain(&self, d: DomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", &d.domain)?;
            let params = self.domain_params(&name, &d);
            let n = self.db.execute(self.st().update_domain, &params).await;
            self.changed(n, &format!("domain {name}")).await?;
            self.refresh_domains().await?;
            Ok(())
        })
    }

    fn delete_domain<'a>(&'a self, domain: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let name = admin::check_domain("domain", domain)?;
            let used: Option<Count> = self.db.fetch_optional(self.st().domain_in_use, &[text(&name)]).await.map_err(failed)?;
            if let Some(c) = used.filter(|c| c.n > 0) {
                return Err(admin::invalid("domain", format!("{name} still has {} mailboxes, aliases or alias domains; delete them first", c.n)));
            }
            let n = self.db.execute(self.st().delete_domain, &[text(&name)]).await;
            self.changed(n, &format!("domain {name}")).await?;
            self.refresh_domains().await?;
            Ok(())
        })
    }

    fn mailboxes<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<MailboxEntry>> {
        Box::pin(async move {
            let d = domain.map(|d| admin::check_domain("domain", d)).transpose()?.unwrap_or_default();
            let rows: Vec<MailboxRow> = self.db.fetch_all(self.st().mailboxes, &[Param::Text(d)]).await.map_err(failed)?;
            Ok(rows.into_iter().map(mailbox_entry).collect())
        })
    }

    fn create_mailbox(&self, m: MailboxEntry, password_hash: String) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, domain) = admin::check_mailbox(&m)?;
            self.need_domain(&domain, "address").await?;
            let existing: Option<MailboxRow> = self.db.fetch_optional(self.st().mailbox_exists, &[text(&address)]).await.map_err(failed)?;
            let alias: Option<AliasRow> = self.db.fetch_optional(self.st().alias_exists, &[text(&address)]).await.map_err(failed)?;
            if existing.is_some() || alias.is_some() {
                return Err(AdminError::Exists(format!("{address}")));
            }
            let local = address.rsplit_once('@').map_or("", |(l, _)| l).to_string();
            let maildir = format!("{domain}/{local}/");
            let params = [
                text(&address),
                Param::Text(stored_hash(password_hash, self.schema)),
                text(&m.name),
                Param::Text(maildir),
                db_quota(m.quota, self.schema),
                Param::Text(local),
                text(&domain),
                Param::Bool(m.active),
            ];
            self.db.execute(self.st().create_mailbox, &params).await.map_err(failed)?;
            if let Some(sql) = self.st().create_self_alias {
                self.db.execute(sql, &[text(&address), text(&domain), Param::Bool(m.active)]).await.map_err(failed)?;
            }
            self.invalidate();
            Ok(())
        })
    }

    fn update_mailbox(&self, m: MailboxEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_mailbox(&m)?;
            let params = [text(&address), text(&m.name), db_quota(m.quota, self.schema), Param::Bool(m.active)];
            let n = self.db.execute(self.st().update_mailbox, &params).await;
            self.changed(n, &format!("mailbox {address}")).await
        })
    }

    fn set_password<'a>(&'a self, address: &'a str, password_hash: String) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            let n = self.db.execute(self.st().set_password, &[text(&address), Param::Text(stored_hash(password_hash, self.schema))]).await;
            self.changed(n, &format!("mailbox {address}")).await
        })
    }

    fn delete_mailbox<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            let n = self.db.execute(self.st().delete_mailbox, &[text(&address)]).await;
            self.changed(n, &format!("mailbox {address}")).await?;
            if let Some(sql) = self.st().delete_self_alias {
                self.db.execute(sql, &[text(&address)]).await.map_err(failed)?;
            }
            Ok(())
        })
    }

    fn password_hash<'a>(&'a self, address: &'a str) -> Change<'a, Option<String>> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            let row: Option<HashRow> = self.db.fetch_optional(self.st().password, &[text(&address)]).await.map_err(failed)?;
            Ok(row.and_then(|r| r.hash).filter(|h| !h.is_empty()))
        })
    }

    fn aliases<'a>(&'a self, domain: Option<&'a str>) -> Change<'a, Vec<AliasEntry>> {
        Box::pin(async move {
            let d = domain.map(|d| admin::check_domain("domain", d)).transpose()?.unwrap_or_default();
            let rows: Vec<AliasRow> = self.db.fetch_all(self.st().aliases, &[Param::Text(d)]).await.map_err(failed)?;
            Ok(rows.into_iter().map(alias_entry).collect())
        })
    }

    fn create_alias(&self, a: AliasEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, domain) = admin::check_alias_address(&a.address)?;
            let targets = admin::check_targets(&address, &a.targets)?;
            self.need_domain(&domain, "address").await?;
            let existing: Option<AliasRow> = self.db.fetch_optional(self.st().alias_exists, &[text(&address)]).await.map_err(failed)?;
            if existing.is_some() {
                return Err(AdminError::Exists(format!("alias {address}")));
            }
            let params = [text(&address), Param::Text(targets.join(",")), text(&domain), Param::Bool(a.active)];
            self.db.execute(self.st().create_alias, &params).await.map_err(failed)?;
            self.invalidate();
            Ok(())
        })
    }

    fn update_alias(&self, a: AliasEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_alias_address(&a.address)?;
            let targets = admin::check_targets(&address, &a.targets)?;
            let n = self.db.execute(self.st().update_alias, &[text(&address), Param::Text(targets.join(",")), Param::Bool(a.active)]).await;
            self.changed(n, &format!("alias {address}")).await
        })
    }

    fn delete_alias<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_alias_address(address)?;
            let n = self.db.execute(self.st().delete_alias, &[text(&address)]).await;
            self.changed(n, &format!("alias {address}")).await
        })
    }

    fn alias_domains(&self) -> Change<'_, Vec<AliasDomainEntry>> {
        Box::pin(async move {
            let rows: Vec<AliasDomainRow> = self.db.fetch_all(self.st().alias_domains, &[]).await.map_err(failed)?;
            Ok(rows.into_iter().map(alias_domain_entry).collect())
        })
    }

    fn create_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (alias, target) = self.alias_domain_pair(&a).await?;
            let existing: Option<AliasDomainRow> = self.db.fetch_optional(self.st().alias_domain_exists, &[text(&alias)]).await.map_err(failed)?;
            if existing.is_some() {
                return Err(AdminError::Exists(format!("alias domain {alias}")));
            }
            self.db.execute(self.st().create_alias_domain, &[text(&alias), text(&target), Param::Bool(a.active)]).await.map_err(failed)?;
            self.invalidate();
            Ok(())
        })
    }

    fn update_alias_domain(&self, a: AliasDomainEntry) -> Change<'_, ()> {
        Box::pin(async move {
            let (alias, target) = self.alias_domain_pair(&a).await?;
            let n = self.db.execute(self.st().update_alias_domain, &[text(&alias), text(&target), Param::Bool(a.active)]).await;
            self.changed(n, &format!("alias domain {alias}")).await
        })
    }

    fn delete_alias_domain<'a>(&'a self, alias_domain: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let alias = admin::check_domain("alias_domain", alias_domain)?;
            let n = self.db.execute(self.st().delete_alias_domain, &[text(&alias)]).await;
            self.changed(n, &format!("alias domain {alias}")).await
        })
    }
}

impl SqlBackend {
    /// Both domains checked and existing (PostfixAdmin's foreign keys).
    async fn alias_domain_pair(&self, a: &AliasDomainEntry) -> Result<(String, String), AdminError> {
        let alias = admin::check_domain("alias_domain", &a.alias_domain)?;
        let target = admin::check_domain("target_domain", &a.target_domain)?;
        admin::check_alias_domain_pair(&alias, &target)?;
        self.need_domain(&alias, "alias_domain").await?;
        self.need_domain(&target, "target_domain").await?;
        Ok((alias, target))
    }
}

fn alias_domain_entry(r: AliasDomainRow) -> AliasDomainEntry {
    AliasDomainEntry { alias_domain: r.alias_domain, target_domain: r.target_domain, active: r.active }
}

fn mailbox_entry(r: MailboxRow) -> MailboxEntry {
    MailboxEntry { address: r.address, name: r.name, quota: r.quota.map(|q| q.max(0) as u64), active: r.active, maildir: r.maildir }
}

fn alias_entry(r: AliasRow) -> AliasEntry {
    let targets = r.targets.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
    AliasEntry { address: r.address, targets, active: r.active }
}
