//! The SQL directory against real databases: an existing PostfixAdmin database (the schema
//! PostfixAdmin 3.3 creates, `tests/fixtures/postfixadmin/`) in a private PostgreSQL 15 and
//! in SQLite, with password hashes made by independent tools (doveadm, mkpasswd, passlib).
//!
//! Checked as Postfix + Dovecot configured with PostfixAdmin's documented maps would behave:
//! AUTH with every scheme (swaks), mailboxes, aliases, alias domains, catch-alls, inactive
//! rows, backup-MX domains and quotas at RCPT, delivery into the `maildir` column's path
//! under `mailboxes.root`, changes seen without a restart, and a database outage answered
//! with 451/454 and deferred delivery, recovered when the database is back.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::hashes;
use support::peers::{require_tool, run};
use support::pg::{self, Postgres};
use support::queue::wait_queued;
use support::{Dialog, ServerBuilder, TestServer, wait};

const PASSWORD: &str = "correct horse";

/// Login → stored hash, one per scheme, each made by a tool nobody here wrote.
fn scheme_accounts() -> Vec<(&'static str, String)> {
    vec![
        ("sha512@example.org", hashes::mkpasswd("sha-512", PASSWORD)), // PostfixAdmin's default, bare
        ("sha256@example.org", hashes::doveadm("SHA256-CRYPT", PASSWORD)),
        ("blf@example.org", hashes::doveadm("BLF-CRYPT", PASSWORD)),
        ("bcrypt@example.org", hashes::passlib("bcrypt", PASSWORD)),
        ("argon2id@example.org", hashes::doveadm("ARGON2ID", PASSWORD)),
        ("argon2@example.org", hashes::passlib("argon2", PASSWORD)),
        ("md5crypt@example.org", hashes::doveadm("MD5-CRYPT", PASSWORD)),
        ("md5bare@example.org", hashes::mkpasswd("md5", PASSWORD)),
        ("ssha@example.org", hashes::doveadm("SSHA", PASSWORD)),
        ("ssha512@example.org", hashes::doveadm("SSHA512", PASSWORD)),
        ("ldapssha@example.org", hashes::passlib("ldap_salted_sha1", PASSWORD)),
        ("plainmd5@example.org", hashes::doveadm("PLAIN-MD5", PASSWORD)),
        ("hexmd5@example.org", hashes::passlib("hex_md5", PASSWORD)),
        ("ldapmd5@example.org", hashes::passlib("ldap_md5", PASSWORD)),
        ("plain@example.org", format!("{{PLAIN}}{PASSWORD}")),
    ]
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows of one PostfixAdmin installation, as its admin UI would have written them.
fn postfixadmin_rows() -> String {
    let mut sql = String::from(
        "INSERT INTO domain (domain, description, transport, backupmx, active) VALUES
            ('ALL', '', 'virtual', false, true),
            ('example.org', 'main', 'virtual', false, true),
            ('alias.test', 'alias of example.org', 'virtual', false, true),
            ('catch.test', 'catch-all', 'virtual', false, true),
            ('inactive.test', 'switched off', 'virtual', false, false),
            ('backup.test', 'we are its backup MX', 'virtual', true, true);
         INSERT INTO alias_domain (alias_domain, target_domain, active) VALUES ('alias.test', 'example.org', true);\n",
    );
    let alice = hashes::mkpasswd("sha-512", PASSWORD);
    let mut mailboxes: Vec<(String, String, i64, bool)> = vec![
        ("alice@example.org".into(), alice.clone(), 0, true),
        ("bob@example.org".into(), alice.clone(), 0, true),
        ("tiny@example.org".into(), alice.clone(), 10, true),
        ("gone@example.org".into(), alice.clone(), 0, false),
        ("someone@inactive.test".into(), alice, 0, true),
    ];
    mailboxes.extend(scheme_accounts().into_iter().map(|(l, h)| (l.to_string(), h, 0, true)));
    for (login, hash, quota, active) in &mailboxes {
        let (local, domain) = login.split_once('@').unwrap();
        // PostfixAdmin's maildir layout: domain/local/ (relative to Dovecot's mail root).
        sql += &format!(
            "INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active) \
             VALUES ({}, {}, {}, {}, {quota}, {}, {}, {active});\n",
            q(login), q(hash), q(local), q(&format!("{domain}/{local}/")), q(local), q(domain)
        );
        // Every PostfixAdmin mailbox has its self-alias.
        sql += &format!("INSERT INTO alias (address, goto, domain, active) VALUES ({}, {}, {}, {active});\n", q(login), q(login), q(domain));
    }
    sql += "INSERT INTO alias (address, goto, domain, active) VALUES
        ('sales@example.org', 'alice@example.org,bob@example.org', 'example.org', true),
        ('old@example.org', 'alice@example.org', 'example.org', false),
        ('@catch.test', 'alice@example.org', 'catch.test', true);\n";
    sql
}

/// postern over the database, Maildirs under `vmail`, nobody trusted (relay only by AUTH).
fn server(backend: &str, url: &str, vmail: &Path, quota_full: &str, rehash: bool) -> TestServer {
    ServerBuilder::new()
        .set("directory.rehash", rehash)
        .set("directory.backend", backend)
        .set("directory.url", url)
        .set("directory.schema", "postfixadmin")
        .set("directory.cache_ttl", "0s")
        .set("mailboxes.root", vmail.display().to_string())
        .set("mailboxes.quota_full", quota_full)
        .list("relay.local_domains", &[])
        .list("relay.trusted_networks", &[])
        .set("delivery.retry_initial", "1h")
        .start()
}

/// One SMTP session on port 25: the reply to each `RCPT TO` (after one MAIL FROM).
fn rcpt_codes(server: &TestServer, rcpts: &[&str]) -> Vec<(String, u16, String)> {
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@remote.test>", 250);
    let out = rcpts
        .iter()
        .map(|r| {
            let reply = d.cmd(&format!("RCPT TO:<{r}>"));
            (r.to_string(), reply.code, reply.enhanced().unwrap_or("").to_string())
        })
        .collect();
    d.expect("QUIT", 221);
    out
}

#[track_caller]
fn assert_rcpts(server: &TestServer, want: &[(&str, u16, &str)]) {
    let rcpts: Vec<&str> = want.iter().map(|w| w.0).collect();
    let got = rcpt_codes(server, &rcpts);
    let want: Vec<(String, u16, String)> = want.iter().map(|(a, c, e)| (a.to_string(), *c, e.to_string())).collect();
    assert_eq!(got, want, "\n{}", server.log_text());
}

/// swaks: STARTTLS, AUTH PLAIN as `login`, one message to `to`. Returns the transcript and
/// whether swaks succeeded.
fn swaks(server: &TestServer, login: &str, password: &str, to: &str) -> (bool, String) {
    let mut c = Command::new(require_tool("swaks"));
    c.args(["--server", &server.submission().to_string(), "--helo", "client.test"])
        .args(["--tls", "--tls-verify", "--tls-ca-path"])
        .arg(server.cert_path())
        .args(["--auth", "PLAIN", "--auth-user", login, "--auth-password", password])
        .args(["-f", login, "-t", to, "--header", "Subject: from a PostfixAdmin account"]);
    let r = run(&mut c, b"");
    (r.code() == Some(0), r.all())
}

/// The messages in the Maildir at `dir/new` once there are `n`.
#[track_caller]
fn wait_maildir(dir: &Path, n: usize) -> Vec<PathBuf> {
    wait::until(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || std::fs::read_dir(dir.join("new")).map(|r| r.map(|e| e.unwrap().path()).collect::<Vec<_>>()).unwrap_or_default(),
        |v| v.len() >= n,
        |v| format!("{} has {} messages, want {n}", dir.display(), v.len()),
    )
}

/// Every scheme logs in; a wrong password is 535; mail goes where the database says.
fn logins_and_delivery(server: &TestServer, vmail: &Path) {
    let mut sessions = Vec::new();
    for (login, hash) in scheme_accounts() {
        let (ok, transcript) = swaks(server, login, PASSWORD, "alice@example.org");
        let scheme = hash.split('}').next().filter(|_| hash.starts_with('{')).map_or_else(|| hash[..3].to_string(), |s| format!("{s}}}"));
        assert!(ok && transcript.contains("235 "), "AUTH as {login} ({scheme}) failed:\n{transcript}");
        sessions.push(format!("{login}: {scheme} -> 235"));
        let (ok, transcript) = swaks(server, login, "wrong password", "alice@example.org");
        assert!(!ok && transcript.contains("535 5.7.8"), "wrong password for {login}:\n{transcript}");
    }
    eprintln!("AUTH sessions:\n{}", sessions.join("\n"));
    let (ok, t) = swaks(server, "gone@example.org", PASSWORD, "alice@example.org");
    assert!(!ok && t.contains("535 "), "an inactive mailbox must not log in:\n{t}");
    let (ok, t) = swaks(server, "someone@inactive.test", PASSWORD, "alice@example.org");
    assert!(!ok && t.contains("535 "), "a mailbox of an inactive domain must not log in:\n{t}");
    // One message per scheme login, into PostfixAdmin's maildir path under the root.
    let alice = vmail.join("example.org/alice");
    wait_maildir(&alice, scheme_accounts().len());
}

fn rcpt_rules(server: &TestServer) {
    assert_rcpts(
        server,
        &[
            ("alice@example.org", 250, "2.1.5"),
            ("ALICE@Example.ORG", 250, "2.1.5"),
            ("alice+news@example.org", 250, "2.1.5"),
            ("sales@example.org", 250, "2.1.5"),
            ("nobody@example.org", 550, "5.1.1"),
            ("gone@example.org", 550, "5.1.1"),
            ("old@example.org", 550, "5.1.1"),
            ("bob@alias.test", 250, "2.1.5"),
            ("sales@alias.test", 250, "2.1.5"),
            ("nobody@alias.test", 550, "5.1.1"),
            ("anything@catch.test", 250, "2.1.5"),
            ("someone@inactive.test", 554, "5.7.1"),
            ("x@backup.test", 250, "2.1.5"),
            ("x@elsewhere.test", 554, "5.7.1"),
        ],
    );
}

#[test]
fn postfixadmin_database_in_postgresql() {
    let pg = Postgres::start();
    let url = pg.create_db("postfixadmin");
    pg.psql("postfixadmin", &pg::fixture("postfixadmin/pgsql.sql"));
    pg.psql("postfixadmin", &postfixadmin_rows());
    let vmail = tempfile::tempdir().unwrap();
    let server = server("postgres", &url, vmail.path(), "defer", false);
    rcpt_rules(&server);
    logins_and_delivery(&server, vmail.path());

    // Alias domain and catch-all deliver to the target's Maildir, envelope rewritten.
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("sender@remote.test", &["bob@alias.test", "who@catch.test"], "Subject: via aliases\r\n\r\nhi\r\n");
    d.expect("QUIT", 221);
    wait_maildir(&vmail.path().join("example.org/bob"), 1);

    // A change in the database is seen without a restart: a new domain and mailbox.
    pg.psql(
        "postfixadmin",
        "INSERT INTO domain (domain) VALUES ('new.test');
         INSERT INTO mailbox (username, password, maildir, local_part, domain) VALUES ('carol@new.test', '', 'new.test/carol/', 'carol', 'new.test');",
    );
    wait::until(
        Duration::from_secs(10),
        Duration::from_millis(300),
        || rcpt_codes(&server, &["carol@new.test", "dave@new.test"]),
        |v| v.iter().map(|r| r.1).collect::<Vec<_>>() == [250, 550],
        |v| format!("new domain not picked up: {v:?}"),
    );

    // Over quota with quota_full = defer: accepted, then deferred (4.2.2).
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    let id = d.send_mail("sender@remote.test", &["tiny@example.org"], "Subject: too big\r\n\r\nmore than ten bytes\r\n");
    d.expect("QUIT", 221);
    wait_queued(&server, &id, Duration::from_secs(20), |m| m.to_string().contains("4.2.2"));

    // A domain quota set through postern is stored as PostfixAdmin stores it: whole MB,
    // rounded up (5,000,000 bytes -> 5 MB, read back as 5 MiB).
    server.cli_ok(&["domain", "add", "quota.test", "--quota", "5000000"], "");
    let list: serde_json::Value = serde_json::from_str(&server.cli_ok(&["domain", "list", "--json"], "")).unwrap();
    let entry = list.as_array().unwrap().iter().find(|d| d["domain"] == "quota.test").cloned().unwrap_or_default();
    assert_eq!(entry["quota"], 5 * 1024 * 1024, "{list}");

    // The database goes away: RCPT and AUTH answer temporarily, delivery defers.
    pg.stop();
    assert_rcpts(&server, &[("alice@example.org", 451, "4.3.0"), ("nobody@example.org", 451, "4.3.0")]);
    let (ok, t) = swaks(&server, "sha512@example.org", PASSWORD, "alice@example.org");
    assert!(!ok && t.contains("454 4.7.0"), "AUTH while the database is down:\n{t}");
    assert!(server.cli(&["queue", "retry", &id], b"").status.success());
    let m = wait_queued(&server, &id, Duration::from_secs(20), |m| m.to_string().contains("unavailable"));
    eprintln!("while the database was down: {m}");
    assert!(!m.to_string().contains("\"bounced\""), "{m:#}");

    // Back: everything works again without a restart, the deferred message is delivered.
    pg.start_again();
    pg.psql("postfixadmin", "UPDATE mailbox SET quota = 0 WHERE username = 'tiny@example.org'");
    wait::until(
        Duration::from_secs(15),
        Duration::from_millis(300),
        || rcpt_codes(&server, &["alice@example.org"]),
        |v| v[0].1 == 250,
        |v| format!("not recovered: {v:?}"),
    );
    assert!(server.cli(&["queue", "retry", &id], b"").status.success());
    wait_maildir(&vmail.path().join("example.org/tiny"), 1);
    // The Maildir file appears before the scheduler records the result: wait for that too.
    wait_queued(&server, &id, Duration::from_secs(10), serde_json::Value::is_null);
}

#[test]
fn postfixadmin_database_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("postfixadmin.db");
    let py = support::peers::require_python(&["sqlite3"]);
    let script = format!("{}\n{}", pg::fixture("postfixadmin/sqlite.sql"), postfixadmin_rows());
    let out = run(
        Command::new(py).args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.stdin.read()); c.commit()"]).arg(&db),
        script.as_bytes(),
    );
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let vmail = dir.path().join("vmail");
    let server = server("sqlite", &format!("sqlite://{}", db.display()), &vmail, "reject", true);
    rcpt_rules(&server);
    // quota_full = reject: a message announced bigger than the room left is refused at RCPT.
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@remote.test> SIZE=5000", 250);
    d.cmd("RCPT TO:<tiny@example.org>").assert(552, "5.2.2");
    d.expect("RCPT TO:<alice@example.org>", 250);
    d.expect("QUIT", 221);
    logins_and_delivery(&server, &vmail);
    // directory.rehash: each older hash became argon2id (prefixed for Dovecot) at its first
    // login, and still logs in.
    let out = run(
        Command::new(support::peers::require_python(&["sqlite3"]))
            .args(["-c", "import sqlite3, sys; print('\\n'.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute('SELECT password FROM mailbox WHERE username = ?', (sys.argv[2],))))"])
            .arg(&db)
            .arg("md5crypt@example.org"),
        b"",
    );
    assert!(out.stdout.trim().starts_with("{ARGON2ID}$argon2id$"), "not rehashed: {}", out.all());
    let (ok, t) = swaks(&server, "md5crypt@example.org", PASSWORD, "alice@example.org");
    assert!(ok, "login after the rehash:\n{t}");

    // The domain's own quota (PostfixAdmin domain.quota, MB) counts every mailbox there:
    // 2 MB in bob's Maildir fill a 1 MB domain, so alice refuses too.
    let cur = vmail.join("example.org/bob/cur");
    std::fs::create_dir_all(&cur).unwrap();
    std::fs::write(cur.join("1.M1P1Q1.host,S=2000000:2,S"), b"x").unwrap();
    sqlite_exec(&db, "UPDATE domain SET quota = 1 WHERE domain = 'example.org'");
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@remote.test> SIZE=100", 250);
    d.cmd("RCPT TO:<alice@example.org>").assert(552, "5.2.2");
    d.expect("QUIT", 221);
    sqlite_exec(&db, "UPDATE domain SET quota = 0 WHERE domain = 'example.org'");
    assert_rcpts(&server, &[("alice@example.org", 250, "2.1.5")]);

    // Issue 17: per-domain limits and alias domains written through postern, as
    // PostfixAdmin's own rows (limits in domain.mailboxes/aliases, maxquota in MB).
    server.cli_ok(&["domain", "add", "limits.test", "--max-mailboxes", "1", "--max-aliases", "-1", "--max-quota", "3145728"], "");
    assert_eq!(
        sqlite_query(&db, "SELECT mailboxes, aliases, maxquota, quota, transport, backupmx, active FROM domain WHERE domain = 'limits.test'"),
        "1|-1|3|0|virtual|0|1"
    );
    server.cli_fails(&["mailbox", "add", "big@limits.test", "--quota", "4194304"], "pw\n", 65, "max_quota");
    server.cli_fails(&["mailbox", "add", "unlimited@limits.test", "--quota", "0"], "pw\n", 65, "max_quota");
    server.cli_ok(&["mailbox", "add", "one@limits.test", "--quota", "1048576"], "pw\n");
    server.cli_fails(&["mailbox", "add", "two@limits.test", "--quota", "1048576"], "pw\n", 65, "max_mailboxes");
    server.cli_fails(&["alias", "add", "info@limits.test", "one@limits.test"], "", 65, "max_aliases = -1");
    assert_eq!(sqlite_query(&db, "SELECT username, quota FROM mailbox WHERE domain = 'limits.test'"), "one@limits.test|1048576");
    assert_eq!(sqlite_query(&db, "SELECT address, goto FROM alias WHERE domain = 'limits.test'"), "one@limits.test|one@limits.test", "only the self-alias");
    let listed: serde_json::Value = serde_json::from_str(&server.cli_ok(&["domain", "list", "--json"], "")).unwrap();
    let entry = listed.as_array().unwrap().iter().find(|d| d["domain"] == "limits.test").cloned().unwrap();
    assert_eq!((entry["max_mailboxes"].as_i64(), entry["max_aliases"].as_i64(), entry["max_quota"].as_u64()), (Some(1), Some(-1), Some(3145728)), "{entry}");

    // An alias domain: both domains must exist (PostfixAdmin's foreign keys).
    server.cli_fails(&["alias-domain", "add", "nowhere.test", "example.org"], "", 65, "alias_domain: domain nowhere.test does not exist");
    server.cli_fails(&["alias-domain", "add", "limits.test", "limits.test"], "", 65, "target_domain");
    server.cli_ok(&["alias-domain", "add", "Limits.Test", "example.org"], "");
    server.cli_fails(&["alias-domain", "add", "limits.test", "example.org"], "", 65, "already exists");
    let row = sqlite_query(&db, "SELECT alias_domain, target_domain, active, created <> '2000-01-01', modified <> '2000-01-01' FROM alias_domain WHERE alias_domain = 'limits.test'");
    assert_eq!(row, "limits.test|example.org|1|1|1");
    assert!(server.cli_ok(&["alias-domain", "list"], "").contains("limits.test\texample.org\tactive"));
    assert_rcpts(&server, &[("alice@limits.test", 250, "2.1.5"), ("one@limits.test", 250, "2.1.5"), ("nobody@limits.test", 550, "5.1.1")]);
    server.cli_fails(&["domain", "delete", "limits.test"], "", 65, "alias domains");
    server.cli_ok(&["alias-domain", "delete", "limits.test"], "");
    assert_eq!(sqlite_query(&db, "SELECT COUNT(*) FROM alias_domain WHERE alias_domain = 'limits.test'"), "0");
    server.cli_fails(&["alias-domain", "delete", "limits.test"], "", 67, "not found");
    assert_rcpts(&server, &[("alice@limits.test", 550, "5.1.1")]);
}

/// The rows of one query, `|` between columns and a new line between rows.
fn sqlite_query(db: &Path, sql: &str) -> String {
    let py = support::peers::require_python(&["sqlite3"]);
    let code = "import sqlite3, sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(str(v) for v in r))";
    let out = run(Command::new(py).args(["-c", code]).arg(db).arg(sql), b"");
    assert_eq!(out.code(), Some(0), "{}", out.all());
    out.stdout.trim().to_string()
}

fn sqlite_exec(db: &Path, sql: &str) {
    let py = support::peers::require_python(&["sqlite3"]);
    let out = run(Command::new(py).args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"]).arg(db).arg(sql), b"");
    assert_eq!(out.code(), Some(0), "{}", out.all());
}
