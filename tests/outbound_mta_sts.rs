//! MTA-STS discovery and fetch against dnsmasq (TXT + A) and a Python HTTPS server
//! (tests/peers/outbound_sts_https.py) with a certificate from a test CA.
mod support;

use std::process::Command;
use std::time::Duration;

use postern::smtp_client::mta_sts::{StsError, StsFetcher, StsMode};
use postern::smtp_client::mx::{DnsResolver, MxHost};
use postern::smtp_client::tls::{OutboundTls, TlsPolicy};
use support::dns::Dnsmasq;
use support::peers::{Peer, peer_file, spawn_printing_port};
use support::pki::write_test_pki;

const ZONE: &str = "\
local=/test/
txt-record=_mta-sts.sts.test,\"v=STSv1; id=20240101T000000;\"
host-record=mta-sts.sts.test,127.0.0.1
txt-record=_mta-sts.wrongcert.test,\"v=STSv1; id=1;\"
host-record=mta-sts.wrongcert.test,127.0.0.1
txt-record=_mta-sts.double.test,\"v=STSv1; id=1;\"
txt-record=_mta-sts.double.test,\"v=STSv1; id=2;\"
host-record=plain.test,127.0.0.1
";

const POLICY: &str =
    "version: STSv1\nmode: enforce\nmx: mx1.sts.test\nmx: *.backup.sts.test\nmax_age: 86400\n";

struct Fixture {
    _dns: Dnsmasq,
    _https: Peer,
    _dir: tempfile::TempDir,
    fetcher: StsFetcher,
    port: u16,
}

fn start(redirect: bool) -> Fixture {
    let dns = Dnsmasq::start(ZONE);
    let dir = tempfile::tempdir().unwrap();
    let ca = write_test_pki(dir.path(), &["mta-sts.sts.test"]);
    let policy = dir.path().join("policy.txt");
    std::fs::write(&policy, POLICY).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(peer_file("outbound_sts_https.py"))
        .arg("--cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--key")
        .arg(dir.path().join("key.pem"))
        .arg("--policy")
        .arg(&policy);
    if redirect {
        cmd.arg("--redirect");
    }
    let (child, addr) = spawn_printing_port(cmd);
    let resolver = DnsResolver::with_timeouts(&dns.spec(), Duration::from_secs(2), 1).unwrap();
    let tls = OutboundTls::new(&[ca])
        .unwrap()
        .config(TlsPolicy::Verify)
        .unwrap();
    let fetcher = StsFetcher::new(resolver, tls)
        .with_port(addr.port())
        .with_timeout(Duration::from_secs(5));
    Fixture {
        _dns: dns,
        _https: Peer(child),
        _dir: dir,
        fetcher,
        port: addr.port(),
    }
}

fn host(name: &str) -> MxHost {
    MxHost {
        name: name.into(),
        preference: 10,
        addrs: vec!["127.0.0.2".parse().unwrap()],
    }
}

#[tokio::test]
async fn discovers_and_fetches_an_enforce_policy() {
    let f = start(false);
    let policy = f
        .fetcher
        .discover("sts.test")
        .await
        .unwrap()
        .expect("policy published");
    assert_eq!(policy.id, "20240101T000000");
    assert_eq!(policy.mode, StsMode::Enforce);
    assert_eq!(policy.mx, ["mx1.sts.test", "*.backup.sts.test"]);
    assert_eq!(policy.max_age, 86400);
    let allowed = policy.allowed_hosts(vec![
        host("mx1.sts.test"),
        host("evil.example"),
        host("b1.backup.sts.test"),
        host("x.b1.backup.sts.test"),
    ]);
    let names: Vec<&str> = allowed.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["mx1.sts.test", "b1.backup.sts.test"]);
}

#[tokio::test]
async fn no_record_or_ambiguous_records_mean_no_policy() {
    let f = start(false);
    assert_eq!(f.fetcher.discover("plain.test").await.unwrap(), None);
    assert_eq!(
        f.fetcher.discover("nosuch.test").await.unwrap(),
        None,
        "NXDOMAIN"
    );
    assert_eq!(
        f.fetcher.discover("double.test").await.unwrap(),
        None,
        "two STSv1 records"
    );
}

#[tokio::test]
async fn certificate_name_mismatch_and_redirects_fail_the_fetch() {
    let f = start(false);
    // mta-sts.wrongcert.test resolves to the same server, whose certificate names
    // only mta-sts.sts.test.
    let err = f.fetcher.discover("wrongcert.test").await.unwrap_err();
    assert!(matches!(err, StsError::Fetch { .. }), "{err:?}");
    assert!(err.to_string().contains("not valid for name"), "{err}");

    let r = start(true);
    let err = r.fetcher.discover("sts.test").await.unwrap_err();
    assert!(
        err.to_string().contains("HTTP status 301"),
        "{err} (port {})",
        r.port
    );
}
