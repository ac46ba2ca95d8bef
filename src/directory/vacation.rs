//! Vacation (out-of-office) settings of mailboxes and whom each mailbox already answered,
//! on every backend: the files backend keeps them in `vacation.toml` next to
//! `mailboxes.file` (notifications in `data_dir/vacation-notified.json`); the SQL backend in
//! `postern_vacation` / `postern_vacation_notified` (postern schema) or PostfixAdmin's own
//! `vacation` / `vacation_notification` tables, written as PostfixAdmin writes them.
//!
//! Owns: the `Vacation` model and its validation, the `VacationStore` trait and its two
//! implementations, and the dates the CLI accepts (`parse_time`). Sending the replies is
//! the app layer's (`app::vacation`); this module only stores.
use super::admin::{self, AdminError, Change};
use super::backend::{Backend, Lookup, Unavailable};
use super::files::FilesBackend;
use super::normalize;
use super::sql::{Db, Param, SqlBackend};
use crate::config::{Config, DirectorySchema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One week: PostfixAdmin's default reply interval ("one week").
pub const DEFAULT_INTERVAL: u64 = 7 * 24 * 3600;

/// PostfixAdmin's column defaults meaning "no limit": `activefrom` 2000-01-01 and
/// `activeuntil` 2038-01-18 (unix seconds, UTC).
const PFA_NO_START: i64 = 946_684_800;
const PFA_NO_END: i64 = 2_147_385_600;
/// A PostgreSQL server in another time zone shifts those defaults by up to a day.
const DAY: i64 = 86_400;

/// Notifications the files backend keeps at most; the oldest go first beyond that.
pub const MAX_NOTIFIED: usize = 10_000;

/// A mailbox's auto-reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vacation {
    /// The mailbox (normalized address).
    pub address: String,
    /// Empty: "Auto: " and the subject of the message answered. `$SUBJECT` (PostfixAdmin's
    /// placeholder) is replaced by that subject.
    #[serde(default)]
    pub subject: String,
    pub body: String,
    /// Replies start at this time (unix seconds); None: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Replies end after this time (unix seconds); None: until switched off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Seconds before the same sender is answered again; 0: only once.
    #[serde(default = "default_interval")]
    pub interval: u64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_interval() -> u64 {
    DEFAULT_INTERVAL
}

fn yes() -> bool {
    true
}

impl Vacation {
    /// Switched on and `now` within its window: mail arriving now is answered.
    pub fn applies_at(&self, now: i64) -> bool {
        self.active && self.from.is_none_or(|f| f <= now) && self.until.is_none_or(|u| now <= u)
    }

    /// "off", "scheduled" (starts later), "on" or "ended", at `now`.
    pub fn state(&self, now: i64) -> &'static str {
        match (self.active, self.from, self.until) {
            (false, _, _) => "off",
            (true, Some(f), _) if now < f => "scheduled",
            (true, _, Some(u)) if now > u => "ended",
            _ => "on",
        }
    }
}

/// Checks what a client sends; the normalized vacation.
pub fn check_vacation(v: Vacation) -> Result<Vacation, AdminError> {
    let (address, _) = admin::check_address("address", &v.address)?;
    if v.subject.chars().any(char::is_control) {
        return Err(admin::invalid("subject", "must be one line without control characters"));
    }
    if v.subject.chars().count() > 255 {
        return Err(admin::invalid("subject", "longer than 255 characters"));
    }
    if v.body.trim().is_empty() {
        return Err(admin::invalid("body", "empty"));
    }
    if v.body.contains('\0') {
        return Err(admin::invalid("body", "contains a NUL character"));
    }
    if let (Some(f), Some(u)) = (v.from, v.until)
        && u < f
    {
        return Err(admin::invalid("until", "before the start (from)"));
    }
    // PostfixAdmin's interval_time is a 32-bit integer column.
    if v.interval > i32::MAX as u64 {
        return Err(admin::invalid("interval", format!("at most {} seconds", i32::MAX)));
    }
    Ok(Vacation { address, ..v })
}

/// Where vacations are kept. Addresses are normalized mailbox addresses; `sender` an
/// envelope sender as `normalize` makes it.
pub trait VacationStore: Send + Sync {
    /// The stored vacation of a mailbox, on or off (what the CLI and admin API show).
    fn get_vacation<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vacation>>;

    /// The vacation when it is switched on (the caller still checks its window with
    /// `Vacation::applies_at`); an inactive one acts as absent.
    fn vacation<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vacation>> {
        Box::pin(async move { Ok(self.get_vacation(address).await?.filter(|v| v.active)) })
    }

    /// Stores (replaces) the vacation of an existing mailbox (`NotFound` otherwise) and
    /// forgets whom it answered, as PostfixAdmin does: a new vacation answers everyone again.
    fn set_vacation(&self, v: Vacation) -> Change<'_, ()>;

    /// Switches the vacation off (its text is kept, as PostfixAdmin keeps it) and forgets
    /// whom it answered. `NotFound` when there is no such mailbox; no vacation is no error.
    fn clear_vacation<'a>(&'a self, address: &'a str) -> Change<'a, ()>;

    /// When this mailbox last answered this sender (unix seconds).
    fn last_notified<'a>(&'a self, address: &'a str, sender: &'a str) -> Lookup<'a, Option<i64>>;

    /// Records that this mailbox answered this sender at `at`.
    fn record_notified<'a>(&'a self, address: &'a str, sender: &'a str, at: i64) -> Change<'a, ()>;
}

// ---------------------------------------------------------------------------------------
// Dates

/// A time as the CLI takes it: `YYYY-MM-DD` (UTC; the start of that day, or its last
/// second with `end_of_day`) or RFC 3339 (`2026-07-01T08:00:00+02:00`, `...Z`).
pub fn parse_time(s: &str, end_of_day: bool) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)");
    let num = |t: &str| -> Result<i64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse().map_err(|_| bad())
    };
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut d = date.split('-');
    let (Some(y), Some(m), Some(day), None) = (d.next(), d.next(), d.next(), d.next()) else { return Err(bad()) };
    if y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let (y, m, day) = (num(y)?, num(m)?, num(day)?);
    if !(1..=12).contains(&m) || day < 1 || day > days_in_month(y, m) {
        return Err(bad());
    }
    let midnight = days_from_civil(y, m, day) * DAY;
    let Some(time) = time else {
        return Ok(if end_of_day { midnight + DAY - 1 } else { midnight });
    };
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => return Err(bad()),
    };
    let clock = clock.split_once('.').map_or(clock, |(c, frac)| if num(frac).is_ok() { c } else { "" });
    let mut c = clock.split(':');
    let (Some(h), Some(mi), Some(sec), None) = (c.next(), c.next(), c.next(), c.next()) else { return Err(bad()) };
    if h.len() != 2 || mi.len() != 2 || sec.len() != 2 {
        return Err(bad());
    }
    let (h, mi, sec) = (num(h)?, num(mi)?, num(sec)?);
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    let offset = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').ok_or_else(bad)?;
            if oh.len() != 2 || om.len() != 2 {
                return Err(bad());
            }
            let (oh, om) = (num(oh)?, num(om)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Ok(midnight + h * 3600 + mi * 60 + sec.min(59) - offset)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// Files backend

/// What identifies a version of a file: a change of any of these triggers a reload.
type Stamp = Option<(std::time::SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// `vacation.toml`: `[[vacation]]` entries.
#[derive(Debug, Default, Serialize, Deserialize)]
struct VacationFile {
    #[serde(default)]
    vacation: Vec<Vacation>,
}

/// `vacation-notified.json`: mailbox → sender → unix seconds.
type Notified = BTreeMap<String, BTreeMap<String, i64>>;

/// Vacations of the files backend.
pub struct FilesVacations {
    mailboxes: Arc<FilesBackend>,
    file: PathBuf,
    notified: PathBuf,
    /// The last version of `file` read, with its stamp.
    cache: Mutex<(Stamp, Arc<VacationFile>)>,
    /// One read-modify-write of a file at a time (within this process).
    write: Mutex<()>,
}

fn failed(path: &Path, e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same directory, synced before
/// it is renamed over `path`.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("vacation");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

impl FilesVacations {
    /// `vacation.toml` in the directory of `mailboxes.file`; notifications in
    /// `data_dir/vacation-notified.json`.
    pub fn new(cfg: &Config, mailboxes: Arc<FilesBackend>) -> FilesVacations {
        let dir = cfg.mailboxes.file.parent().map(Path::to_path_buf).unwrap_or_default();
        FilesVacations {
            mailboxes,
            file: dir.join("vacation.toml"),
            notified: cfg.server.data_dir.join("vacation-notified.json"),
            cache: Mutex::new((None, Arc::default())),
            write: Mutex::new(()),
        }
    }

    /// The vacations file, re-read when it changed; a file that no longer parses is
    /// logged and the previous version stays in force.
    fn table(&self) -> Arc<VacationFile> {
        let now = stamp(&self.file);
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.0 != now || now.is_none() {
            match self.read_table() {
                Ok(t) => *cache = (now, Arc::new(t)),
                Err(e) => {
                    tracing::error!(error = %e, "vacations not reloaded; keeping the previous ones");
                    cache.0 = now;
                }
            }
        }
        cache.1.clone()
    }

    fn read_table(&self) -> Result<VacationFile, AdminError> {
        match std::fs::read_to_string(&self.file) {
            Ok(t) => toml::from_str(&t).map_err(|e| failed(&self.file, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(VacationFile::default()),
            Err(e) => Err(failed(&self.file, e)),
        }
    }

    fn save_table(&self, t: &VacationFile) -> Result<(), AdminError> {
        let text = toml::to_string(t).map_err(|e| AdminError::Failed(e.to_string()))?;
        write_atomic(&self.file, text.as_bytes(), 0o644).map_err(|e| failed(&self.file, e))
    }

    fn read_notified(&self) -> Result<Notified, String> {
        match std::fs::read(&self.notified) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", self.notified.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Notified::new()),
            Err(e) => Err(format!("{}: {e}", self.notified.display())),
        }
    }

    fn save_notified(&self, n: &Notified) -> Result<(), AdminError> {
        let bytes = serde_json::to_vec(n).map_err(|e| AdminError::Failed(e.to_string()))?;
        write_atomic(&self.notified, &bytes, 0o600).map_err(|e| failed(&self.notified, e))
    }

    /// Drops what `address` answered (a vacation set anew or switched off).
    fn forget_notified(&self, address: &str) -> Result<(), AdminError> {
        let mut n = self.read_notified().map_err(AdminError::Failed)?;
        if n.remove(address).is_some() { self.save_notified(&n) } else { Ok(()) }
    }

    async fn need_mailbox(&self, address: &str) -> Result<(), AdminError> {
        match self.mailboxes.account(address).await? {
            Some(a) if a.mailbox => Ok(()),
            _ => Err(AdminError::NotFound(format!("mailbox {address}"))),
        }
    }
}

/// Keeps at most `MAX_NOTIFIED` entries, dropping the oldest.
fn bound(n: &mut Notified) {
    let total: usize = n.values().map(BTreeMap::len).sum();
    if total <= MAX_NOTIFIED {
        return;
    }
    let mut all: Vec<i64> = n.values().flat_map(|s| s.values().copied()).collect();
    all.sort_unstable();
    let mut excess = total - MAX_NOTIFIED;
    // Everything older than the cut goes; at the cut, just enough to reach the bound.
    let cut = all[excess - 1];
    for senders in n.values_mut() {
        senders.retain(|_, at| {
            if *at < cut {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
    for senders in n.values_mut() {
        senders.retain(|_, at| {
            if excess > 0 && *at == cut {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
    n.retain(|_, s| !s.is_empty());
}

impl VacationStore for FilesVacations {
    fn get_vacation<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vacation>> {
        Box::pin(async move {
            let key = normalize(address);
            Ok(self.table().vacation.iter().find(|v| normalize(&v.address) == key).cloned())
        })
    }

    fn set_vacation(&self, v: Vacation) -> Change<'_, ()> {
        Box::pin(async move {
            let v = check_vacation(v)?;
            self.need_mailbox(&v.address).await?;
            let _w = self.write.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut t = self.read_table()?;
            t.vacation.retain(|e| normalize(&e.address) != v.address);
            let address = v.address.clone();
            t.vacation.push(v);
            t.vacation.sort_by(|a, b| a.address.cmp(&b.address));
            self.save_table(&t)?;
            self.forget_notified(&address)
        })
    }

    fn clear_vacation<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            self.need_mailbox(&address).await?;
            let _w = self.write.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut t = self.read_table()?;
            let mut changed = false;
            for v in t.vacation.iter_mut().filter(|v| normalize(&v.address) == address && v.active) {
                v.active = false;
                changed = true;
            }
            if changed {
                self.save_table(&t)?;
            }
            self.forget_notified(&address)
        })
    }

    fn last_notified<'a>(&'a self, address: &'a str, sender: &'a str) -> Lookup<'a, Option<i64>> {
        Box::pin(async move {
            let n = self.read_notified().map_err(Unavailable)?;
            Ok(n.get(address).and_then(|s| s.get(sender)).copied())
        })
    }

    fn record_notified<'a>(&'a self, address: &'a str, sender: &'a str, at: i64) -> Change<'a, ()> {
        Box::pin(async move {
            let _w = self.write.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // A damaged file is started afresh rather than stopping every reply for good.
            let mut n = self.read_notified().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "vacation notifications unreadable; starting a new list");
                Notified::new()
            });
            n.entry(address.to_string()).or_default().insert(sender.to_string(), at);
            bound(&mut n);
            self.save_notified(&n)
        })
    }
}

// ---------------------------------------------------------------------------------------
// SQL backend

/// The statements of one schema on one database.
struct Statements {
    /// $1 address → (address, subject, body, active_from, active_until, interval_secs, active)
    get: &'static str,
    /// $1 address, $2 domain, $3 subject, $4 body, $5 from, $6 until, $7 interval, $8 active
    upsert: &'static str,
    /// $1 address
    deactivate: &'static str,
    /// $1 address, $2 sender → (at)
    notified: &'static str,
    /// $1 address, $2 sender, $3 at
    record: &'static str,
    /// $1 address
    forget: &'static str,
    /// $1 address → (address) of a mailbox, active or not
    mailbox: &'static str,
    /// How "no limit" is stored: NULL (postern) or PostfixAdmin's far dates.
    far_dates: bool,
}

const POSTERN: Statements = Statements {
    get: "SELECT address, subject, body, active_from, active_until, interval_secs, active FROM postern_vacation WHERE address = $1",
    upsert: "INSERT INTO postern_vacation (address, domain, subject, body, active_from, active_until, interval_secs, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (address) DO UPDATE SET domain = excluded.domain, \
             subject = excluded.subject, body = excluded.body, active_from = excluded.active_from, \
             active_until = excluded.active_until, interval_secs = excluded.interval_secs, active = excluded.active",
    deactivate: "UPDATE postern_vacation SET active = false WHERE address = $1",
    notified: "SELECT notified_at AS at FROM postern_vacation_notified WHERE address = $1 AND sender = $2",
    record: "INSERT INTO postern_vacation_notified (address, sender, notified_at) VALUES ($1, $2, $3) \
             ON CONFLICT (address, sender) DO UPDATE SET notified_at = excluded.notified_at",
    forget: "DELETE FROM postern_vacation_notified WHERE address = $1",
    mailbox: "SELECT login AS address FROM postern_accounts WHERE login = $1 AND mailbox = true",
    far_dates: false,
};

const PFA_SQLITE: Statements = Statements {
    get: "SELECT email AS address, subject, body, CAST(strftime('%s', activefrom) AS INTEGER) AS active_from, \
          CAST(strftime('%s', activeuntil) AS INTEGER) AS active_until, CAST(interval_time AS INTEGER) AS interval_secs, \
          active FROM vacation WHERE email = $1",
    // PostfixAdmin writes `cache` = '' on every database but PostgreSQL.
    upsert: "INSERT INTO vacation (email, domain, subject, body, cache, activefrom, activeuntil, interval_time, active, created, modified) \
             VALUES ($1, $2, $3, $4, '', datetime($5, 'unixepoch'), datetime($6, 'unixepoch'), CAST($7 AS INTEGER), $8, \
             datetime('now'), datetime('now')) \
             ON CONFLICT (email) DO UPDATE SET domain = excluded.domain, subject = excluded.subject, body = excluded.body, \
             activefrom = excluded.activefrom, activeuntil = excluded.activeuntil, interval_time = excluded.interval_time, \
             active = excluded.active, modified = datetime('now')",
    deactivate: "UPDATE vacation SET active = false, modified = datetime('now') WHERE email = $1",
    notified: "SELECT CAST(strftime('%s', notified_at) AS INTEGER) AS at FROM vacation_notification \
               WHERE on_vacation = $1 AND notified = $2",
    record: "INSERT INTO vacation_notification (on_vacation, notified, notified_at) VALUES ($1, $2, datetime($3, 'unixepoch')) \
             ON CONFLICT (on_vacation, notified) DO UPDATE SET notified_at = excluded.notified_at",
    forget: "DELETE FROM vacation_notification WHERE on_vacation = $1",
    mailbox: "SELECT username AS address FROM mailbox WHERE username = $1",
    far_dates: true,
};

const PFA_POSTGRES: Statements = Statements {
    get: "SELECT email AS address, subject, body, CAST(EXTRACT(EPOCH FROM activefrom) AS BIGINT) AS active_from, \
          CAST(EXTRACT(EPOCH FROM activeuntil) AS BIGINT) AS active_until, CAST(interval_time AS BIGINT) AS interval_secs, \
          active FROM vacation WHERE email = $1",
    upsert: "INSERT INTO vacation (email, domain, subject, body, activefrom, activeuntil, interval_time, active, created, modified) \
             VALUES ($1, $2, $3, $4, to_timestamp(CAST($5 AS DOUBLE PRECISION)), to_timestamp(CAST($6 AS DOUBLE PRECISION)), \
             CAST($7 AS INTEGER), $8, now(), now()) \
             ON CONFLICT (email) DO UPDATE SET domain = excluded.domain, subject = excluded.subject, body = excluded.body, \
             activefrom = excluded.activefrom, activeuntil = excluded.activeuntil, interval_time = excluded.interval_time, \
             active = excluded.active, modified = now()",
    deactivate: "UPDATE vacation SET active = false, modified = now() WHERE email = $1",
    notified: "SELECT CAST(EXTRACT(EPOCH FROM notified_at) AS BIGINT) AS at FROM vacation_notification \
               WHERE on_vacation = $1 AND notified = $2",
    record: "INSERT INTO vacation_notification (on_vacation, notified, notified_at) \
             VALUES ($1, $2, to_timestamp(CAST($3 AS DOUBLE PRECISION))) \
             ON CONFLICT (on_vacation, notified) DO UPDATE SET notified_at = excluded.notified_at",
    forget: "DELETE FROM vacation_notification WHERE on_vacation = $1",
    mailbox: "SELECT username AS address FROM mailbox WHERE username = $1",
    far_dates: true,
};

#[derive(sqlx::FromRow)]
struct VacationRow {
    address: String,
    subject: String,
    body: String,
    active_from: Option<i64>,
    active_until: Option<i64>,
    interval_secs: i64,
    active: bool,
}

#[derive(sqlx::FromRow)]
struct AtRow {
    at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    #[allow(dead_code)] // only its presence is read
    address: String,
}

fn sql_failed(e: sqlx::Error) -> AdminError {
    match &e {
        sqlx::Error::Database(_) => AdminError::Failed(e.to_string()),
        _ => AdminError::Unavailable(format!("directory unavailable: {e}")),
    }
}

impl SqlBackend {
    fn vacation_sql(&self) -> &'static Statements {
        match (self.schema(), self.db()) {
            (DirectorySchema::Postern, _) => &POSTERN,
            (DirectorySchema::Postfixadmin, Db::Sqlite(_)) => &PFA_SQLITE,
            (DirectorySchema::Postfixadmin, Db::Postgres(_)) => &PFA_POSTGRES,
        }
    }

    async fn need_mailbox(&self, address: &str) -> Result<(), AdminError> {
        let row: Option<AddressRow> =
            self.db().fetch_optional(self.vacation_sql().mailbox, &[Param::Text(address.to_string())]).await.map_err(sql_failed)?;
        row.map(drop).ok_or_else(|| AdminError::NotFound(format!("mailbox {address}")))
    }
}

impl VacationStore for SqlBackend {
    fn get_vacation<'a>(&'a self, address: &'a str) -> Lookup<'a, Option<Vacation>> {
        Box::pin(async move {
            let st = self.vacation_sql();
            let row: Option<VacationRow> = self
                .db()
                .fetch_optional(st.get, &[Param::Text(normalize(address))])
                .await
                .map_err(|e| Unavailable(e.to_string()))?;
            Ok(row.map(|r| Vacation {
                address: r.address,
                subject: r.subject,
                body: r.body,
                from: r.active_from.filter(|f| !st.far_dates || *f > PFA_NO_START + DAY),
                until: r.active_until.filter(|u| !st.far_dates || *u < PFA_NO_END - DAY),
                interval: r.interval_secs.max(0) as u64,
                active: r.active,
            }))
        })
    }

    fn set_vacation(&self, v: Vacation) -> Change<'_, ()> {
        Box::pin(async move {
            let v = check_vacation(v)?;
            self.need_mailbox(&v.address).await?;
            let st = self.vacation_sql();
            let domain = v.address.rsplit_once('@').map_or("", |(_, d)| d).to_string();
            let (from, until) = if st.far_dates {
                (Param::Int(v.from.unwrap_or(PFA_NO_START)), Param::Int(v.until.unwrap_or(PFA_NO_END)))
            } else {
                (Param::OptInt(v.from), Param::OptInt(v.until))
            };
            let params = [
                Param::Text(v.address.clone()),
                Param::Text(domain),
                Param::Text(v.subject),
                Param::Text(v.body),
                from,
                until,
                Param::Int(v.interval as i64),
                Param::Bool(v.active),
            ];
            self.db().execute(st.upsert, &params).await.map_err(sql_failed)?;
            self.db().execute(st.forget, &[Param::Text(v.address)]).await.map_err(sql_failed)?;
            Ok(())
        })
    }

    fn clear_vacation<'a>(&'a self, address: &'a str) -> Change<'a, ()> {
        Box::pin(async move {
            let (address, _) = admin::check_address("address", address)?;
            self.need_mailbox(&address).await?;
            let st = self.vacation_sql();
            self.db().execute(st.deactivate, &[Param::Text(address.clone())]).await.map_err(sql_failed)?;
            self.db().execute(st.forget, &[Param::Text(address)]).await.map_err(sql_failed)?;
            Ok(())
        })
    }

    fn last_notified<'a>(&'a self, address: &'a str, sender: &'a str) -> Lookup<'a, Option<i64>> {
        Box::pin(async move {
            let params = [Param::Text(address.to_string()), Param::Text(sender.to_string())];
            let row: Option<AtRow> =
                self.db().fetch_optional(self.vacation_sql().notified, &params).await.map_err(|e| Unavailable(e.to_string()))?;
            // A row whose time cannot be read still says "answered" (at the epoch).
            Ok(row.map(|r| r.at.unwrap_or(0)))
        })
    }

    fn record_notified<'a>(&'a self, address: &'a str, sender: &'a str, at: i64) -> Change<'a, ()> {
        Box::pin(async move {
            let params = [Param::Text(address.to_string()), Param::Text(sender.to_string()), Param::Int(at)];
            self.db().execute(self.vacation_sql().record, &params).await.map_err(sql_failed)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;

    fn vacation(address: &str) -> Vacation {
        Vacation {
            address: address.into(),
            subject: "Away".into(),
            body: "Back on Monday.\n".into(),
            from: None,
            until: None,
            interval: DEFAULT_INTERVAL,
            active: true,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_time("1970-01-01", false), Ok(0));
        assert_eq!(parse_time("2000-01-01", false), Ok(PFA_NO_START));
        assert_eq!(parse_time("2038-01-18", false), Ok(PFA_NO_END));
        assert_eq!(parse_time("2024-02-29", true), Ok(1_709_251_199));
        assert_eq!(parse_time("2026-07-01T08:00:00+02:00", false), Ok(parse_time("2026-07-01T06:00:00Z", false).unwrap()));
        assert_eq!(parse_time("2026-07-01T06:00:00.250Z", false), parse_time("2026-07-01T06:00:00Z", false));
        assert_eq!(parse_time("2026-07-01T06:00:00Z", false).unwrap() - parse_time("2026-07-01", false).unwrap(), 6 * 3600);
        for bad in ["2023-02-29", "2026-13-01", "26-07-01", "2026-07-01T25:00:00Z", "2026-07-01T06:00:00", "tomorrow", ""] {
            assert!(parse_time(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_and_validation() {
        let mut v = vacation("Alice@Example.ORG");
        (v.from, v.until) = (Some(100), Some(200));
        assert!(!v.applies_at(99) && v.applies_at(100) && v.applies_at(200) && !v.applies_at(201));
        assert_eq!((v.state(50), v.state(150), v.state(250)), ("scheduled", "on", "ended"));
        assert_eq!(check_vacation(v.clone()).unwrap().address, "alice@example.org");
        v.active = false;
        assert!(!v.applies_at(150) && v.state(150) == "off");
        let invalid = |v: Vacation| match check_vacation(v) {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(invalid(Vacation { subject: "a\r\nBcc: x@y".into(), ..vacation("a@x.test") }), "subject");
        assert_eq!(invalid(Vacation { body: " \n".into(), ..vacation("a@x.test") }), "body");
        assert_eq!(invalid(Vacation { from: Some(5), until: Some(4), ..vacation("a@x.test") }), "until");
        assert_eq!(invalid(vacation("not an address")), "address");
    }

    #[test]
    fn notifications_stay_bounded_oldest_first() {
        let mut n = Notified::new();
        for i in 0..(MAX_NOTIFIED + 5) {
            n.entry(format!("m{}@x.test", i % 3)).or_default().insert(format!("s{i}@y.test"), i as i64);
        }
        bound(&mut n);
        let all: Vec<i64> = n.values().flat_map(|s| s.values().copied()).collect();
        assert_eq!(all.len(), MAX_NOTIFIED);
        assert_eq!(all.iter().min(), Some(&5), "the five oldest went");
    }

    fn files_dir() -> (tempfile::TempDir, Config) {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.server.data_dir = t.path().join("data");
        cfg.relay.local_domains = vec!["example.org".into()];
        cfg.mailboxes.file = t.path().join("config/mailboxes.toml");
        cfg.aliases.file = t.path().join("config/aliases.toml");
        cfg.users.file = t.path().join("config/users.toml");
        cfg.srs.enabled = false;
        std::fs::create_dir_all(t.path().join("config")).unwrap();
        std::fs::write(&cfg.mailboxes.file, "[[mailbox]]\naddress = \"alice@example.org\"\n").unwrap();
        (t, cfg)
    }

    async fn store_roundtrip(store: &dyn VacationStore) {
        assert_eq!(store.get_vacation("alice@example.org").await.unwrap(), None);
        let missing = store.set_vacation(vacation("nobody@example.org")).await;
        assert!(matches!(missing, Err(AdminError::NotFound(_))), "{missing:?}");
        let mut v = vacation("Alice@example.org");
        v.from = Some(1_800_000_000);
        v.interval = 0;
        store.set_vacation(v.clone()).await.unwrap();
        let got = store.vacation("alice@example.org").await.unwrap().unwrap();
        assert_eq!(got, Vacation { address: "alice@example.org".into(), ..v.clone() });
        assert_eq!(store.last_notified("alice@example.org", "bob@remote.test").await.unwrap(), None);
        store.record_notified("alice@example.org", "bob@remote.test", 1_800_000_100).await.unwrap();
        store.record_notified("alice@example.org", "bob@remote.test", 1_800_000_200).await.unwrap();
        assert_eq!(store.last_notified("alice@example.org", "bob@remote.test").await.unwrap(), Some(1_800_000_200));
        // Set anew: everyone is answered again.
        v.until = Some(1_900_000_000);
        store.set_vacation(v.clone()).await.unwrap();
        assert_eq!(store.get_vacation("alice@example.org").await.unwrap().unwrap().until, Some(1_900_000_000));
        assert_eq!(store.last_notified("alice@example.org", "bob@remote.test").await.unwrap(), None);
        store.record_notified("alice@example.org", "bob@remote.test", 1_800_000_300).await.unwrap();
        store.clear_vacation("alice@example.org").await.unwrap();
        assert_eq!(store.vacation("alice@example.org").await.unwrap(), None, "off acts as absent");
        let kept = store.get_vacation("alice@example.org").await.unwrap().unwrap();
        assert!(!kept.active && kept.body == v.body, "the text is kept: {kept:?}");
        assert_eq!(store.last_notified("alice@example.org", "bob@remote.test").await.unwrap(), None);
        assert!(matches!(store.clear_vacation("nobody@example.org").await, Err(AdminError::NotFound(_))));
    }

    #[tokio::test]
    async fn files_store() {
        let (t, cfg) = files_dir();
        let d = Directory::open(&cfg).unwrap();
        store_roundtrip(d.vacations().unwrap()).await;
        assert!(t.path().join("config/vacation.toml").exists());
        assert!(t.path().join("data/vacation-notified.json").exists());
    }

    async fn sql_dir(cfg: &mut Config, url: String, schema: DirectorySchema) -> Directory {
        cfg.directory.backend = crate::config::DirectoryBackend::Sqlite;
        cfg.directory.url = url;
        cfg.directory.schema = schema;
        Directory::connect(cfg).await.unwrap()
    }

    #[tokio::test]
    async fn sqlite_postern_schema() {
        let (t, mut cfg) = files_dir();
        let url = format!("sqlite://{}", t.path().join("dir.db").display());
        let d = sql_dir(&mut cfg, url, DirectorySchema::Postern).await;
        let admin = d.admin().unwrap();
        admin.create_domain(admin::DomainEntry::new("example.org")).await.unwrap();
        let m = admin::MailboxEntry { address: "alice@example.org".into(), name: String::new(), quota: None, active: true, maildir: None };
        admin.create_mailbox(m, "x".into()).await.unwrap();
        store_roundtrip(d.vacations().unwrap()).await;
    }

    #[tokio::test]
    async fn sqlite_postfixadmin_schema() {
        let (t, mut cfg) = files_dir();
        let url = format!("sqlite://{}", t.path().join("pfa.db").display());
        let fixture = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postfixadmin/sqlite.sql")).unwrap();
        let db = Db::open(crate::config::DirectoryBackend::Sqlite, &url).unwrap();
        db.execute_script(Box::leak(fixture.into_boxed_str())).await.unwrap();
        let Db::Sqlite(pool) = &db else { unreachable!() };
        let d = sql_dir(&mut cfg, url, DirectorySchema::Postfixadmin).await;
        let admin = d.admin().unwrap();
        admin.create_domain(admin::DomainEntry::new("example.org")).await.unwrap();
        let m = admin::MailboxEntry { address: "alice@example.org".into(), name: String::new(), quota: None, active: true, maildir: None };
        admin.create_mailbox(m, "x".into()).await.unwrap();
        store_roundtrip(d.vacations().unwrap()).await;
        // No limits are PostfixAdmin's far dates in the table, and read back as none.
        let store = d.vacations().unwrap();
        store.set_vacation(vacation("alice@example.org")).await.unwrap();
        #[derive(sqlx::FromRow)]
        struct Row {
            activefrom: String,
            activeuntil: String,
            interval_time: i64,
            cache: String,
        }
        let r: Row = sqlx::query_as("SELECT activefrom, activeuntil, interval_time, cache FROM vacation").fetch_one(pool).await.unwrap();
        assert_eq!((r.activefrom.as_str(), r.activeuntil.as_str()), ("2000-01-01 00:00:00", "2038-01-18 00:00:00"));
        assert_eq!((r.interval_time, r.cache.as_str()), (DEFAULT_INTERVAL as i64, ""));
        let v = store.get_vacation("alice@example.org").await.unwrap().unwrap();
        assert_eq!((v.from, v.until), (None, None));
        // A row PostfixAdmin wrote with its column defaults.
        sqlx::raw_sql("UPDATE vacation SET activefrom = '2000-01-01', activeuntil = '2038-01-18'").execute(pool).await.unwrap();
        let v = store.get_vacation("alice@example.org").await.unwrap().unwrap();
        assert_eq!((v.from, v.until), (None, None));
    }
}
