//! Issue 17: the web administration UI in a real browser. Debian's chromium and
//! chromium-driver, driven by Selenium (tests/peers/admin_ui.py), against `postern serve`
//! with `admin.bind` on: log in, create a domain, a mailbox and an alias through the forms,
//! mail to the alias over SMTP lands in the mailbox's Maildir; an alias domain made on its
//! page delivers user@alias into user@target's Maildir; a domain with at most 1 mailbox
//! refuses the second (the error shown); a DKIM key and its TXT
//! record; the queue; a domain admin cannot see another domain (pages and direct URLs); a
//! POST without the CSRF token gets 403; `<script>` in a description or alias target is
//! shown escaped; the mailbox owner changes their own password; wrong passwords are
//! throttled. Screenshots go to a temp dir, or to docs/admin-ui/ with
//! `POSTERN_UPDATE_SCREENSHOTS=1`.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::peers::{require_python, require_tool, run_for};
use support::server::{log_lines, wait_log};
use support::TestServer;

#[test]
fn admin_ui_in_a_headless_browser() {
    let py = require_python(&["selenium"]);
    require_tool("chromium");
    require_tool("chromedriver");
    let server = TestServer::builder().set("admin.bind", "127.0.0.1:0").set("limits.auth_failures", 5).start();
    server.cli_ok(&["admin", "add", "root"], "root-password\n");
    server.cli_ok(&["admin", "add", "ann", "--domain", "other.test"], "ann-password\n");
    let admins = std::fs::read_to_string(server.dir().join("data/admins.toml")).unwrap();
    assert!(admins.contains("$argon2id$") && !admins.contains("root-password"), "{admins}");

    let shots_tmp = tempfile::tempdir().unwrap();
    let shots: PathBuf = match std::env::var_os("POSTERN_UPDATE_SCREENSHOTS") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/admin-ui"),
        None => shots_tmp.path().to_path_buf(),
    };
    let url = format!("http://{}", server.addr("admin"));
    let smtp = server.smtp().to_string();
    let mail_root = server.dir().join("data/mail");
    let mut cmd = Command::new(py);
    cmd.arg(support::peers::peer_file("admin_ui.py"))
        .args(["--url", &url, "--smtp", &smtp, "--super", "root:root-password", "--domain-admin", "ann:ann-password"])
        .arg("--mail-root")
        .arg(&mail_root)
        .arg("--shots")
        .arg(&shots)
        .args(["--auth-failures", "5"]);
    let run = run_for(&mut cmd, b"", Duration::from_secs(600));
    assert!(run.status.success(), "browser scenario failed:\n{}\n---- postern log ----\n{}", run.all(), server.log_text());
    assert!(run.stdout.contains("OK admin UI scenario passed"), "{}", run.all());

    // The mail sent to the alias is in alice's Maildir (checked here too, not only by the script).
    let new = mail_root.join("shop.test/alice/new");
    let delivered: Vec<String> =
        std::fs::read_dir(&new).unwrap().flatten().map(|e| std::fs::read_to_string(e.path()).unwrap()).collect();
    assert!(delivered.iter().any(|m| m.contains("Subject: via the alias\r\n") || m.contains("Subject: via the alias\n")), "{new:?}: {delivered:?}");
    // Mail to alice@shop.example (an alias domain of shop.test made in the UI) is alice@shop.test's.
    assert!(delivered.iter().any(|m| m.contains("Subject: via the alias domain")), "{new:?}: {delivered:?}");
    let line = wait_log(&server, &["directory changed", "admin:root", "entity=alias_domain", "action=create"], Duration::from_secs(5));
    assert!(line.contains("shop.example"), "{line}");
    assert!(!mail_root.join("tiny.test/second").exists(), "the refused mailbox has no Maildir");
    // The UI's DKIM key is on disk, private, and signing picked it up without a restart.
    let key = server.dir().join("data/dkim/shop.test/s2026.pem");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);

    // Audit lines: who, what, from where; no password anywhere in the log.
    let line = wait_log(&server, &["directory changed", "admin:root", "entity=mailbox", "action=create"], Duration::from_secs(5));
    assert!(line.contains("from=127.0.0.1") && line.contains("alice@shop.test"), "{line}");
    assert!(!log_lines(&server, &["directory changed", "who=mailbox:alice@shop.test", "set_password"]).is_empty());
    assert!(!log_lines(&server, &["admin UI: POST without a valid CSRF token refused"]).is_empty());
    assert!(!log_lines(&server, &["admin UI: login refused, too many failures"]).is_empty());
    let log = server.log_text();
    for secret in ["root-password", "ann-password", "alice-pw-1", "alice-pw-2", "not-the-password"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    if shots.starts_with(env!("CARGO_MANIFEST_DIR")) {
        eprintln!("screenshots written to {}", shots.display());
    }
}
