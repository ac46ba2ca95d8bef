//! The SQL each table layout answers with, one text for SQLite and PostgreSQL (both take
//! `$N` placeholders and `true`/`false`).
//!
//! Owns: the `postern` schema (created at start, versioned in `postern_schema`) and the
//! queries over an existing PostfixAdmin database, the ones its documented Postfix
//! `*_maps` and Dovecot `password_query` use: inactive rows and rows of inactive domains
//! act as absent; the special domain `ALL` (PostfixAdmin's superadmin marker) is no domain.
use crate::config::DirectorySchema;

/// The statements one schema answers lookups and changes with.
pub struct Queries {
    /// login → (login, password_hash, mailbox, maildir, quota, name)
    pub account: &'static str,
    /// address → goto (comma separated)
    pub alias: &'static str,
    /// alias domain → target domain
    pub alias_domain: &'static str,
    /// () → (domain, backupmx) for every active domain
    pub domains: &'static str,
    /// domain → n: bytes all its mailboxes may hold (0 or less: no limit)
    pub domain_quota: &'static str,
}

pub fn queries(schema: DirectorySchema) -> &'static Queries {
    match schema {
        DirectorySchema::Postern => &POSTERN,
        DirectorySchema::Postfixadmin => &POSTFIXADMIN,
    }
}

const POSTFIXADMIN: Queries = Queries {
    account: "SELECT m.username AS login, m.password AS password_hash, true AS mailbox, m.maildir AS maildir, \
              CAST(m.quota AS BIGINT) AS quota, m.name AS name \
              FROM mailbox m JOIN domain d ON d.domain = m.domain \
              WHERE m.username = $1 AND m.active = true AND d.active = true",
    alias: "SELECT a.goto AS targets FROM alias a JOIN domain d ON d.domain = a.domain \
            WHERE a.address = $1 AND a.active = true AND d.active = true",
    alias_domain: "SELECT ad.target_domain AS target FROM alias_domain ad \
                   JOIN domain d ON d.domain = ad.target_domain \
                   WHERE ad.alias_domain = $1 AND ad.active = true AND d.active = true",
    domains: "SELECT domain, backupmx FROM domain WHERE active = true AND domain <> 'ALL'",
    // PostfixAdmin keeps it in MB.
    domain_quota: "SELECT CAST(quota AS BIGINT) * 1048576 AS n FROM domain WHERE domain = $1",
};

const POSTERN: Queries = Queries {
    account: "SELECT a.login AS login, a.password AS password_hash, a.mailbox AS mailbox, a.maildir AS maildir, \
              CAST(a.quota AS BIGINT) AS quota, a.name AS name FROM postern_accounts a \
              LEFT JOIN postern_domains d ON d.domain = a.domain \
              WHERE a.login = $1 AND a.active = true AND (d.domain IS NULL OR d.active = true)",
    alias: "SELECT a.targets AS targets FROM postern_aliases a \
            LEFT JOIN postern_domains d ON d.domain = a.domain \
            WHERE a.address = $1 AND a.active = true AND (d.domain IS NULL OR d.active = true)",
    alias_domain: "SELECT ad.target_domain AS target FROM postern_alias_domains ad \
                   JOIN postern_domains d ON d.domain = ad.target_domain \
                   WHERE ad.alias_domain = $1 AND ad.active = true AND d.active = true",
    domains: "SELECT domain, backupmx FROM postern_domains WHERE active = true",
    domain_quota: "SELECT quota AS n FROM postern_domains WHERE domain = $1",
};

/// The current version of the postern schema, and the statements that bring an empty
/// database to it. A later version appends its own step; `postern_schema` records where a
/// database is; `migrate` runs the steps after it (`POSTERN_V2`, ...).
pub const POSTERN_VERSION: i64 = 2;

/// Version 2: per-domain limits as PostfixAdmin has them (`domain.mailboxes`, `aliases`,
/// `maxquota`); 0 = unlimited, -1 = none allowed; `max_quota` in bytes.
pub const POSTERN_V2: &str = "
ALTER TABLE postern_domains ADD COLUMN max_mailboxes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE postern_domains ADD COLUMN max_aliases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE postern_domains ADD COLUMN max_quota BIGINT NOT NULL DEFAULT 0;
";
pub const POSTERN_V1: &str = "
CREATE TABLE IF NOT EXISTS postern_schema (version BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS postern_domains (
    domain TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    backupmx BOOLEAN NOT NULL DEFAULT false,
    quota BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS postern_accounts (
    login TEXT PRIMARY KEY,
    local_part TEXT NOT NULL DEFAULT '',
    domain TEXT NOT NULL DEFAULT '',
    password TEXT,
    name TEXT NOT NULL DEFAULT '',
    mailbox BOOLEAN NOT NULL DEFAULT true,
    maildir TEXT,
    quota BIGINT,
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS postern_aliases (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL DEFAULT '',
    targets TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS postern_alias_domains (
    alias_domain TEXT PRIMARY KEY,
    target_domain TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS postern_vacation (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    active_from BIGINT,
    active_until BIGINT,
    interval_secs BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS postern_vacation_notified (
    address TEXT NOT NULL,
    sender TEXT NOT NULL,
    notified_at BIGINT NOT NULL,
    PRIMARY KEY (address, sender)
);
";
