//! The environment variables of the Postfix relay images (issue 9), checked through the
//! effective configuration that `postern check config --print` shows.
mod support;

use std::process::Command;

/// Runs `check config --print` with only these variables (plus PATH) set.
fn effective(vars: &[(&str, &str)]) -> Result<toml::Table, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(support::server::postern_bin());
    cmd.current_dir(dir.path()).args(["check", "config", "--print"]).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(stderr);
    }
    for (k, _) in vars {
        assert!(stderr.contains(k), "{k} should be reported as applied:\n{stderr}");
    }
    Ok(String::from_utf8(out.stdout).unwrap().parse().expect("--print is TOML"))
}

#[test]
fn boky_postfix_variables() {
    let c = effective(&[
        ("RELAYHOST", "[smtp.sendgrid.net]:587"),
        ("RELAYHOST_USERNAME", "apikey"),
        ("RELAYHOST_PASSWORD", "SG.secret"),
        ("ALLOWED_SENDER_DOMAINS", "example.com example.org"),
        ("MYNETWORKS", "10.0.0.0/8,192.168.0.0/16"),
        ("MESSAGE_SIZE_LIMIT", "10240000"),
        ("MASQUERADED_DOMAINS", "example.com"),
        ("ANONYMIZE_EMAILS", "smart"),
        ("RELAYHOST_TLS_LEVEL", "encrypt"),
    ])
    .unwrap();
    assert_eq!(c["delivery"]["smarthost"][0].as_str(), Some("[smtp.sendgrid.net]:587"));
    assert_eq!(c["delivery"]["smarthost_username"].as_str(), Some("apikey"));
    assert_eq!(c["delivery"]["smarthost_password"].as_str(), Some("********"), "secrets are masked");
    assert_eq!(c["delivery"]["tls"].as_str(), Some("encrypt"));
    assert_eq!(c["relay"]["allowed_sender_domains"].as_array().unwrap().len(), 2);
    assert_eq!(c["relay"]["trusted_networks"][1].as_str(), Some("192.168.0.0/16"));
    assert_eq!(c["limits"]["message_size"].as_integer(), Some(10240000));
    assert_eq!(c["rewrite"]["masquerade_domains"][0].as_str(), Some("example.com"));
    assert_eq!(c["log"]["anonymize"].as_bool(), Some(true));
}

#[test]
fn juanluisbaptiste_postfix_variables() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("smtp_password");
    std::fs::write(&secret, "app-password\n").unwrap();
    let c = effective(&[
        ("SMTP_SERVER", "smtp.gmail.com"),
        ("SMTP_PORT", "587"),
        ("SMTP_USERNAME", "me@gmail.com"),
        ("SMTP_PASSWORD_FILE", secret.to_str().unwrap()),
        ("SERVER_HOSTNAME", "relay.example.com"),
        ("SMTP_NETWORKS", "172.18.0.0/16"),
        ("SMTP_HEADER_TAG", "X-Relay: compose"),
    ])
    .unwrap();
    assert_eq!(c["delivery"]["smarthost"][0].as_str(), Some("[smtp.gmail.com]:587"));
    assert_eq!(c["delivery"]["smarthost_username"].as_str(), Some("me@gmail.com"));
    assert_eq!(c["delivery"]["smarthost_password"].as_str(), Some("********"));
    assert_eq!(c["server"]["hostname"].as_str(), Some("relay.example.com"));
    assert_eq!(c["relay"]["trusted_networks"][0].as_str(), Some("172.18.0.0/16"));
    assert_eq!(c["rewrite"]["header_tag"].as_str(), Some("X-Relay: compose"));
}

#[test]
fn dkim_and_native_variables_together() {
    let c = effective(&[
        ("DKIM_DOMAIN", "example.com"),
        ("DKIM_SELECTOR", "s2026"),
        ("DKIM_KEY_FILE", "/config/dkim/example.com.s2026.pem"),
        ("POSTERN_LIMITS__RECIPIENTS", "20"),
    ])
    .unwrap();
    assert_eq!(c["dkim"][0]["domain"].as_str(), Some("example.com"));
    assert_eq!(c["dkim"][0]["selector"].as_str(), Some("s2026"));
    assert_eq!(c["limits"]["recipients"].as_integer(), Some(20));
}

#[test]
fn conflicting_variables_are_an_error_naming_both() {
    let e = effective(&[("RELAYHOST", "[a.example]:25"), ("SMTP_SERVER", "b.example")]).unwrap_err();
    assert!(e.contains("RELAYHOST") && e.contains("SMTP_SERVER"), "{e}");
    let e = effective(&[("MYNETWORKS", "10.0.0.0/8"), ("POSTERN_RELAY__TRUSTED_NETWORKS", "10.0.0.0/8")]).unwrap_err();
    assert!(e.contains("MYNETWORKS") && e.contains("POSTERN_RELAY__TRUSTED_NETWORKS"), "{e}");
    let e = effective(&[("MESSAGE_SIZE_LIMIT", "lots")]).unwrap_err();
    assert!(e.contains("limits.message_size"), "a bad value names the key: {e}");
}

#[test]
fn dockerfile_passes_hadolint_and_builds_with_the_ci_command() {
    support::peers::require_tool("hadolint");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("hadolint").arg(root.join("Dockerfile")).current_dir(root).output().unwrap();
    assert!(out.status.success(), "hadolint:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The image builds with the command scripts/test also runs, so CI proves it works.
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let script = std::fs::read_to_string(root.join("scripts/test")).unwrap();
    let build = "cargo build --release --locked --bin postern";
    assert!(dockerfile.contains(build) && script.contains(build), "both must run `{build}`");
}

/// Seed 001 (Postfix + Dovecot image): upper-case POSTFIX_* names take effect; one
/// without a postern equivalent is named in a warning.
#[test]
fn seed_001_upper_case_postfix_variables() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(support::server::postern_bin());
    cmd.current_dir(dir.path()).args(["check", "config", "--print"]).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    let vars = [
        ("POSTFIX_MYHOSTNAME", "mail.example.com"),
        ("POSTFIX_MYDOMAIN", "example.com"),
        ("POSTFIX_MYNETWORKS", "127.0.0.0/8 [::1]/128 172.16.0.0/12"),
        ("POSTFIX_SMTP_TLS_SECURITY_LEVEL", "encrypt"),
        ("POSTFIX_SMTPD_TLS_SECURITY_LEVEL", "may"),
        ("POSTFIX_MESSAGE_SIZE_LIMIT", "20480000"),
        ("POSTFIX_RELAYHOST", "[smtp.example.net]:587"),
        ("POSTFIX_SMTPD_SASL_TYPE", "dovecot"),
    ];
    cmd.envs(vars);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let c: toml::Table = String::from_utf8(out.stdout).unwrap().parse().unwrap();
    assert_eq!(c["server"]["hostname"].as_str(), Some("mail.example.com"));
    assert_eq!(c["relay"]["trusted_networks"].as_array().unwrap().len(), 3);
    assert_eq!(c["relay"]["trusted_networks"][1].as_str(), Some("::1/128"));
    assert_eq!(c["delivery"]["tls"].as_str(), Some("encrypt"));
    assert_eq!(c["tls"]["inbound"].as_str(), Some("may"));
    assert_eq!(c["limits"]["message_size"].as_integer(), Some(20480000));
    assert_eq!(c["delivery"]["smarthost"][0].as_str(), Some("[smtp.example.net]:587"));
    for applied in ["POSTFIX_MYHOSTNAME", "POSTFIX_MYNETWORKS", "POSTFIX_RELAYHOST", "POSTFIX_MESSAGE_SIZE_LIMIT"] {
        assert!(stderr.contains(&format!("applied environment variable {applied}")), "{applied}:\n{stderr}");
    }
    for ignored in ["POSTFIX_MYDOMAIN", "POSTFIX_SMTPD_SASL_TYPE"] {
        let line = stderr.lines().find(|l| l.contains(ignored)).unwrap_or_else(|| panic!("{ignored} not reported:\n{stderr}"));
        assert!(line.starts_with("warning: environment variable has no effect"), "{line}");
    }
}

/// boky/postfix passes any POSTFIX_<parameter>: the lower-case spelling works too.
#[test]
fn boky_any_postfix_parameter() {
    let c = effective(&[
        ("POSTFIX_smtp_tls_security_level", "encrypt"),
        ("POSTFIX_smtpd_recipient_limit", "25"),
        ("POSTFIX_inet_interfaces", "all"),
        ("POSTFIX_maximal_queue_lifetime", "2d"),
        ("POSTFIX_smtpd_forbid_bare_newline", "yes"),
    ])
    .unwrap();
    assert_eq!(c["delivery"]["tls"].as_str(), Some("encrypt"));
    assert_eq!(c["limits"]["recipients"].as_integer(), Some(25));
    assert_eq!(c["delivery"]["lifetime"].as_str(), Some("2days"));
    assert_eq!(c["limits"]["bare_newline"].as_str(), Some("reject"));
    let binds: Vec<&str> = c["listener"].as_array().unwrap().iter().filter_map(|l| l["bind"].as_str()).collect();
    assert!(binds.iter().all(|b| b.starts_with("0.0.0.0:")), "{binds:?}");
}

/// swaks AUTH PLAIN over STARTTLS on the submission port: the SMTP exit code and transcript.
fn swaks_auth(server: &support::TestServer, user: &str, password: &str) -> support::peers::Run {
    let mut c = Command::new(support::peers::require_tool("swaks"));
    c.args(["--server", &server.submission().to_string(), "--tls", "--tls-verify", "--tls-ca-path"])
        .arg(server.cert_path())
        .args(["--auth", "PLAIN", "--auth-user", user, "--auth-password", password, "--quit-after", "AUTH"]);
    support::peers::run(&mut c, b"")
}

/// Seed 004 (lightweight relay): ENABLE_SASL makes SMTP_USERNAME/SMTP_PASSWORD the account
/// clients log in with, while RELAYHOST_USERNAME/PASSWORD stay the upstream's; a running
/// daemon takes the hostname and the account, and never logs the password.
#[test]
fn seed_004_lightweight_relay_running() {
    let server = support::TestServer::builder()
        .without("server.hostname")
        .env("RELAY_MYHOSTNAME", "relay.example.com")
        .env("ALLOWED_NETWORKS", "127.0.0.0/8")
        .env("ENABLE_SASL", "true")
        .env("SMTP_USERNAME", "app@example.com")
        .env("SMTP_PASSWORD", "client-secret-4711")
        .env("RELAYHOST", "[127.0.0.1]:9")
        .env("RELAYHOST_USERNAME", "upstream")
        .env("RELAYHOST_PASSWORD", "upstream-secret-0815")
        .start();
    let ok = swaks_auth(&server, "app@example.com", "client-secret-4711");
    assert_eq!(ok.code(), Some(0), "{}", ok.all());
    assert!(ok.stdout.contains("235 "), "{}", ok.all());
    assert!(ok.all().contains("relay.example.com"), "greeting names RELAY_MYHOSTNAME:\n{}", ok.all());
    let bad = swaks_auth(&server, "app@example.com", "wrong");
    assert!(bad.all().contains("535 "), "{}", bad.all());
    let upstream = swaks_auth(&server, "upstream", "upstream-secret-0815");
    assert!(upstream.all().contains("535 "), "the upstream account is not a login: {}", upstream.all());
    let log = server.log_text();
    assert!(!log.contains("client-secret-4711") && !log.contains("upstream-secret-0815"), "a password was logged:\n{log}");
}

/// docker-mailserver's postfix-accounts.cf: a SHA512-CRYPT line made by glibc crypt(3)
/// logs in; a line added while running logs in without a restart.
#[test]
fn accounts_file_logins_and_reload() {
    let py = support::peers::require_python(&["crypt"]);
    let crypt = |pw: &str| {
        let out = Command::new(&py)
            .args(["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))", pw])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postfix-accounts.cf");
    std::fs::write(&file, format!("user1@example.com|{{SHA512-CRYPT}}{}\n", crypt("first pw"))).unwrap();
    let server = support::TestServer::builder().set("users.accounts_file", file.to_str().unwrap()).start();
    let ok = swaks_auth(&server, "user1@example.com", "first pw");
    assert!(ok.stdout.contains("235 "), "{}", ok.all());
    assert!(swaks_auth(&server, "user1@example.com", "other").all().contains("535 "));
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new mtime
    let more = format!("user1@example.com|{{SHA512-CRYPT}}{}\nuser2@example.com|plain-pw\n", crypt("first pw"));
    std::fs::write(&file, more).unwrap();
    let ok = swaks_auth(&server, "user2@example.com", "plain-pw");
    assert!(ok.stdout.contains("235 "), "{}", ok.all());
}

/// The same seed 001 variables on a running daemon: EHLO names the host and the size
/// limit, and the log warns about the variable without an equivalent.
#[test]
fn seed_001_running() {
    let server = support::TestServer::builder()
        .without("server.hostname")
        .without("limits.message_size")
        .without("delivery.tls")
        .env("POSTFIX_MYHOSTNAME", "mail.example.com")
        .env("POSTFIX_MESSAGE_SIZE_LIMIT", "20480000")
        .env("POSTFIX_SMTP_TLS_SECURITY_LEVEL", "encrypt")
        .env("POSTFIX_RELAYHOST", "[127.0.0.1]:9")
        .env("POSTFIX_SMTPD_SASL_TYPE", "dovecot")
        .start();
    let mut d = support::Dialog::connect(server.smtp());
    let ehlo = d.ehlo();
    assert!(ehlo.lines[0].starts_with("mail.example.com"), "{ehlo:?}");
    assert!(ehlo.has_line("SIZE 20480000"), "{ehlo:?}");
    let log = server.log_text();
    assert!(log.contains("has no effect: POSTFIX_SMTPD_SASL_TYPE"), "{log}");
    d.expect("QUIT", 221);
}
