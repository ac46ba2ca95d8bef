//! A private PostgreSQL 15 server for the SQL directory tests: `initdb` into a temp dir (as the
//! `postgres` user when the tests run as root, since initdb refuses root), `pg_ctl start` on
//! 127.0.0.1 and a free port, trust authentication (user `postgres`, no password), its socket
//! in the temp dir, fsync off. `psql` runs SQL (the fixtures in tests/fixtures/postfixadmin/);
//! `stop`/`start_again` take it down and bring it back on the same port (a database outage).
//! Dropped: stopped in immediate mode and its directory removed.
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use super::peers::{Run, free_port, run};

/// Where Debian's `postgresql-15` puts the server binaries (`initdb`, `pg_ctl`, `psql`, ...).
const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    /// `Some((uid, gid))` of `postgres` when the server runs as that user (tests as root).
    owner: Option<(u32, u32)>,
    running: AtomicBool,
}

impl Postgres {
    /// initdb + pg_ctl start; panics (with the server log) when it does not come up.
    #[track_caller]
    pub fn start() -> Postgres {
        let initdb = Path::new(BIN).join("initdb");
        assert!(
            initdb.is_file(),
            "PostgreSQL 15 not found ({} missing): run scripts/install-peers",
            initdb.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("postern-pg")
            .tempdir()
            .unwrap();
        // SAFETY: geteuid has no preconditions and cannot fail.
        let owner = (unsafe { libc::geteuid() } == 0).then(postgres_user);
        // mktemp's 0700 would keep the postgres user out of its own data directory's parent.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        if let Some((uid, gid)) = owner {
            chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let mut pg = Postgres {
            dir,
            port: 0,
            owner,
            running: AtomicBool::new(false),
        };
        let data = pg.data();
        let out = pg.server_cmd(&[
            "initdb",
            "-D",
            &data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        assert!(out.status.success(), "initdb failed:\n{}", out.all());
        // The port was free a moment ago; another process may take it before postgres binds.
        for attempt in 1..=3 {
            pg.port = free_port();
            let out = pg.pg_ctl_start();
            if out.status.success() {
                pg.running.store(true, Ordering::SeqCst);
                return pg;
            }
            assert!(
                attempt < 3,
                "pg_ctl start failed:\n{}\n--- server log:\n{}",
                out.all(),
                pg.log()
            );
        }
        unreachable!()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (`data/`, `log`, the Unix socket).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server wrote to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// `CREATE DATABASE name`; returns its URL `postgres://postgres@127.0.0.1:PORT/name`.
    #[track_caller]
    pub fn create_db(&self, name: &str) -> String {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name {name:?}: use [A-Za-z0-9_]"
        );
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// The URL of database `db` (user postgres, no password: trust authentication).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` (any number of statements, as a script on stdin) in database `db` with
    /// `psql -v ON_ERROR_STOP=1 -qAt`; panics with psql's stderr when a statement fails.
    /// Returns stdout: query results one row a line, columns separated by `|`.
    #[track_caller]
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = run(
            Command::new(Path::new(BIN).join("psql"))
                .args([
                    "-X",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-qAt",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                ])
                .args(["-p", &self.port.to_string(), "-d", db, "-f", "-"])
                .env("PGCONNECT_TIMEOUT", "10")
                .env_remove("PGPASSWORD")
                .env_remove("PGOPTIONS")
                .env_remove("PGSERVICE"),
            sql.as_bytes(),
        );
        assert!(
            out.status.success(),
            "psql -d {db} failed ({}):\n{}\n--- SQL:\n{}",
            out.status,
            out.stderr,
            truncate(sql, 2000)
        );
        out.stdout
    }

    /// `pg_ctl -m fast -w stop`: clients are disconnected, new connections refused.
    #[track_caller]
    pub fn stop(&self) {
        let data = self.data();
        let out = self.server_cmd(&["pg_ctl", "-D", &data, "-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed:\n{}", out.all());
        self.running.store(false, Ordering::SeqCst);
    }

    /// Starts the stopped server again, same port, same data.
    #[track_caller]
    pub fn start_again(&self) {
        let out = self.pg_ctl_start();
        assert!(
            out.status.success(),
            "pg_ctl start failed:\n{}\n--- server log:\n{}",
            out.all(),
            self.log()
        );
        self.running.store(true, Ordering::SeqCst);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_string()
    }

    fn pg_ctl_start(&self) -> Run {
        let (data, dir) = (self.data(), self.dir.path().to_str().unwrap().to_string());
        let log = format!("{dir}/log");
        let opts = format!("-h 127.0.0.1 -p {} -k {dir} -c fsync=off", self.port);
        self.server_cmd(&[
            "pg_ctl", "-D", &data, "-l", &log, "-w", "-o", &opts, "start",
        ])
    }

    /// A server binary from BIN, as `postgres` when the tests run as root.
    fn server_cmd(&self, args: &[&str]) -> Run {
        let bin = Path::new(BIN).join(args[0]);
        let mut cmd = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        // postgres cannot enter root's working directory; the temp dir is its own.
        cmd.args(&args[1..]).current_dir(self.dir.path());
        run(&mut cmd, b"")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running.load(Ordering::SeqCst) {
            let data = self.data();
            let _ = self.server_cmd(&["pg_ctl", "-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        // TempDir removes the directory (root, or the same user as the server).
    }
}

/// uid and gid of the `postgres` user (made by Debian's postgresql-common).
#[track_caller]
fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap_or_else(|e| panic!("id {flag} postgres: {e}"));
        assert!(
            out.status.success(),
            "no `postgres` user (it comes with the postgresql package): run scripts/install-peers"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A fixture file under tests/fixtures/, as text.
pub fn fixture(rel: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
