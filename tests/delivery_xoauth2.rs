//! Issue 13: boky/postfix's XOAUTH2 variables. The smarthost (aiosmtpd, STARTTLS, an
//! `auth_XOAUTH2` handler that accepts only the newest unexpired bearer token) and its
//! token endpoint (refresh-token grant, rotating refresh tokens, 70 s tokens) are
//! tests/peers/outbound_rcv.py. postern gets its first token from the initial refresh
//! token, refreshes once the token is within a minute of expiry, keeps delivering across
//! the refresh, keeps the rotated tokens in data_dir (0600) and uses them after a restart.
mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::peers::free_port;
use support::rcv::Receiver;
use support::{Dialog, TestServer};

fn send(server: &TestServer, n: usize) {
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.send_mail("app@example.com", &["bob@dest.test"], &format!("Subject: xoauth2 {n}\r\n\r\nmessage {n}\r\n"));
    d.expect("QUIT", 221);
}

fn grants(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out.join("grants.log")).unwrap_or_default().lines().map(String::from).collect()
}

#[test]
fn xoauth2_smarthost_across_a_token_refresh_and_a_restart() {
    let certs = tempfile::tempdir().unwrap();
    support::config::write_test_cert(certs.path());
    let cert = certs.path().join(support::config::CERT_FILE);
    let key = certs.path().join(support::config::KEY_FILE);
    let http_port = free_port().to_string();
    let smart = Receiver::start_on(
        "127.0.0.1",
        free_port(),
        &["--starttls", cert.to_str().unwrap(), key.to_str().unwrap(), "--xoauth2", "relay@example.com", &http_port, "70"],
    );
    let mut server = TestServer::builder()
        .list("delivery.smarthost", &[&format!("[127.0.0.1]:{}", smart.addr.port())])
        .set("delivery.tls", "encrypt")
        .set("delivery.retry_initial", "1s")
        .set("delivery.retry_max", "2s")
        .env("RELAYHOST_USERNAME", "relay@example.com")
        .env("XOAUTH2_CLIENT_ID", "postern-test")
        .env("XOAUTH2_SECRET", "client-secret")
        .env("XOAUTH2_INITIAL_REFRESH_TOKEN", "refresh-0")
        .env("XOAUTH2_TOKEN_ENDPOINT", &format!("http://127.0.0.1:{http_port}/token"))
        .start();
    let out = smart.out_dir();

    send(&server, 1);
    let got = smart.wait_messages(1, Duration::from_secs(30), &server);
    assert_eq!(got[0].auth_login.as_deref(), Some("relay@example.com"), "{got:#?}");
    assert_eq!(grants(out), ["granted refresh-0", "auth ok"]);

    // Past the pool's idle reuse (10 s) a new session authenticates again; the token
    // then has under a minute left, so postern refreshes it first.
    std::thread::sleep(Duration::from_secs(11));
    send(&server, 2);
    smart.wait_messages(2, Duration::from_secs(30), &server);
    assert_eq!(grants(out)[2..], ["granted refresh-1", "auth ok"], "{:?}", grants(out));

    let store = server.dir().join("data/xoauth2.json");
    let kept = std::fs::read_to_string(&store).unwrap();
    assert!(kept.contains("refresh-2") && kept.contains("access-2"), "{kept}");
    assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!server.log_text().contains("access-") && !server.log_text().contains("refresh-"), "a token was logged");

    // After a restart the stored tokens are used: refresh-0 would be refused now.
    server.stop();
    server.spawn();
    send(&server, 3);
    let got = smart.wait_messages(3, Duration::from_secs(30), &server);
    assert_eq!(got.len(), 3);
    assert!(!grants(out).iter().any(|g| g.contains("refused")), "{:?}", grants(out));
}
