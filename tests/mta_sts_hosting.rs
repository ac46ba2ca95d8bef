//! Publishing our own MTA-STS policy (RFC 8461 §3.2): `GET /.well-known/mta-sts.txt` on
//! the HTTP listener answers the `[mta_sts]` policy for Host `mta-sts.DOMAIN` of a
//! published domain, 404 for any other host or when no policy is configured. Driven with
//! curl over HTTPS (`--resolve`, as a sending MTA reaches https://mta-sts.DOMAIN/).
mod support;

use std::process::Command;
use support::ServerBuilder;
use support::peers::{require_tool, run};

/// (status, content type, body) of GET https://HOST:PORT/.well-known/mta-sts.txt.
fn fetch(server: &support::TestServer, host: &str) -> (u16, String, String) {
    let port = server.addr("http").port();
    let out = run(
        Command::new(require_tool("curl"))
            // The test certificate names mx.test: tests/acme_pebble.rs fetches the policy
            // with a verified certificate for mta-sts.example.test.
            .args(["-sS", "--insecure"])
            .args(["--resolve", &format!("{host}:{port}:127.0.0.1")])
            .args(["-w", "\n%{http_code} %{content_type}"])
            .arg(format!("https://{host}:{port}/.well-known/mta-sts.txt")),
        b"",
    );
    out.assert_ok();
    let (body, tail) = out.stdout.rsplit_once('\n').unwrap();
    let (code, ctype) = tail.split_once(' ').unwrap();
    (code.parse().unwrap(), ctype.to_string(), body.to_string())
}

#[test]
fn policy_is_served_for_mta_sts_hosts_of_published_domains_only() {
    let server = ServerBuilder::new()
        .set("http.tls", true)
        .list("relay.local_domains", &["example.test", "example.org"])
        .set("mta_sts.mode", "testing")
        .list("mta_sts.mx", &["mx1.example.test", "*.backup.example.test"])
        .set("mta_sts.max_age", 1209600)
        .start();
    let policy = "version: STSv1\nmode: testing\nmx: mx1.example.test\nmx: *.backup.example.test\nmax_age: 1209600\n";
    for host in ["mta-sts.example.test", "mta-sts.example.org", "MTA-STS.Example.Test"] {
        assert_eq!(fetch(&server, host), (200, "text/plain; charset=utf-8".to_string(), policy.to_string()), "{host}");
    }
    for host in ["example.test", "mta-sts.other.test", "mx.test", "mta-sts.example.test.evil.test"] {
        let (code, _, body) = fetch(&server, host);
        assert_eq!(code, 404, "{host}: {body}");
        assert!(!body.contains("STSv1"), "{host}: {body}");
    }
}

#[test]
fn no_policy_without_mode_and_defaults_fill_in() {
    let off = ServerBuilder::new().set("http.tls", true).list("relay.local_domains", &["example.test"]).start();
    assert_eq!(fetch(&off, "mta-sts.example.test").0, 404);

    // mode only: domains = relay.local_domains, mx = server.hostname, max_age one week.
    let on = ServerBuilder::new()
        .set("http.tls", true)
        .list("relay.local_domains", &["example.test"])
        .set("mta_sts.mode", "enforce")
        .start();
    let (code, _, body) = fetch(&on, "mta-sts.example.test");
    assert_eq!((code, body.as_str()), (200, "version: STSv1\nmode: enforce\nmx: mx.test\nmax_age: 604800\n"));
}

#[test]
fn bad_mta_sts_settings_are_refused_by_name() {
    let server = ServerBuilder::new()
        .list("relay.local_domains", &[])
        .set("mta_sts.mode", "enforce")
        .set("mta_sts.max_age", 40000000)
        .list("mta_sts.mx", &["not a host"])
        .prepare();
    let out = server.cli(&["check", "config"], b"");
    let err = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    for key in ["mta_sts.domains", "mta_sts.max_age", "mta_sts.mx"] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    let bad_mode = ServerBuilder::new().set("mta_sts.mode", "strict").prepare();
    let out = bad_mode.cli(&["check", "config"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("strict") && err.contains("enforce"), "{err}");
}
