//! The directory admin API (`/v1/admin/domains|mailboxes|aliases`) driven by real curl
//! requests against the real daemon, once on the files backend and once on SQLite (postern
//! schema): tokens, create/list/get/update/delete with their statuses and JSON bodies,
//! validation errors naming their field, alias domains (`/v1/admin/alias-domains`, checked
//! with RCPT), per-domain limits (max_mailboxes/max_aliases/max_quota, 409/400), and a mailbox made over HTTP logging in with SMTP
//! AUTH (swaks, STARTTLS on the submission port) — before and after a password change.
mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::peers::{require_tool, run};
use support::{ServerBuilder, TestServer};

const SEND: &str = "s3nd-token-0123456789abcdef0123456789";
const ADMIN: &str = "adm1n-token-0123456789abcdef012345678";
const FIRST: &str = "first secret pass phrase";
const SECOND: &str = "second secret pass phrase";

struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    #[track_caller]
    fn json(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// An error answer: `{"ok":false,"error":...}` mentioning `needle`.
    #[track_caller]
    fn error(&self, status: u16, needle: &str) -> Value {
        let v = self.json(status);
        assert_eq!(v["ok"], false, "{v}");
        let text = v["error"].as_str().unwrap_or_else(|| panic!("no error text: {v}"));
        assert!(text.contains(needle), "error {text:?} does not mention {needle:?}");
        v
    }

    /// A validation error naming `field`.
    #[track_caller]
    fn invalid(&self, field: &str) -> Value {
        let v = self.error(400, "");
        assert_eq!(v["field"], field, "{v}");
        v
    }
}

/// curl `method` `path` on the server's HTTP listener, with `token` and a JSON `body`.
fn curl(server: &TestServer, token: Option<&str>, method: &str, path: &str, body: Option<&str>) -> Answer {
    let url = format!("http://{}{path}", server.addr("http"));
    let mut c = Command::new(require_tool("curl"));
    c.args(["-sS", "-w", "\n%{http_code}", "-X", method, &url]);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if body.is_some() {
        c.args(["-H", "Content-Type: application/json", "--data-binary", "@-"]);
    }
    let r = run(&mut c, body.unwrap_or("").as_bytes());
    let (text, code) = r.stdout.rsplit_once('\n').unwrap_or_else(|| panic!("curl output: {}", r.all()));
    Answer { status: code.trim().parse().unwrap_or_else(|_| panic!("curl: {}", r.all())), body: text.to_string() }
}

fn admin(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> Answer {
    curl(server, Some(ADMIN), method, path, body.map(|b| b.to_string()).as_deref())
}

fn raw(server: &TestServer, method: &str, path: &str, body: &str) -> Answer {
    curl(server, Some(ADMIN), method, path, Some(body))
}

/// The final SMTP reply code to AUTH PLAIN as `user`, after STARTTLS on the submission
/// port (swaks, stopping after AUTH).
fn login(server: &TestServer, user: &str, password: &str) -> u16 {
    let mut c = Command::new(require_tool("swaks"));
    c.args(["--server", &server.submission().to_string(), "--helo", "client.test"])
        .args(["--tls", "--tls-verify", "--tls-ca-path"])
        .arg(server.cert_path())
        .args(["--auth", "PLAIN", "--auth-user", user, "--auth-password", password, "--quit-after", "AUTH"]);
    let r = run(&mut c, b"");
    assert!(r.stdout.contains("TLS started"), "no STARTTLS in the transcript:\n{}", r.all());
    if r.stdout.contains("<~  235 ") {
        assert_eq!(r.code(), Some(0), "{}", r.all());
        235
    } else if r.stdout.contains("<~* 535 ") {
        535
    } else {
        panic!("neither 235 nor 535 to AUTH:\n{}", r.all())
    }
}

fn server(builder: ServerBuilder) -> TestServer {
    builder.list("http.tokens", &[SEND]).list("http.admin_tokens", &[ADMIN]).set("http.rate_limit", 0).start()
}

fn addresses(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap_or_else(|| panic!("not a list: {list}")).iter().map(|e| e[key].as_str().unwrap().to_string()).collect()
}

/// The whole lifecycle of a domain with a mailbox and aliases, on whatever backend
/// `server` has.
fn scenario(server: &TestServer) {
    // Tokens: none is 401; a send token gets exactly what it gets on /v1/queue.
    curl(server, None, "GET", "/v1/admin/domains", None).error(401, "missing bearer token");
    let queue = curl(server, Some(SEND), "GET", "/v1/queue", None);
    let send = curl(server, Some(SEND), "GET", "/v1/admin/domains", None);
    assert_eq!((send.status, &send.body), (queue.status, &queue.body), "a send token on the admin API");
    send.error(401, "invalid bearer token");
    curl(server, Some(SEND), "POST", "/v1/admin/domains", Some(r#"{"domain":"example.org"}"#)).error(401, "invalid bearer token");

    // Domains.
    let d = admin(server, "POST", "/v1/admin/domains", Some(json!({"domain": "Example.ORG", "description": "test domain"}))).json(201);
    assert_eq!(d, json!({"ok": true, "domain": {"domain": "example.org", "description": "test domain", "backupmx": false, "active": true}}));
    let list = admin(server, "GET", "/v1/admin/domains", None).json(200);
    assert_eq!(list["ok"], true);
    assert!(addresses(&list["domains"], "domain").contains(&"example.org".to_string()), "{list}");
    admin(server, "POST", "/v1/admin/domains", Some(json!({"domain": "example.org"}))).error(409, "already exists");
    admin(server, "POST", "/v1/admin/domains", Some(json!({"domain": "bad domain"}))).invalid("domain");
    admin(server, "POST", "/v1/admin/domains", Some(json!({"description": "no name"}))).invalid("domain");
    let one = admin(server, "GET", "/v1/admin/domains/example.org", None).json(200);
    assert_eq!(one["domain"]["description"], "test domain");
    let put = admin(server, "PUT", "/v1/admin/domains/example.org", Some(json!({"description": "changed"}))).json(200);
    assert_eq!(put["domain"], json!({"domain": "example.org", "description": "changed", "backupmx": false, "active": true}));
    admin(server, "PUT", "/v1/admin/domains/example.org", Some(json!({"domain": "other.org", "active": false}))).invalid("domain");
    admin(server, "PUT", "/v1/admin/domains/example.org", Some(json!({"domain": "EXAMPLE.org"}))).json(200);
    admin(server, "PUT", "/v1/admin/domains/nowhere.test", Some(json!({"description": "x"}))).error(404, "nowhere.test");
    admin(server, "GET", "/v1/admin/domains/nowhere.test", None).error(404, "domain nowhere.test not found");

    // A mailbox, its password hashed and never shown.
    let created = admin(
        server,
        "POST",
        "/v1/admin/mailboxes",
        Some(json!({"address": "Alice@Example.org", "password": FIRST, "name": "Alice", "quota": 1_000_000})),
    );
    let m = created.json(201);
    for secret in ["password", "hash", "argon2", FIRST] {
        assert!(!created.body.contains(secret), "{secret:?} in the answer: {}", created.body);
    }
    assert_eq!(m["ok"], true);
    assert_eq!(m["mailbox"]["address"], "alice@example.org");
    assert_eq!(m["mailbox"]["name"], "Alice");
    assert_eq!(m["mailbox"]["quota"], 1_000_000);
    assert_eq!(m["mailbox"]["active"], true);
    assert_eq!(login(server, "alice@example.org", FIRST), 235, "the account made over HTTP logs in");
    assert_eq!(login(server, "alice@example.org", SECOND), 535);

    let changed = admin(server, "PUT", "/v1/admin/mailboxes/alice@example.org", Some(json!({"password": SECOND})));
    assert!(!changed.body.contains(SECOND) && !changed.body.contains("argon2"), "{}", changed.body);
    assert_eq!(changed.json(200)["mailbox"], m["mailbox"], "a password change alone changes nothing else");
    assert_eq!(login(server, "alice@example.org", FIRST), 535, "the old password no longer works");
    assert_eq!(login(server, "alice@example.org", SECOND), 235, "the new one does");
    let put = admin(server, "PUT", "/v1/admin/mailboxes/alice%40example.org", Some(json!({"name": "Alice B", "quota": null}))).json(200);
    assert_eq!(put["mailbox"]["name"], "Alice B");
    assert_eq!(put["mailbox"]["quota"], Value::Null);
    assert_eq!(put["mailbox"]["active"], true);
    admin(server, "PUT", "/v1/admin/mailboxes/alice@example.org", Some(json!({"password": ""}))).invalid("password");
    admin(server, "PUT", "/v1/admin/mailboxes/alice@example.org", Some(json!({"address": "bob@example.org"}))).invalid("address");
    admin(server, "PUT", "/v1/admin/mailboxes/nobody@example.org", Some(json!({"name": "x"}))).error(404, "nobody@example.org");

    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "alice@example.org", "password": "x"}))).error(409, "already exists");
    let unknown = admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "bob@unknown.test", "password": "x"}))).invalid("address");
    assert!(unknown["error"].as_str().unwrap().contains("unknown.test"), "{unknown}");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "bob@example.org"}))).invalid("password");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "bob@example.org", "password": ""}))).invalid("password");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "bob@example.org", "password": "x", "quota": "lots"}))).invalid("quota");
    raw(server, "POST", "/v1/admin/mailboxes", r#"{"address": "bob@example.org", "password": "#).error(400, "invalid JSON");
    raw(server, "POST", "/v1/admin/mailboxes", r#"{"address": "bob@example.org"} trailing"#).error(400, "invalid JSON");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "bob@example.org", "password": "x", "admin": true})))
        .error(400, "unknown field `admin`");
    let form = curl(server, Some(ADMIN), "POST", "/v1/admin/domains", None);
    form.error(415, "application/json");

    let list = admin(server, "GET", "/v1/admin/mailboxes?domain=example.org", None).json(200);
    assert_eq!(addresses(&list["mailboxes"], "address"), ["alice@example.org"]);
    let all = admin(server, "GET", "/v1/admin/mailboxes", None).json(200);
    assert!(!all.to_string().contains("argon2"), "{all}");
    admin(server, "GET", "/v1/admin/mailboxes?domain=bad%20domain", None).invalid("domain");
    let one = admin(server, "GET", "/v1/admin/mailboxes/alice%40example.org", None).json(200);
    assert_eq!(one["mailbox"]["name"], "Alice B");
    admin(server, "GET", "/v1/admin/mailboxes/nobody@example.org", None).error(404, "mailbox nobody@example.org not found");
    admin(server, "GET", "/v1/admin/mailboxes/not-an-address", None).invalid("address");

    // Aliases, with a catch-all addressed as %40example.org.
    let a = admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "info@example.org", "targets": ["alice@example.org"]}))).json(201);
    assert_eq!(a, json!({"ok": true, "alias": {"address": "info@example.org", "targets": ["alice@example.org"], "active": true}}));
    let c = admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "@example.org", "targets": ["alice@example.org"]}))).json(201);
    assert_eq!(c["alias"]["address"], "@example.org");
    admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "info@example.org", "targets": ["alice@example.org"]}))).error(409, "already exists");
    admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "x@example.org", "targets": []}))).invalid("targets");
    admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "x@unknown.test", "targets": ["alice@example.org"]}))).invalid("address");
    let list = admin(server, "GET", "/v1/admin/aliases?domain=example.org", None).json(200);
    let mut names = addresses(&list["aliases"], "address");
    names.sort();
    assert_eq!(names, ["@example.org", "info@example.org"], "{list}");
    let one = admin(server, "GET", "/v1/admin/aliases/%40example.org", None).json(200);
    assert_eq!(one["alias"], c["alias"]);
    let put = admin(server, "PUT", "/v1/admin/aliases/info%40example.org", Some(json!({"targets": ["alice@example.org", "bob@example.net"]}))).json(200);
    assert_eq!(put["alias"]["targets"], json!(["alice@example.org", "bob@example.net"]));
    admin(server, "PUT", "/v1/admin/aliases/info@example.org", Some(json!({"address": "@example.org"}))).invalid("address");

    // Vacation: set, read, refused without a body or with a bad date, switched off.
    admin(server, "GET", "/v1/admin/vacation/alice%40example.org", None).error(404, "no vacation");
    let v = admin(
        server,
        "PUT",
        "/v1/admin/vacation/alice%40example.org",
        Some(serde_json::json!({"subject": "Away", "body": "Back on Monday.", "until": "2099-01-31", "interval": 3600})),
    )
    .json(200);
    assert_eq!((v["vacation"]["subject"].as_str(), v["state"].as_str(), v["vacation"]["interval"].as_u64()), (Some("Away"), Some("on"), Some(3600)), "{v}");
    let got = admin(server, "GET", "/v1/admin/vacation/alice@example.org", None).json(200);
    assert_eq!(got["vacation"]["body"], "Back on Monday.", "{got}");
    admin(server, "PUT", "/v1/admin/vacation/alice%40example.org", Some(serde_json::json!({"subject": "x"}))).invalid("body");
    admin(server, "PUT", "/v1/admin/vacation/alice%40example.org", Some(serde_json::json!({"body": "x", "from": "soon"}))).invalid("from");
    admin(server, "PUT", "/v1/admin/vacation/nobody%40example.org", Some(serde_json::json!({"body": "x"}))).error(404, "not found");
    assert_eq!(admin(server, "DELETE", "/v1/admin/vacation/alice%40example.org", None).status, 204);
    let off = admin(server, "GET", "/v1/admin/vacation/alice%40example.org", None).json(200);
    assert_eq!(off["state"], "off", "{off}");

    // A domain in use cannot go.
    admin(server, "DELETE", "/v1/admin/domains/example.org", None).invalid("domain");

    alias_domains(server);
    limits(server);

    // Delete everything: 204, then 404.
    for (path, get) in [
        ("/v1/admin/aliases/%40example.org", "/v1/admin/aliases/%40example.org"),
        ("/v1/admin/aliases/info@example.org", "/v1/admin/aliases/info%40example.org"),
        ("/v1/admin/mailboxes/alice%40example.org", "/v1/admin/mailboxes/alice@example.org"),
        ("/v1/admin/domains/example.org", "/v1/admin/domains/example.org"),
    ] {
        let gone = admin(server, "DELETE", path, None);
        assert_eq!(gone.status, 204, "DELETE {path}: {}", gone.body);
        assert_eq!(gone.body, "", "204 has no body");
        admin(server, "GET", get, None).error(404, "not found");
        admin(server, "DELETE", path, None).error(404, "not found");
    }
    assert_eq!(login(server, "alice@example.org", SECOND), 535, "a deleted mailbox cannot log in");
    let list = admin(server, "GET", "/v1/admin/domains", None).json(200);
    assert!(!addresses(&list["domains"], "domain").contains(&"example.org".to_string()), "{list}");

    // Every change is logged with its entity and action; no password is.
    let log = server.log_text();
    for (entity, action) in [("domain", "create"), ("mailbox", "set_password"), ("alias", "delete"), ("domain", "delete")] {
        assert!(
            log.lines().any(|l| l.contains("admin API") && l.contains(&format!("entity={entity} ")) && l.contains(&format!("action={action}"))),
            "no {entity} {action} line in:\n{log}"
        );
    }
    assert!(!log.contains(FIRST) && !log.contains(SECOND), "a password in the log");
}

/// One SMTP session: the reply code to `RCPT TO:<rcpt>`.
fn rcpt(server: &TestServer, rcpt: &str) -> u16 {
    let mut d = support::Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@remote.test>", 250);
    let code = d.cmd(&format!("RCPT TO:<{rcpt}>")).code;
    d.expect("QUIT", 221);
    code
}

/// `/v1/admin/alias-domains`: user@alias.example is user@example.org.
fn alias_domains(server: &TestServer) {
    admin(server, "POST", "/v1/admin/domains", Some(json!({"domain": "alias.example"}))).json(201);
    let made = admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "Alias.Example", "target_domain": "example.org"}))).json(201);
    assert_eq!(made, json!({"ok": true, "alias_domain": {"alias_domain": "alias.example", "target_domain": "example.org", "active": true}}));
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "alias.example", "target_domain": "example.org"}))).error(409, "already exists");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"target_domain": "example.org"}))).invalid("alias_domain");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "bad domain", "target_domain": "example.org"}))).invalid("alias_domain");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "unknown.test", "target_domain": "example.org"}))).invalid("alias_domain");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "alias.example", "target_domain": "unknown.test"}))).invalid("target_domain");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "example.org", "target_domain": "example.org"}))).invalid("target_domain");
    admin(server, "POST", "/v1/admin/alias-domains", Some(json!({"alias_domain": "alias.example", "target": "x"}))).error(400, "unknown field `target`");
    let list = admin(server, "GET", "/v1/admin/alias-domains", None).json(200);
    assert_eq!(list["alias_domains"], json!([made["alias_domain"]]), "{list}");
    assert_eq!(admin(server, "GET", "/v1/admin/alias-domains/alias.example", None).json(200)["alias_domain"], made["alias_domain"]);
    admin(server, "GET", "/v1/admin/alias-domains/nowhere.test", None).error(404, "alias domain nowhere.test not found");
    // Mail for alice@alias.example is alice@example.org's.
    assert_eq!(rcpt(server, "alice@alias.example"), 250, "{}", server.log_text());
    let off = admin(server, "PUT", "/v1/admin/alias-domains/alias.example", Some(json!({"active": false}))).json(200);
    assert_eq!(off["alias_domain"]["active"], false);
    assert_eq!(rcpt(server, "alice@alias.example"), 550, "an inactive alias domain maps nothing");
    admin(server, "PUT", "/v1/admin/alias-domains/alias.example", Some(json!({"alias_domain": "other.example"}))).invalid("alias_domain");
    admin(server, "PUT", "/v1/admin/alias-domains/alias.example", Some(json!({"target_domain": "unknown.test"}))).invalid("target_domain");
    admin(server, "PUT", "/v1/admin/alias-domains/alias.example", Some(json!({"active": true}))).json(200);
    assert_eq!(rcpt(server, "alice@alias.example"), 250);
    // Neither of its domains can go while it exists.
    admin(server, "DELETE", "/v1/admin/domains/alias.example", None).invalid("domain");
    let gone = admin(server, "DELETE", "/v1/admin/alias-domains/alias.example", None);
    assert_eq!(gone.status, 204, "{}", gone.body);
    admin(server, "GET", "/v1/admin/alias-domains/alias.example", None).error(404, "not found");
    admin(server, "DELETE", "/v1/admin/alias-domains/alias.example", None).error(404, "not found");
    assert_eq!(rcpt(server, "alice@alias.example"), 550);
    assert_eq!(admin(server, "DELETE", "/v1/admin/domains/alias.example", None).status, 204);
}

/// Per-domain limits: max_mailboxes, max_aliases (-1: none), max_quota.
fn limits(server: &TestServer) {
    let d = admin(
        server,
        "POST",
        "/v1/admin/domains",
        Some(json!({"domain": "small.example", "max_mailboxes": 1, "max_aliases": -1, "max_quota": 2_000_000})),
    )
    .json(201);
    assert_eq!(
        d["domain"],
        json!({"domain": "small.example", "description": "", "backupmx": false, "active": true, "max_mailboxes": 1, "max_aliases": -1, "max_quota": 2_000_000})
    );
    admin(server, "POST", "/v1/admin/domains", Some(json!({"domain": "bad.example", "max_mailboxes": -2}))).invalid("max_mailboxes");
    let over = admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "one@small.example", "password": "x", "quota": 3_000_000}))).invalid("quota");
    assert!(over["error"].as_str().unwrap().contains("max_quota"), "{over}");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "one@small.example", "password": "x", "quota": 0}))).invalid("quota");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "one@small.example", "password": "x", "quota": 1_000_000}))).json(201);
    let full = admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "two@small.example", "password": "x", "quota": 1_000_000})))
        .error(409, "has reached its limit of 1 mailboxes (max_mailboxes)");
    assert_eq!(full["field"], "address", "{full}");
    admin(server, "PUT", "/v1/admin/mailboxes/one@small.example", Some(json!({"quota": 2_000_001}))).invalid("quota");
    admin(server, "PUT", "/v1/admin/mailboxes/one@small.example", Some(json!({"quota": 2_000_000}))).json(200);
    let none = admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "info@small.example", "targets": ["one@small.example"]})))
        .error(409, "allows no aliases (max_aliases = -1)");
    assert_eq!(none["field"], "address", "{none}");
    let raised = admin(server, "PUT", "/v1/admin/domains/small.example", Some(json!({"max_mailboxes": 2, "max_aliases": 0}))).json(200);
    assert_eq!((raised["domain"]["max_mailboxes"].as_i64(), raised["domain"].get("max_aliases")), (Some(2), None), "{raised}");
    admin(server, "POST", "/v1/admin/mailboxes", Some(json!({"address": "two@small.example", "password": "x", "quota": 1_000_000}))).json(201);
    admin(server, "POST", "/v1/admin/aliases", Some(json!({"address": "info@small.example", "targets": ["one@small.example"]}))).json(201);
    admin(server, "PUT", "/v1/admin/domains/small.example", Some(json!({"max_mailboxes": -7}))).invalid("max_mailboxes");
    for path in ["/v1/admin/aliases/info@small.example", "/v1/admin/mailboxes/one@small.example", "/v1/admin/mailboxes/two@small.example", "/v1/admin/domains/small.example"] {
        assert_eq!(admin(server, "DELETE", path, None).status, 204, "{path}");
    }
}

#[test]
fn admin_api_on_the_files_backend() {
    let server = server(ServerBuilder::new());
    scenario(&server);
}

#[test]
fn admin_api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/dir.db", dir.path().display());
    let server = server(ServerBuilder::new().set("directory.backend", "sqlite").set("directory.url", url));
    scenario(&server);
    assert!(dir.path().join("dir.db").exists());
}
