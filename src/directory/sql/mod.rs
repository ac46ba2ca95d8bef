//! The SQL directory: SQLite or PostgreSQL (sqlx, runtime queries), in postern's own
//! schema or an existing PostfixAdmin database (`schema.rs`).
//!
//! Owns: the connection pool, the lookup cache (`directory.cache_ttl`), the refresh of
//! the listed domains into `relay.listed`, and turning every database failure into
//! `Unavailable` (a temporary answer, never "no such user"). Keys are normalized addresses.
pub mod admin;
pub mod schema;

use super::backend::{Account, Backend, Lookup, Unavailable};
use crate::config::{Config, DirectoryBackend, DirectorySchema, DomainSets, ListedDomains};
use schema::Queries;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::FromRow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one query may wait for a connection: a database that is down answers
/// `Unavailable` this soon, so SMTP clients get their 451 well within their timeouts.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("directory.url: {0}")]
    Url(String),
    #[error("directory: {0}")]
    Db(#[from] sqlx::Error),
}

/// The pool of one of the two databases.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A row type both drivers can decode.
pub trait Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {}
impl<T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>> Row for T {}

/// A statement parameter.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                Param::Text(v) => q.bind(v.clone()),
                Param::OptText(v) => q.bind(v.clone()),
                Param::Int(v) => q.bind(*v),
                Param::OptInt(v) => q.bind(*v),
                Param::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

impl Db {
    /// Opens the pool lazily: a database that is down at start makes lookups answer
    /// `Unavailable` until it is back, it does not stop the daemon.
    pub fn open(backend: DirectoryBackend, url: &str) -> Result<Db, SqlError> {
        match backend {
            DirectoryBackend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| SqlError::Url(e.to_string()))?
                    .create_if_missing(true)
                    .busy_timeout(ACQUIRE_TIMEOUT);
                Ok(Db::Sqlite(SqlitePoolOptions::new().max_connections(4).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(opts)))
            }
            DirectoryBackend::Postgres => {
                let opts = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| SqlError::Url(e.to_string()))?;
                Ok(Db::Postgres(PgPoolOptions::new().max_connections(8).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(opts)))
            }
            DirectoryBackend::Files => Err(SqlError::Url("the files backend has no database".into())),
        }
    }

    pub async fn fetch_all<T: Row>(&self, sql: &'static str, params: &[Param]) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Db::Sqlite(p) => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_all(p).await,
            Db::Postgres(p) => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_all(p).await,
        }
    }

    pub async fn fetch_optional<T: Row>(&self, sql: &'static str, params: &[Param]) -> Result<Option<T>, sqlx::Error> {
        match self {
            Db::Sqlite(p) => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_optional(p).await,
            Db::Postgres(p) => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_optional(p).await,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub async fn execute(&self, sql: &'static str, params: &[Param]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => bind_all!(sqlx::query(sql), params).execute(p).await?.rows_affected(),
            Db::Postgres(p) => bind_all!(sqlx::query(sql), params).execute(p).await?.rows_affected(),
        })
    }

    /// Runs several `;`-separated statements without parameters (schema creation).
    pub async fn execute_script(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
            Db::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        }
    }
}

/// The database URL: `directory.url`, else the first line of `directory.url_file`.
pub fn url(cfg: &Config) -> Result<String, SqlError> {
    let d = &cfg.directory;
    if !d.url.is_empty() {
        return Ok(d.url.clone());
    }
    let path: &PathBuf = d.url_file.as_ref().ok_or_else(|| SqlError::Url("set directory.url or directory.url_file".into()))?;
    let text = std::fs::read_to_string(path).map_err(|e| SqlError::Url(format!("cannot read {}: {e}", path.display())))?;
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string).ok_or_else(|| SqlError::Url(format!("{} is empty", path.display())))
}

/// Brings a postern-schema database to the current version (idempotent).
pub async fn migrate(db: &Db) -> Result<(), sqlx::Error> {
    db.execute_script(schema::POSTERN_V1).await?;
    #[derive(FromRow)]
    struct Version {
        version: i64,
    }
    let have: Option<Version> = db.fetch_optional("SELECT version FROM postern_schema", &[]).await?;
    let mut at = match have {
        // A database V1 has just created (or one that never recorded its version).
        None => {
            db.execute("INSERT INTO postern_schema (version) VALUES ($1)", &[Param::Int(1)]).await?;
            1
        }
        Some(v) => v.version,
    };
    if at > schema::POSTERN_VERSION {
        tracing::warn!(version = at, known = schema::POSTERN_VERSION, "the directory database was written by a newer postern");
        return Ok(());
    }
    // Each later version's step, in order; the version is recorded after each.
    let steps: [(i64, &'static str); 1] = [(2, schema::POSTERN_V2)];
    for (version, step) in steps {
        if at < version {
            db.execute_script(step).await?;
            db.execute("UPDATE postern_schema SET version = $1", &[Param::Int(version)]).await?;
            tracing::info!(version, "directory database schema upgraded");
            at = version;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
struct AccountRow {
    login: String,
    password_hash: Option<String>,
    mailbox: bool,
    maildir: Option<String>,
    quota: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
struct AliasRow {
    targets: String,
}

#[derive(Debug, Clone, FromRow)]
struct TargetRow {
    target: String,
}

#[derive(Debug, Clone, FromRow)]
struct NumberRow {
    n: i64,
}

#[derive(Debug, Clone, FromRow)]
struct DomainRow {
    domain: String,
    backupmx: bool,
}

/// Answers reused for `ttl`; failures are never cached.
struct Cache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

/// Above this many entries, expired ones are dropped.
const CACHE_PRUNE_AT: usize = 10_000;

impl<V: Clone> Cache<V> {
    fn new(ttl: Duration) -> Cache<V> {
        Cache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &str) -> Option<V> {
        let map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    fn put(&self, key: &str, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= CACHE_PRUNE_AT {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        map.insert(key.to_string(), (Instant::now(), value));
    }

    fn clear(&self) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

fn unavailable(e: sqlx::Error) -> Unavailable {
    Unavailable(e.to_string())
}

/// The SQL directory backend.
pub struct SqlBackend {
    db: Db,
    schema: DirectorySchema,
    queries: &'static Queries,
    accounts: Cache<Option<Account>>,
    aliases: Cache<Option<Vec<String>>>,
    alias_domains: Cache<Option<String>>,
    domain_quotas: Cache<u64>,
    listed: ListedDomains,
    /// When the domain list was last read (None: never).
    domains_read: Mutex<Option<Instant>>,
    ttl: Duration,
}

impl SqlBackend {
    /// The backend for `cfg.directory`; the postern schema is created when missing (a
    /// database that is down at start is migrated by `postern directory migrate` or the
    /// next start).
    pub async fn open(cfg: &Config) -> Result<SqlBackend, SqlError> {
        let db = Db::open(cfg.directory.backend, &url(cfg)?)?;
        let ttl = cfg.directory.cache_ttl.get();
        let backend = SqlBackend {
            schema: cfg.directory.schema,
            queries: schema::queries(cfg.directory.schema),
            accounts: Cache::new(ttl),
            aliases: Cache::new(ttl),
            alias_domains: Cache::new(ttl),
            domain_quotas: Cache::new(ttl),
            listed: cfg.relay.listed.clone(),
            domains_read: Mutex::new(None),
            ttl,
            db,
        };
        if cfg.directory.schema == DirectorySchema::Postern {
            if let Err(e) = migrate(&backend.db).await {
                tracing::warn!(error = %e, "directory database: cannot create the postern schema now; lookups answer 'temporarily unavailable' until it can");
            }
        }
        match backend.refresh_domains().await {
            Ok(n) => tracing::info!(domains = n, schema = ?cfg.directory.schema, "directory database open"),
            Err(e) => tracing::warn!(error = %e, "directory database unavailable at start; lookups answer 'temporarily unavailable' until it is back"),
        }
        Ok(backend)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The table layout (the vacation store picks its statements by it).
    pub(in crate::directory) fn schema(&self) -> DirectorySchema {
        self.schema
    }

    /// Re-reads the listed domains into `relay.listed`; their number.
    async fn refresh_domains(&self) -> Result<usize, Unavailable> {
        let rows: Vec<DomainRow> = self.db.fetch_all(self.queries.domains, &[]).await.map_err(unavailable)?;
        let mut sets = DomainSets::default();
        for r in rows {
            let d = super::normalize_domain(&r.domain);
            if r.backupmx { sets.relay.insert(d) } else { sets.local.insert(d) };
        }
        let n = sets.local.len() + sets.relay.len();
        self.listed.replace(sets);
        *self.domains_read.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        Ok(n)
    }

    /// Keeps the listed domains current: re-read every `cache_ttl` (at least every second)
    /// until the process ends. A failed read keeps the last list.
    pub fn spawn_refresh(self: &std::sync::Arc<Self>) {
        let me = std::sync::Arc::downgrade(self);
        let every = self.ttl.max(Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(me) = me.upgrade() else { return };
                if let Err(e) = me.refresh_domains().await {
                    tracing::warn!(error = %e, "directory: cannot refresh the domain list; keeping the last one");
                }
            }
        });
    }

    async fn cached<V: Clone + Send>(
        &self,
        cache: &Cache<V>,
        key: &str,
        load: impl std::future::Future<Output = Result<V, sqlx::Error>>,
    ) -> Result<V, Unavailable> {
        if let Some(v) = cache.get(key) {
            return Ok(v);
        }
        let v = load.await.map_err(unavailable)?;
        cache.put(key, v.clone());
        Ok(v)
    }

    /// Forget every cached answer (after a change made through postern).
    pub fn invalidate(&self) {
        self.accounts.clear();
        self.aliases.clear();
        self.alias_domains.clear();
        self.domain_quotas.clear();
    }
}

/// Alias targets as stored (`a@x, b@y`), without the address itself when it is the only
/// one (PostfixAdmin keeps a self-alias for every mailbox) and without PostfixAdmin's
/// vacation pseudo-targets (`user#domain@autoreply.…`: postern answers vacations itself).
fn targets(address: &str, goto: &str) -> Option<Vec<String>> {
    let list: Vec<String> = goto
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .filter(|t| !t.split_once('@').is_some_and(|(l, d)| l.contains('#') && d.starts_with("autoreply.")))
        .map(str::to_string)
        .collect();
    let only_self = list.iter().all(|t| super::normalize(t) == address);
    (!list.is_empty() && !only_self).then_some(list)
}

impl Backend for SqlBackend {
    fn account<'a>(&'a self, login: &'a str) -> Lookup<'a, Option<Account>> {
        Box::pin(async move {
            let key = login.to_lowercase();
            self.cached(&self.accounts, &key, async {
                let row: Option<AccountRow> = self.db.fetch_optional(self.queries.account, &[Param::Text(key.clone())]).await?;
                Ok(row.map(|r| Account {
                    login: r.login,
                    password_hash: r.password_hash.filter(|h| !h.is_empty()),
                    mailbox: r.mailbox,
                    quota: r.quota.map(|q| q.max(0) as u64),
                    maildir: r.maildir.filter(|m| !m.is_empty()).map(PathBuf::from),
                    active: true,
                }))
            })
            .await
        })
    }

    fn alias<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vec<String>>> {
        Box::pin(async move {
            self.cached(&self.aliases, address, async {
                let row: Option<AliasRow> = self.db.fetch_optional(self.queries.alias, &[Param::Text(address.to_string())]).await?;
                Ok(row.and_then(|r| targets(address, &r.targets)))
            })
            .await
        })
    }

    fn catch_all<'a>(&'a self, domain: &'a str) -> Lookup<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let key = format!("@{domain}");
            self.cached(&self.aliases, &key, async {
                let row: Option<AliasRow> = self.db.fetch_optional(self.queries.alias, &[Param::Text(key.clone())]).await?;
                Ok(row.and_then(|r| targets(&key, &r.targets)))
            })
            .await
        })
    }

    fn alias_domain<'a>(&'a self, domain: &'a str) -> Lookup<'a, Option<String>> {
        Box::pin(async move {
            self.cached(&self.alias_domains, domain, async {
                let row: Option<TargetRow> = self.db.fetch_optional(self.queries.alias_domain, &[Param::Text(domain.to_string())]).await?;
                Ok(row.map(|r| super::normalize_domain(&r.target)))
            })
            .await
        })
    }

    fn domain_quota<'a>(&'a self, domain: &'a str) -> Lookup<'a, u64> {
        Box::pin(async move {
            self.cached(&self.domain_quotas, domain, async {
                let row: Option<NumberRow> = self.db.fetch_optional(self.queries.domain_quota, &[Param::Text(domain.to_string())]).await?;
                Ok(row.map_or(0, |r| r.n.max(0) as u64))
            })
            .await
        })
    }

    fn lists_users<'a>(&'a self, domain: &'a str) -> Lookup<'a, bool> {
        Box::pin(async move {
            let never_read = self.domains_read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_none();
            if never_read {
                self.refresh_domains().await?;
            }
            Ok(self.listed.is_local(domain))
        })
    }

    fn reload(&self) {
        self.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfixadmin_targets() {
        assert_eq!(targets("a@x", "a@x"), None, "self-alias of a mailbox");
        assert_eq!(targets("a@x", "a@x,a#x@autoreply.x"), None, "vacation pseudo-target");
        assert_eq!(targets("a@x", "a@x, b@y"), Some(vec!["a@x".into(), "b@y".into()]));
        assert_eq!(targets("@x", "c@x"), Some(vec!["c@x".into()]));
        assert_eq!(targets("a@x", ""), None);
    }

    /// A database version 1 wrote (with a domain in it) gets the limit columns, its domain
    /// keeps its row with no limits, and running the migration again changes nothing.
    #[tokio::test]
    async fn v1_database_upgrades_to_v2() {
        #[derive(FromRow)]
        struct Row {
            domain: String,
            max_mailboxes: i64,
            max_aliases: i64,
            max_quota: i64,
        }
        #[derive(FromRow)]
        struct Version {
            version: i64,
        }
        let t = tempfile::tempdir().unwrap();
        let db = Db::open(DirectoryBackend::Sqlite, &format!("sqlite://{}", t.path().join("v1.db").display())).unwrap();
        db.execute_script(schema::POSTERN_V1).await.unwrap();
        db.execute("INSERT INTO postern_schema (version) VALUES (1)", &[]).await.unwrap();
        db.execute("INSERT INTO postern_domains (domain, quota) VALUES ('old.test', 5)", &[]).await.unwrap();
        for _ in 0..2 {
            migrate(&db).await.unwrap();
            let v: Vec<Version> = db.fetch_all("SELECT version FROM postern_schema", &[]).await.unwrap();
            assert_eq!(v.iter().map(|v| v.version).collect::<Vec<_>>(), [schema::POSTERN_VERSION]);
            let rows: Vec<Row> = db.fetch_all("SELECT domain, max_mailboxes, max_aliases, max_quota FROM postern_domains", &[]).await.unwrap();
            assert_eq!(rows.iter().map(|r| (r.domain.as_str(), r.max_mailboxes, r.max_aliases, r.max_quota)).collect::<Vec<_>>(), [("old.test", 0, 0, 0)]);
        }
    }

    #[test]
    fn cache_expires_and_skips_zero_ttl() {
        let c = Cache::new(Duration::from_millis(50));
        c.put("k", 1);
        assert_eq!(c.get("k"), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("k"), None);
        let off = Cache::new(Duration::ZERO);
        off.put("k", 1);
        assert_eq!(off.get("k"), None);
    }
}
