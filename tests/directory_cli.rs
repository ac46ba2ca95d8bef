//! One directory suite on every backend: `files` (TOML), `sqlite` and `postgres` in the
//! postern schema, and a PostfixAdmin database in PostgreSQL. Accounts are made with
//! `postern domain|mailbox|alias`, then the running daemon is checked with real clients:
//! RCPT, AUTH (swaks), delivery into the Maildir, and changes made while it runs.
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::peers::{require_tool, run};
use support::pg::{self, Postgres};
use support::{Dialog, ServerBuilder, TestServer, wait};

fn rcpt(server: &TestServer, rcpt: &str) -> u16 {
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@remote.test>", 250);
    let code = d.cmd(&format!("RCPT TO:<{rcpt}>")).code;
    d.expect("QUIT", 221);
    code
}

fn auth(server: &TestServer, login: &str, password: &str) -> bool {
    let mut c = Command::new(require_tool("swaks"));
    c.args(["--server", &server.submission().to_string(), "--helo", "client.test", "--quit-after", "AUTH"])
        .args(["--tls", "--tls-verify", "--tls-ca-path"])
        .arg(server.cert_path())
        .args(["--auth", "PLAIN", "--auth-user", login, "--auth-password", password]);
    run(&mut c, b"").code() == Some(0)
}

fn wait_new(dir: &Path, n: usize) {
    wait::until(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || std::fs::read_dir(dir.join("new")).map(|r| r.count()).unwrap_or(0),
        |c| *c >= n,
        |c| format!("{} has {c} messages, want {n}", dir.display()),
    );
}

/// The suite: `builder` names the backend; `vmail` is `mailboxes.root`.
fn suite(builder: ServerBuilder, vmail: &Path) {
    let mut server = builder
        .set("mailboxes.root", vmail.display().to_string())
        .set("directory.cache_ttl", "1s")
        .list("relay.local_domains", &[])
        .list("relay.trusted_networks", &[])
        .set("delivery.retry_initial", "1h")
        .prepare();
    server.cli_ok(&["domain", "add", "example.org", "--description", "main"], "");
    server.cli_ok(&["mailbox", "add", "alice@example.org", "--name", "Alice", "--quota", "1000000"], "alice pw\n");
    server.cli_ok(&["mailbox", "add", "Bob@Example.org"], "bob pw\n");
    server.cli_ok(&["alias", "add", "sales@example.org", "alice@example.org", "bob@example.org"], "");
    server.cli_ok(&["alias", "add", "@example.org", "alice@example.org"], "");
    server.cli_fails(&["mailbox", "add", "alice@example.org"], "pw\n", 65, "already exists");
    server.cli_fails(&["mailbox", "add", "x@unknown.test"], "pw\n", 65, "domain unknown.test does not exist");
    server.cli_fails(&["domain", "delete", "example.org"], "pw\n", 65, "still has");
    server.cli_fails(&["mailbox", "delete", "nobody@example.org"], "pw\n", 67, "not found");
    let list = server.cli_ok(&["mailbox", "list"], "");
    assert!(list.contains("alice@example.org\t1000000\tactive\tAlice") && list.contains("bob@example.org"), "{list}");
    let json: serde_json::Value = serde_json::from_str(&server.cli_ok(&["alias", "list", "--json"], "")).unwrap();
    assert!(json.as_array().unwrap().iter().any(|a| a["address"] == "sales@example.org"), "{json}");
    assert!(server.cli_ok(&["domain", "list"], "").contains("example.org"));

    server.spawn();
    assert_eq!(rcpt(&server, "alice@example.org"), 250);
    assert_eq!(rcpt(&server, "sales@example.org"), 250);
    assert_eq!(rcpt(&server, "anyone@example.org"), 250, "catch-all");
    assert_eq!(rcpt(&server, "x@elsewhere.test"), 554);
    assert!(auth(&server, "alice@example.org", "alice pw"), "alice logs in\n{}", server.log_text());
    assert!(!auth(&server, "alice@example.org", "bob pw"));
    assert!(auth(&server, "bob@example.org", "bob pw"));

    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("sender@remote.test", &["sales@example.org"], "Subject: to sales\r\n\r\nhello\r\n");
    d.expect("QUIT", 221);
    wait_new(&vmail.join("example.org/alice"), 1);
    wait_new(&vmail.join("example.org/bob"), 1);

    // Changes while the daemon runs are seen without a restart.
    server.cli_ok(&["alias", "delete", "@example.org"], "");
    server.cli_ok(&["domain", "add", "example.net"], "");
    server.cli_ok(&["mailbox", "add", "carol@example.net"], "carol pw\n");
    echo_passwd(&server, "alice@example.org", "new alice pw");
    wait::until(
        Duration::from_secs(10),
        Duration::from_millis(300),
        || (rcpt(&server, "anyone@example.org"), rcpt(&server, "carol@example.net"), auth(&server, "alice@example.org", "new alice pw")),
        |v| *v == (550, 250, true),
        |v| format!("changes not seen: (catch-all gone, new domain, new password) = {v:?}"),
    );
    assert!(!auth(&server, "alice@example.org", "alice pw"), "the old password must stop working");
    server.cli_ok(&["mailbox", "delete", "bob@example.org"], "");
    wait::until(
        Duration::from_secs(10),
        Duration::from_millis(300),
        || rcpt(&server, "bob@example.org"),
        |c| *c == 550,
        |c| format!("deleted mailbox still accepted: {c}"),
    );
}

fn echo_passwd(server: &TestServer, address: &str, password: &str) {
    server.cli_ok(&["mailbox", "passwd", address], &format!("{password}\n"));
}

#[test]
fn files_backend() {
    let vmail = tempfile::tempdir().unwrap();
    suite(ServerBuilder::new(), vmail.path());
}

#[test]
fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("directory.db").display());
    suite(ServerBuilder::new().set("directory.backend", "sqlite").set("directory.url", url), &dir.path().join("vmail"));
}

#[test]
fn postgres_backends() {
    let pg = Postgres::start();
    let vmail = tempfile::tempdir().unwrap();
    // postern's own schema, the URL from a file as a secret would be.
    let url_file = vmail.path().join("directory-url");
    std::fs::write(&url_file, format!("{}\n", pg.create_db("postern"))).unwrap();
    suite(
        ServerBuilder::new().set("directory.backend", "postgres").set("directory.url_file", url_file.display().to_string()),
        &vmail.path().join("postern"),
    );
    // An existing PostfixAdmin database: the CLI writes rows as PostfixAdmin does.
    let url = pg.create_db("postfixadmin");
    pg.psql("postfixadmin", &pg::fixture("postfixadmin/pgsql.sql"));
    suite(
        ServerBuilder::new().set("directory.backend", "postgres").set("directory.url", url).set("directory.schema", "postfixadmin"),
        &vmail.path().join("postfixadmin"),
    );
    let rows = pg.psql("postfixadmin", "SELECT username, maildir, local_part, domain FROM mailbox ORDER BY username");
    assert_eq!(rows.trim(), "alice@example.org|example.org/alice/|alice|example.org\ncarol@example.net|example.net/carol/|carol|example.net");
    let self_alias = pg.psql("postfixadmin", "SELECT goto FROM alias WHERE address = 'carol@example.net'");
    assert_eq!(self_alias.trim(), "carol@example.net", "PostfixAdmin keeps a self-alias per mailbox");

    // PostfixAdmin -> postern schema in SQLite: the accounts keep their passwords.
    let from = ServerBuilder::new().set("directory.backend", "postgres").set("directory.url", pg.url("postfixadmin")).set("directory.schema", "postfixadmin").prepare();
    let db = vmail.path().join("migrated.db");
    let to = format!("sqlite://{}", db.display());
    assert!(migrate(&from, &to).contains("mailboxes: 2 copied, 0 already there"));
    assert!(migrate(&from, &to).contains("mailboxes: 0 copied, 2 already there"), "a second run keeps what is there");
    let server = on_sqlite(&to);
    assert!(auth(&server, "alice@example.org", "new alice pw"), "migrated password\n{}", server.log_text());
    assert!(auth(&server, "carol@example.net", "carol pw"));
    assert_eq!(rcpt(&server, "sales@example.org"), 250);
    assert_eq!(rcpt(&server, "nobody@example.org"), 550);
}

/// `postern directory migrate --to URL` with `from`'s config, asserted to succeed; its report.
#[track_caller]
fn migrate(from: &TestServer, to: &str) -> String {
    let out = from.cli(&["directory", "migrate", "--to", to], b"");
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{report}");
    report
}

/// postern over the SQLite directory at `url`, nobody trusted.
fn on_sqlite(url: &str) -> TestServer {
    ServerBuilder::new()
        .set("directory.backend", "sqlite")
        .set("directory.url", url)
        .list("relay.local_domains", &[])
        .list("relay.trusted_networks", &[])
        .start()
}

#[test]
fn migrate_files_to_sqlite() {
    let from = ServerBuilder::new().list("relay.local_domains", &[]).prepare();
    from.cli_ok(&["domain", "add", "example.org"], "");
    from.cli_ok(&["mailbox", "add", "alice@example.org", "--quota", "5000"], "alice pw\n");
    from.cli_ok(&["alias", "add", "sales@example.org", "alice@example.org"], "");
    from.cli_ok(&["alias", "add", "@example.org", "alice@example.org"], "");
    // An alias domain and a domain's limits are copied too.
    from.cli_ok(&["domain", "add", "example.info", "--max-mailboxes", "5", "--max-aliases", "-1", "--max-quota", "1048576"], "");
    from.cli_ok(&["alias-domain", "add", "example.info", "example.org"], "");
    let mailboxes_file = std::fs::read_to_string(from.dir().join("config/mailboxes.toml")).unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let to = format!("sqlite://{}", dir.path().join("directory.db").display());
    let report = migrate(&from, &to);
    assert!(report.contains("domains: 2 copied") && report.contains("mailboxes: 1 copied") && report.contains("aliases: 2 copied"), "{report}");
    assert!(report.contains("alias domains: 1 copied"), "{report}\n{mailboxes_file}");
    let server = on_sqlite(&to);
    assert!(auth(&server, "alice@example.org", "alice pw"), "migrated password\n{}", server.log_text());
    assert_eq!(rcpt(&server, "sales@example.org"), 250);
    assert_eq!(rcpt(&server, "whoever@example.org"), 250, "catch-all migrated");
    let list = server.cli_ok(&["mailbox", "list"], "");
    assert!(list.contains("alice@example.org\t5000\t"), "{list}");
    assert_eq!(rcpt(&server, "alice@example.info"), 250, "the alias domain migrated\n{}", server.log_text());
    assert_eq!(server.cli_ok(&["alias-domain", "list"], ""), "example.info\texample.org\tactive\n");
    let domains: serde_json::Value = serde_json::from_str(&server.cli_ok(&["domain", "list", "--json"], "")).unwrap();
    let info = domains.as_array().unwrap().iter().find(|d| d["domain"] == "example.info").cloned().unwrap();
    assert_eq!((info["max_mailboxes"].as_i64(), info["max_aliases"].as_i64(), info["max_quota"].as_u64()), (Some(5), Some(-1), Some(1048576)), "{info}");
    // The limits hold on the target: -1 aliases.
    server.cli_fails(&["alias", "add", "x@example.info", "alice@example.org"], "", 65, "max_aliases");
}

/// relay.sender_login: an authenticated login may use only the senders it owns.
#[test]
fn sender_login_mismatch_is_refused() {
    let mut server = ServerBuilder::new().list("relay.local_domains", &[]).set("relay.sender_login", true).prepare();
    server.cli_ok(&["domain", "add", "example.org"], "");
    server.cli_ok(&["mailbox", "add", "alice@example.org"], "alice pw\n");
    server.cli_ok(&["mailbox", "add", "bob@example.org"], "bob pw\n");
    server.cli_ok(&["alias", "add", "sales@example.org", "alice@example.org", "bob@example.org"], "");
    server.cli_ok(&["alias", "add", "ceo@example.org", "bob@example.org"], "");
    server.spawn();
    let mut d = Dialog::connect(server.submission());
    d.ehlo();
    d.starttls(&server.cert_path());
    d.ehlo();
    d.auth_plain("alice@example.org", "alice pw").assert(235, "2.7.0");
    for (sender, code) in [
        ("alice@example.org", 250),
        ("ALICE+news@example.org", 250),
        ("sales@example.org", 250),
        ("ceo@example.org", 553),
        ("bob@example.org", 553),
        ("", 250),
    ] {
        let r = d.cmd(&format!("MAIL FROM:<{sender}>"));
        assert_eq!(r.code, code, "MAIL FROM:<{sender}> as alice: {r:?}");
        if code == 553 {
            assert_eq!(r.enhanced(), Some("5.7.1"));
            assert!(r.text().contains("not owned by user alice@example.org"), "{r:?}");
        } else {
            d.expect("RSET", 250);
        }
    }
    // The From header is held to the same rule as MAIL FROM.
    for (from, code) in [("Alice <alice@example.org>", 250), ("Sales <sales@example.org>", 250), ("The CEO <ceo@example.org>", 553)] {
        d.expect("MAIL FROM:<alice@example.org>", 250);
        d.expect("RCPT TO:<bob@example.org>", 250);
        d.expect("DATA", 354);
        d.send(format!("From: {from}\r\nTo: bob@example.org\r\nSubject: as whom\r\n\r\nhi\r\n").as_bytes());
        let r = d.cmd(".");
        assert_eq!(r.code, code, "From: {from}: {r:?}");
        if code == 553 {
            assert!(r.text().contains("not owned by user alice@example.org"), "{r:?}");
        }
    }
    d.expect("QUIT", 221);
}
