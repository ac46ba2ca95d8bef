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
