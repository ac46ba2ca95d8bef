//! Vacation auto-replies (RFC 3834) on every directory backend: the files backend, SQLite in
//! postern's schema, and PostgreSQL in postern's schema and in a PostfixAdmin database.
//! Mailboxes are made with `postern domain|mailbox add`, the vacation with `postern vacation
//! set`; replies to remote.test leave through a smarthost, the aiosmtpd receiver of
//! tests/peers.
//!
//! Checked: one reply from `<>` to the sender, threaded, `Auto-Submitted: auto-replied`,
//! DKIM-signed with example.org's key (dkimpy verifies it); none for a second message from
//! the same sender, list mail, `<>`, Bcc, `Auto-Submitted` mail, or after `postern vacation
//! off`. Each "no reply" is waited for by its logged decision, and a control message that
//! is answered, with the queue drained, proves nothing else is on its way. The store's rows
//! (PostfixAdmin's `vacation` / `vacation_notification`) are checked on each backend.
mod support;

use postern::dkim::{Algorithm, keygen};
use std::process::Command;
use std::time::Duration;
use support::dns::Dnsmasq;
use support::peers::{peer_file, require_python, run};
use support::pg::{self, Postgres};
use support::rcv::{Received, Receiver};
use support::server::wait_log;
use support::{Dialog, ServerBuilder, TestServer};

const BODY: &str = "I am away until Monday.\nUrgent matters: henry@example.org.\n";

/// One message on port 25; `headers` come before the standard ones.
fn send(server: &TestServer, from: &str, rcpts: &[&str], to: &str, id: &str, headers: &str) {
    let msg = format!(
        "{headers}From: <{from}>\r\nTo: {to}\r\nSubject: lunch on Friday?\r\nMessage-ID: <{id}>\r\n\
         References: <earlier@remote.test>\r\n\r\nAre you free?\r\n"
    );
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail(from, rcpts, &msg);
    d.expect("QUIT", 221);
}

/// Waits for the logged decision not to answer `from` for `reason`.
#[track_caller]
fn skipped(server: &TestServer, from: &str, reason: &str) {
    wait_log(server, &["vacation reply skipped", &format!("from=<{from}>"), reason], Duration::from_secs(20));
}

/// dkimpy (tests/peers/dkim_verify.py) verifies `msg` against `key`, published by dnsmasq.
#[track_caller]
fn dkim_verifies(msg: &[u8], key: &postern::dkim::GeneratedKey) {
    let dns = Dnsmasq::start(&format!("local=/example.org/\ntxt-record={},\"{}\"\n", key.record_name, key.txt));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), msg).unwrap();
    let py = require_python(&["dkim", "dns.resolver"]);
    let out = run(Command::new(&py).arg(peer_file("dkim_verify.py")).arg("verify").arg(file.path()).args(["--ns", &dns.spec()]), b"");
    assert_eq!(out.code(), Some(0), "dkimpy: {}", out.all());
}

fn text(m: &Received) -> String {
    String::from_utf8_lossy(&m.content()).into_owned()
}

/// The header section of a received message, unfolded, as (lower-case name, value).
fn headers(m: &Received) -> Vec<(String, String)> {
    let t = text(m);
    let head = t.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ").replace("\r\n\t", " ");
    head.lines().filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string())).collect()
}

fn header(m: &Received, name: &str) -> Option<String> {
    headers(m).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The replies at the receiver: (envelope sender, recipient, From header).
fn replies(rcv: &Receiver) -> Vec<(String, String, String)> {
    let mut r: Vec<_> =
        rcv.messages().iter().map(|m| (m.mail_from.clone(), m.rcpt_tos.join(","), header(m, "from").unwrap_or_default())).collect();
    r.sort();
    r
}

/// The scenario on one backend; `check_db` looks at the store after the first reply and
/// after `vacation off`.
fn scenario(builder: ServerBuilder, check_db: &dyn Fn(&TestServer, &str)) {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen("example.org", "vac2026", Algorithm::Rsa2048, keys.path()).unwrap();
    let mut dkim = toml::Table::new();
    dkim.insert("domain".into(), "example.org".into());
    dkim.insert("selector".into(), "vac2026".into());
    dkim.insert("key".into(), key.path.to_str().unwrap().into());
    let rcv = Receiver::start(&[]);
    let mut server = builder
        .list("relay.local_domains", &[])
        .list("relay.trusted_networks", &[])
        .list("delivery.smarthost", &[&rcv.addr.to_string()])
        .set("delivery.retry_initial", "1h")
        .set("dkim", toml::Value::Array(vec![toml::Value::Table(dkim)]))
        .prepare();
    server.cli_ok(&["domain", "add", "example.org"], "");
    server.cli_ok(&["mailbox", "add", "alice@example.org", "--name", "Alice"], "alice pw\n");
    server.cli_ok(&["mailbox", "add", "henry@example.org"], "henry pw\n");
    server.cli_ok(&["alias", "add", "team@example.org", "alice@example.org"], "");
    let body_file = server.dir().join("away.txt");
    std::fs::write(&body_file, BODY).unwrap();
    let body = body_file.to_str().unwrap();
    server.cli_fails(&["vacation", "set", "nobody@example.org", "--subject", "x", "--body-file", body], "", 67, "not found");
    server.cli_fails(&["vacation", "set", "alice@example.org", "--subject", "x", "--body-file", body, "--from", "soon"], "", 65, "from:");
    server.cli_fails(&["vacation", "show", "alice@example.org"], "", 67, "not found");
    server.cli_ok(&["vacation", "set", "alice@example.org", "--subject", "Out of office", "--body-file", body, "--from", "2020-01-01"], "");
    server.cli_ok(&["vacation", "set", "henry@example.org", "--subject", "", "--body-file", "-", "--interval", "0"], "Henry is away.\n");
    let shown: serde_json::Value = serde_json::from_str(&server.cli_ok(&["vacation", "show", "Alice@Example.org", "--json"], "")).unwrap();
    assert_eq!(shown["address"], "alice@example.org", "{shown}");
    assert_eq!((shown["state"].as_str(), shown["interval"].as_u64(), shown["from"].as_i64()), (Some("on"), Some(604_800), Some(1_577_836_800)));
    assert_eq!(shown["body"], BODY);
    assert!(shown.get("until").is_none_or(|u| u.is_null()), "{shown}");
    let human = server.cli_ok(&["vacation", "show", "henry@example.org"], "");
    assert!(human.contains("state:    on") && human.contains("each sender once") && human.ends_with("Henry is away.\n"), "{human}");
    server.spawn();

    // The first message from bob is answered, once.
    send(&server, "bob@remote.test", &["alice@example.org"], "Alice <alice@example.org>", "m1@remote.test", "");
    let got = rcv.wait_messages(1, Duration::from_secs(30), &server);
    let r = &got[0];
    assert_eq!((r.mail_from.as_str(), r.rcpt_tos.as_slice()), ("<>", &["bob@remote.test".to_string()][..]), "{}", text(r));
    assert_eq!(header(r, "auto-submitted").as_deref(), Some("auto-replied"), "{}", text(r));
    assert_eq!(header(r, "in-reply-to").as_deref(), Some("<m1@remote.test>"));
    assert_eq!(header(r, "references").as_deref(), Some("<earlier@remote.test> <m1@remote.test>"));
    assert_eq!(header(r, "subject").as_deref(), Some("Out of office"));
    assert_eq!(header(r, "to").as_deref(), Some("<bob@remote.test>"));
    assert!(header(r, "from").is_some_and(|f| f.contains("alice@example.org")), "{}", text(r));
    assert!(header(r, "message-id").is_some_and(|id| id.ends_with("@mx.test>")), "{}", text(r));
    assert!(header(r, "date").is_some() && header(r, "mime-version").as_deref() == Some("1.0"));
    assert!(header(r, "content-type").is_some_and(|c| c.starts_with("text/plain") && c.to_ascii_lowercase().contains("utf-8")), "{}", text(r));
    let sig = header(r, "dkim-signature").unwrap_or_else(|| panic!("not signed:\n{}", text(r)));
    assert!(sig.contains("d=example.org") && sig.contains("s=vac2026"), "{sig}");
    dkim_verifies(&r.content(), &key);
    assert!(text(r).replace("\r\n", "\n").contains(BODY), "{}", text(r));
    wait_log(&server, &["vacation reply sent", "mailbox=alice@example.org", "to=<bob@remote.test>"], Duration::from_secs(5));
    assert!(!server.log_text().contains("Urgent matters"), "the body is not logged");
    check_db(&server, "answered");

    // Not answered: bob again (within the interval), a list, <>, Bcc, automatic mail.
    send(&server, "bob@remote.test", &["alice@example.org"], "<alice@example.org>", "m2@remote.test", "");
    skipped(&server, "bob@remote.test", "within the interval");
    send(&server, "carol@remote.test", &["alice@example.org"], "<alice@example.org>", "m3@remote.test", "List-Id: Friends <friends.remote.test>\r\n");
    skipped(&server, "carol@remote.test", "mailing list");
    send(&server, "", &["alice@example.org"], "<alice@example.org>", "m4@remote.test", "");
    skipped(&server, "", "null sender");
    send(&server, "dave@remote.test", &["alice@example.org"], "<friends@remote.test>", "m5@remote.test", "");
    skipped(&server, "dave@remote.test", "not addressed");
    send(&server, "erin@remote.test", &["alice@example.org"], "<alice@example.org>", "m6@remote.test", "Auto-Submitted: auto-generated\r\n");
    skipped(&server, "erin@remote.test", "Auto-Submitted");
    // The control: a new sender writing to an alias of alice's is answered by alice.
    send(&server, "frank@remote.test", &["team@example.org"], "Team <team@example.org>", "m7@remote.test", "");
    rcv.wait_messages(2, Duration::from_secs(30), &server);
    server.wait_queue(Duration::from_secs(20), |q| q.is_empty());
    let alice = "<alice@example.org>".to_string();
    assert_eq!(
        replies(&rcv),
        [("<>".into(), "bob@remote.test".into(), alice.clone()), ("<>".into(), "frank@remote.test".into(), alice.clone())],
        "\n{}",
        server.log_text()
    );

    // Switched off: grace gets no answer from alice, but one from henry (same message).
    server.cli_ok(&["vacation", "off", "alice@example.org"], "");
    let off: serde_json::Value = serde_json::from_str(&server.cli_ok(&["vacation", "show", "alice@example.org", "--json"], "")).unwrap();
    assert_eq!((off["state"].as_str(), off["active"].as_bool()), (Some("off"), Some(false)), "{off}");
    check_db(&server, "off");
    send(&server, "grace@remote.test", &["alice@example.org", "henry@example.org"], "alice@example.org, henry@example.org", "m8@remote.test", "");
    let got = rcv.wait_messages(3, Duration::from_secs(30), &server);
    server.wait_queue(Duration::from_secs(20), |q| q.is_empty());
    let henry = got.iter().find(|m| m.rcpt_tos == ["grace@remote.test"]).expect("henry answers grace");
    assert_eq!(header(henry, "subject").as_deref(), Some("Auto: lunch on Friday?"), "{}", text(henry));
    assert_eq!(replies(&rcv).len(), 3, "alice is off: {:#?}\n{}", replies(&rcv), server.log_text());
    assert!(replies(&rcv).iter().filter(|r| r.1 == "grace@remote.test").all(|r| r.2 == "<henry@example.org>"));
}

#[test]
fn files_backend() {
    let check = |server: &TestServer, stage: &str| {
        let vacations = std::fs::read_to_string(server.dir().join("config/vacation.toml")).unwrap();
        assert!(vacations.contains("alice@example.org") && vacations.contains("Out of office"), "{vacations}");
        let notified = std::fs::read_to_string(server.dir().join("data/vacation-notified.json")).unwrap_or_default();
        assert_eq!(notified.contains("bob@remote.test"), stage == "answered", "{notified}");
    };
    scenario(ServerBuilder::new(), &check);
}

#[test]
fn sqlite_postern_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("directory.db");
    let url = format!("sqlite://{}", db.display());
    let check = |_: &TestServer, stage: &str| {
        let rows = sqlite(&db, "SELECT address || '|' || sender FROM postern_vacation_notified ORDER BY sender");
        match stage {
            "answered" => assert_eq!(rows, ["alice@example.org|bob@remote.test"]),
            _ => assert!(rows.is_empty(), "{rows:?}"),
        }
    };
    scenario(ServerBuilder::new().set("directory.backend", "sqlite").set("directory.url", url), &check);
}

/// Rows of one query (Python's sqlite3), one per line.
fn sqlite(db: &std::path::Path, sql: &str) -> Vec<String> {
    let py = require_python(&["sqlite3"]);
    let script = "import sqlite3, sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(map(str, r)))";
    let out = run(Command::new(py).args(["-c", script]).arg(db).arg(sql), b"");
    assert_eq!(out.code(), Some(0), "{}", out.all());
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn postgres_postern_and_postfixadmin_schemas() {
    let pg = Postgres::start();
    let url = pg.create_db("postern");
    let check = |_: &TestServer, stage: &str| {
        let rows = pg.psql("postern", "SELECT address, sender FROM postern_vacation_notified");
        assert_eq!(rows.trim(), if stage == "answered" { "alice@example.org|bob@remote.test" } else { "" });
        let v = pg.psql("postern", "SELECT active, active_from, active_until IS NULL FROM postern_vacation WHERE address = 'alice@example.org'");
        assert_eq!(v.trim(), if stage == "answered" { "t|1577836800|t" } else { "f|1577836800|t" });
    };
    scenario(ServerBuilder::new().set("directory.backend", "postgres").set("directory.url", url), &check);
    let url = pg.create_db("postfixadmin");
    pg.psql("postfixadmin", &pg::fixture("postfixadmin/pgsql.sql"));
    let check = |_: &TestServer, stage: &str| {
        let notified = pg.psql("postfixadmin", "SELECT on_vacation, notified, notified_at > now() - interval '5 minutes' FROM vacation_notification");
        let vacation = pg.psql(
            "postfixadmin",
            "SELECT email, domain, subject, active, interval_time, activefrom = '2020-01-01 00:00:00+00', \
             activeuntil >= '2038-01-17' FROM vacation WHERE email = 'alice@example.org'",
        );
        match stage {
            "answered" => {
                assert_eq!(notified.trim(), "alice@example.org|bob@remote.test|t");
                assert_eq!(vacation.trim(), "alice@example.org|example.org|Out of office|t|604800|t|t");
            }
            _ => {
                assert_eq!(notified.trim(), "", "vacation off forgets whom it answered");
                assert_eq!(vacation.trim(), "alice@example.org|example.org|Out of office|f|604800|t|t", "the text is kept");
            }
        }
    };
    scenario(
        ServerBuilder::new().set("directory.backend", "postgres").set("directory.url", url).set("directory.schema", "postfixadmin"),
        &check,
    );
}
