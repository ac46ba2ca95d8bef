//! ACME against pebble (Let's Encrypt's test CA, a private instance per test): HTTP-01 and
//! TLS-ALPN-01 issuance, the issued chain served on the implicit-TLS (465-kind) listener as
//! openssl s_client sees it and verifies it against pebble's root, the MTA-STS policy over
//! HTTPS with that certificate, reuse of the stored certificate after a restart, renewal of
//! a short-lived certificate without a restart, and a CA that is down or cannot validate:
//! the old certificate stays, the error is logged, retried with backoff, and shown by
//! `postern acme status`. dnsmasq resolves the test names to 127.0.0.1 for pebble.
mod support;

use std::time::Duration;
use support::dns::Dnsmasq;
use support::pebble::{Pebble, PebbleConfig, served_cert};
use support::server::{ServerBuilder, log_lines, wait_log};

const HOST: &str = "mail.example.test";
const ISSUE_TIMEOUT: Duration = Duration::from_secs(90);

fn dns() -> Dnsmasq {
    Dnsmasq::start("address=/example.test/127.0.0.1\n")
}

/// A server whose `[acme]` points at `pc`'s pebble, answering HTTP-01 on its http_port.
fn acme_server(pc: &PebbleConfig, pebble_ca: &std::path::Path) -> ServerBuilder {
    ServerBuilder::new()
        .set("server.hostname", HOST)
        .set("acme.directory", pc.directory())
        .set("acme.email", "hostmaster@example.test")
        .set("acme.ca_file", pebble_ca.display().to_string())
        .set("acme.http_bind", format!("127.0.0.1:{}", pc.http_port))
        .set("acme.retry_initial", "1s")
        .set("acme.retry_max", "2s")
}

fn field<'a>(x509: &'a str, name: &str) -> &'a str {
    x509.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {x509}")).trim()
}

#[test]
fn http01_issues_serves_on_465_and_publishes_mta_sts_over_https() {
    let dns = dns();
    let pc = PebbleConfig::new(dns.addr);
    let pebble = Pebble::start(&pc);
    let mut server = acme_server(&pc, &pebble.ca_file)
        .list("relay.local_domains", &["example.test"])
        .set("mta_sts.mode", "enforce")
        .set("mta_sts.max_age", 86400)
        .set("http.tls", true)
        .start();
    wait_log(&server, &["acme: the new certificate is in use"], ISSUE_TIMEOUT);
    let root = pebble.root_file();
    let (x509, verify) = served_cert(server.submissions(), HOST, Some(&root));
    assert!(field(&x509, "issuer=").contains("Pebble"), "{x509}");
    assert!(verify.contains("0 (ok)"), "s_client: {verify}\n{x509}");
    assert!(x509.contains("DNS:mta-sts.example.test") && x509.contains(&format!("DNS:{HOST}")), "{x509}");
    for name in [HOST, "mta-sts.example.test"] {
        assert!(pebble.log().contains(name), "pebble validated {name}");
    }
    assert!(log_lines(&server, &["answered an http-01 validation request"]).len() >= 2, "at least one per name");

    // The policy over HTTPS, verified against pebble's root: what a sending MTA fetches.
    let http = server.addr("http");
    let curl = |host: &str| {
        support::peers::run(
            std::process::Command::new(support::peers::require_tool("curl"))
                .args(["-sS", "--cacert"])
                .arg(&root)
                .args(["--resolve", &format!("{host}:{}:127.0.0.1", http.port())])
                .args(["-w", "\nHTTP %{http_code} %{content_type}"])
                .arg(format!("https://{host}:{}/.well-known/mta-sts.txt", http.port())),
            b"",
        )
    };
    let policy = curl("mta-sts.example.test");
    assert_eq!(
        policy.stdout,
        format!("version: STSv1\nmode: enforce\nmx: {HOST}\nmax_age: 86400\n\nHTTP 200 text/plain; charset=utf-8"),
        "{}",
        policy.all()
    );

    // Files: the account and the key are private.
    use std::os::unix::fs::PermissionsExt;
    let acme = server.dir().join("data/acme");
    let account = std::fs::read_dir(&acme).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().contains("account-")).expect("account file");
    assert_eq!(std::fs::metadata(&account).unwrap().permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_dir(acme.join("certs")).unwrap().next().unwrap().unwrap().path().join("key.pem");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);

    let status = server.cli_ok(&["acme", "status"], "");
    eprintln!("postern acme status:\n{status}");
    assert!(status.contains("issuer:       Pebble") && status.contains("last error:   none"), "{status}");
    assert!(status.contains(&format!("serial:       {}", field(&x509, "serial="))), "{status}\n{x509}");
    assert!(status.contains("next renewal:"), "{status}");

    // A restart serves the stored certificate at once and orders nothing.
    server.restart();
    wait_log(&server, &["acme: using the stored certificate"], Duration::from_secs(10));
    let (again, _) = served_cert(server.submissions(), HOST, Some(&root));
    assert_eq!(field(&again, "serial="), field(&x509, "serial="));
    assert_eq!(log_lines(&server, &["acme: certificate issued"]).len(), 1, "{}", server.log_text());
}

#[test]
fn tls_alpn01_is_answered_by_the_implicit_tls_listener() {
    let dns = dns();
    let mut pc = PebbleConfig::new(dns.addr);
    // pebble must connect to the submissions listener, whose port is known once postern
    // runs: postern first (its first attempts fail, no CA yet), then pebble.
    let server = acme_server(&pc, &pc.ca_file).set("acme.challenge", "tls-alpn-01").self_signed().start();
    assert!(!server.log_text().contains("acme-http-01"), "no HTTP-01 responder with tls-alpn-01");
    pc.tls_port = server.submissions().port();
    let pebble = Pebble::start(&pc);
    wait_log(&server, &["acme: the new certificate is in use"], ISSUE_TIMEOUT);
    // pebble validates from more than one vantage point: one handshake each.
    assert!(!log_lines(&server, &["answered a tls-alpn-01 validation handshake"]).is_empty(), "{}", pebble.log());
    let (x509, verify) = served_cert(server.submissions(), HOST, Some(&pebble.root_file()));
    assert!(field(&x509, "issuer=").contains("Pebble") && verify.contains("0 (ok)"), "{verify}\n{x509}");
    assert!(log_lines(&server, &["tls handshake failed"]).is_empty(), "an answered validation is no failed handshake");
    // A client offering acme-tls/1 when no challenge is pending gets no certificate.
    let out = support::peers::run(
        std::process::Command::new(support::peers::require_tool("openssl"))
            .args(["s_client", "-connect", &server.submissions().to_string(), "-servername", HOST, "-alpn", "acme-tls/1"]),
        b"",
    );
    assert!(!out.stdout.contains("BEGIN CERTIFICATE"), "{}", out.all());
}

#[test]
fn short_lived_certificate_is_renewed_and_swapped_in_without_restart() {
    let dns = dns();
    let mut pc = PebbleConfig::new(dns.addr);
    pc.validity = Some(30);
    let pebble = Pebble::start(&pc);
    let mut server = acme_server(&pc, &pebble.ca_file).start();
    wait_log(&server, &["acme: the new certificate is in use"], ISSUE_TIMEOUT);
    let root = pebble.root_file();
    let first = served_cert(server.submissions(), HOST, Some(&root)).0;
    let first_serial = field(&first, "serial=").to_string();
    // 30 s lifetime: renewed at 2/3 (20 s), swapped into the running listener.
    let renewed = support::wait::until(
        Duration::from_secs(60),
        Duration::from_millis(500),
        || served_cert(server.submissions(), HOST, Some(&root)).0,
        |x| field(x, "serial=") != first_serial,
        |x| format!("still serving {first_serial} after 60 s:\n{x}\n{}", server.log_text()),
    );
    assert!(field(&renewed, "issuer=").contains("Pebble"), "{renewed}");
    assert!(server.is_running());
    assert_eq!(log_lines(&server, &["starting"]).len(), 1, "no restart");
    assert!(log_lines(&server, &["acme: certificate issued"]).len() >= 2);
}

#[test]
fn ca_down_keeps_the_self_signed_certificate_retries_and_recovers() {
    let dns = dns();
    let pc = PebbleConfig::new(dns.addr);
    let server = acme_server(&pc, &pc.ca_file).self_signed().start();
    // Two failures in a row: logged with the backoff, the self-signed certificate served.
    wait_log(&server, &["acme: issuance failed", "failures=2"], Duration::from_secs(30));
    let (x509, _) = served_cert(server.submissions(), HOST, None);
    assert!(!field(&x509, "issuer=").contains("Pebble"), "{x509}");
    let self_signed = std::fs::read_to_string(server.dir().join("data/tls/cert.pem")).unwrap();
    assert!(!self_signed.is_empty());
    let status = server.cli_ok(&["acme", "status"], "");
    assert!(status.contains("none issued yet"), "{status}");
    assert!(status.contains("last error:   ") && status.contains("cannot connect to 127.0.0.1"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&server.cli_ok(&["acme", "status", "--json"], "")).unwrap();
    assert!(json["failures"].as_u64().unwrap() >= 2, "{json}");
    assert_eq!(json["domains"], serde_json::json!([HOST]));

    // The CA comes back: a retry issues, and the listener serves it.
    let pebble = Pebble::start(&pc);
    wait_log(&server, &["acme: the new certificate is in use"], ISSUE_TIMEOUT);
    let (x509, verify) = served_cert(server.submissions(), HOST, Some(&pebble.root_file()));
    assert!(field(&x509, "issuer=").contains("Pebble") && verify.contains("0 (ok)"), "{verify}\n{x509}");
    let status = server.cli_ok(&["acme", "status"], "");
    assert!(status.contains("last error:   none"), "{status}");
}

#[test]
fn failed_validation_is_reported_and_retried() {
    let dns = dns();
    let pc = PebbleConfig::new(dns.addr);
    let pebble = Pebble::start(&pc);
    // The responder listens where the CA does not look.
    let wrong = support::peers::free_port();
    let server = acme_server(&pc, &pebble.ca_file).set("acme.http_bind", format!("127.0.0.1:{wrong}")).self_signed().start();
    let line = wait_log(&server, &["acme: issuance failed", "failures=2"], ISSUE_TIMEOUT);
    // The CA's own words: which URL it tried, and the RFC 8555 error type.
    assert!(line.contains("urn:ietf:params:acme:error:connection") && line.contains(HOST), "{line}");
    let status = server.cli_ok(&["acme", "status"], "");
    assert!(status.contains("last error:   waiting for validation") && status.contains("acme:error:connection"), "{status}");
    let (x509, _) = served_cert(server.submissions(), HOST, None);
    assert!(!field(&x509, "issuer=").contains("Pebble"), "{x509}");
}
