//! DKIM signing checked by verifiers nobody here wrote: dkimpy (tests/peers/dkim_verify.py)
//! and mail-auth's own verifier, both reading the keys' TXT records from a dnsmasq on a free
//! loopback port. Keys come from `postern::dkim::keygen` and from openssl.
mod support;

use support::{dns, peers};

use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};
use postern::dkim::{Algorithm, DkimKeyConfig, DkimSigner, GeneratedKey, keygen};
use std::path::Path;
use std::process::Command;

const MESSAGE: &str = "From: \"Alice Example\" <alice@Example.com>\r\n\
To: Bob <bob@example.net>\r\n\
Subject: DKIM test with  extra   spaces\r\n\
Date: Mon, 23 Nov 2026 17:00:00 +0000\r\n\
Message-ID: <dkim-test-1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
X-Unsigned: not in the list\r\n\
\r\n\
Hello Bob,\r\n\
\r\n\
this line has trailing spaces   \r\n\
and this one\ttabs.\r\n\
\r\n\
\r\n";

/// Everything a test needs: keys on disk, their TXT records served by dnsmasq.
struct Fixture {
    _dir: tempfile::TempDir,
    dns: dns::Dnsmasq,
    signer: DkimSigner,
    selectors: Vec<String>,
}

fn txt_line(g: &GeneratedKey) -> String {
    format!("txt-record={},\"{}\"\n", g.record_name, g.txt)
}

/// RSA and Ed25519 keys from keygen for example.com, plus openssl-made PKCS#1 RSA and
/// PKCS#8 Ed25519 keys for example.org (the formats operators bring from OpenDKIM).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let rsa = keygen("example.com", "rsa2026", Algorithm::Rsa2048, dir.path()).unwrap();
    let ed = keygen("example.com", "ed2026", Algorithm::Ed25519, dir.path()).unwrap();
    let (pkcs1, pkcs1_txt) = openssl_key(dir.path(), "pkcs1", &["genrsa", "-traditional"], "rsa");
    let (oed, oed_txt) = openssl_key(
        dir.path(),
        "oed",
        &["genpkey", "-algorithm", "ed25519"],
        "ed25519",
    );
    let pem = std::fs::read_to_string(&pkcs1).unwrap();
    assert!(
        pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "openssl wrote PKCS#1"
    );
    let mut conf = String::from("local=/example.com/\nlocal=/example.org/\n");
    conf += &txt_line(&rsa);
    conf += &txt_line(&ed);
    conf += &format!("txt-record=pkcs1._domainkey.example.org,\"{pkcs1_txt}\"\n");
    conf += &format!("txt-record=oed._domainkey.example.org,\"{oed_txt}\"\n");
    let dns = dns::Dnsmasq::start(&conf);
    let cfg = |domain: &str, selector: &str, key: &Path| DkimKeyConfig {
        domain: domain.into(),
        selector: selector.into(),
        key: key.to_path_buf(),
    };
    let signer = DkimSigner::load(&[
        cfg("EXAMPLE.com", "rsa2026", &rsa.path),
        cfg("example.com", "ed2026", &ed.path),
        cfg("example.org", "pkcs1", &pkcs1),
        cfg("example.org", "oed", &oed),
    ])
    .unwrap();
    let selectors = vec!["rsa2026".into(), "ed2026".into()];
    Fixture {
        _dir: dir,
        dns,
        signer,
        selectors,
    }
}

/// Makes a key with openssl; returns its path and the TXT value for it.
fn openssl_key(dir: &Path, name: &str, gen_args: &[&str], k: &str) -> (std::path::PathBuf, String) {
    let openssl = peers::require_tool("openssl");
    let path = dir.join(format!("{name}.pem"));
    let mut make = Command::new(&openssl);
    make.args(gen_args).arg("-out").arg(&path);
    if k == "rsa" {
        make.arg("2048");
    }
    peers::run(&mut make, b"").assert_ok();
    let der = pubder_bytes(&openssl, &path);
    // Ed25519 p= is the raw 32-byte key: the SPKI DER ends with it (RFC 8463 §4.2).
    let p = if k == "ed25519" {
        &der[der.len() - 32..]
    } else {
        &der[..]
    };
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(p);
    (path, format!("v=DKIM1; k={k}; p={b64}"))
}

fn pubder_bytes(openssl: &Path, key: &Path) -> Vec<u8> {
    let out = Command::new(openssl)
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Runs dkimpy against the fixture's DNS; returns (exit code, per-signature lines).
fn dkimpy(fx: &Fixture, message: &[u8]) -> (i32, String) {
    let py = peers::require_python(&["dkim", "dns.resolver", "nacl"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), message).unwrap();
    let run = peers::run(
        Command::new(py)
            .arg(peers::peer_file("dkim_verify.py"))
            .arg("verify")
            .arg(file.path())
            .args(["--ns", &fx.dns.spec()]),
        b"",
    );
    eprintln!("dkimpy: rc={:?}\n{}", run.code(), run.all().trim());
    (run.code().unwrap_or(-1), run.stdout)
}

async fn mail_auth_results(fx: &Fixture, message: &[u8]) -> Vec<DkimResult> {
    let mut udp = ConnectionConfig::udp();
    udp.port = fx.dns.addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = fx.dns.addr.port();
    let ns = NameServerConfig::new(fx.dns.addr.ip(), true, vec![udp, tcp]);
    let auth = MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![ns]),
        ResolverOpts::default(),
    )
    .unwrap();
    let am = AuthenticatedMessage::parse(message).unwrap();
    auth.verify_dkim(&am)
        .await
        .iter()
        .map(|o| o.result().clone())
        .collect()
}

fn signed(fx: &Fixture, message: &[u8]) -> Vec<u8> {
    let mut out = fx
        .signer
        .sign(message)
        .unwrap()
        .expect("a key for the From domain");
    assert!(out.ends_with(b"\r\n"));
    assert!(
        !out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
        "CRLF only"
    );
    out.extend_from_slice(message);
    out
}

#[tokio::test]
async fn dkimpy_and_mail_auth_verify_rsa_and_ed25519_signatures() {
    let fx = fixture();
    let msg = signed(&fx, MESSAGE.as_bytes());
    let head = String::from_utf8_lossy(&msg[..msg.len() - MESSAGE.len()]).to_string();
    eprintln!("{head}");
    assert_eq!(head.matches("DKIM-Signature:").count(), 2, "{head}");
    let h: String = head
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let froms = h
        .split(':')
        .filter(|n| n.eq_ignore_ascii_case("from"))
        .count();
    assert_eq!(froms, 2, "From is over-signed: h={h}");
    assert!(head.contains("a=rsa-sha256") && head.contains("a=ed25519-sha256"));
    assert!(head.contains("c=relaxed/relaxed") && head.contains("d=example.com"));

    let (rc, out) = dkimpy(&fx, &msg);
    assert_eq!(rc, 0, "dkimpy: {out}");
    for sel in &fx.selectors {
        assert!(
            out.contains(&format!("d=example.com s={sel}: pass")),
            "{out}"
        );
    }
    let results = mail_auth_results(&fx, &msg).await;
    assert_eq!(results, vec![DkimResult::Pass, DkimResult::Pass]);

    // Keys are parsed once: signing is just hashing + one RSA and one Ed25519 operation.
    let start = std::time::Instant::now();
    for _ in 0..200 {
        fx.signer.sign(MESSAGE.as_bytes()).unwrap().unwrap();
    }
    eprintln!(
        "sign (rsa+ed25519, debug build): {:?} per message",
        start.elapsed() / 200
    );
}

#[tokio::test]
async fn changed_body_or_added_from_fails_everywhere() {
    let fx = fixture();
    let msg = signed(&fx, MESSAGE.as_bytes());

    let body_changed = String::from_utf8(msg.clone())
        .unwrap()
        .replace("Hello Bob", "Hello Eve");
    let (rc, out) = dkimpy(&fx, body_changed.as_bytes());
    assert_eq!(rc, 1, "{out}");
    assert_eq!(out.matches(": fail").count(), 2, "{out}");
    let results = mail_auth_results(&fx, body_changed.as_bytes()).await;
    // mail-auth reports a body hash mismatch as neutral (RFC 6376 §6.3 leaves it open).
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| format!("{r:?}").contains("FailedBodyHashMatch")),
        "{results:?}"
    );

    // From is over-signed: a second From added above the signed one breaks both signatures.
    let mut extra_from = b"From: mallory@evil.test\r\n".to_vec();
    extra_from.extend_from_slice(&msg);
    let (rc, out) = dkimpy(&fx, &extra_from);
    assert_eq!(rc, 1, "{out}");
    assert_eq!(out.matches(": fail").count(), 2, "{out}");
    let results = mail_auth_results(&fx, &extra_from).await;
    assert!(
        results.iter().all(|r| *r != DkimResult::Pass),
        "{results:?}"
    );

    // Control: an added unsigned header does not break them, so the From check above is real.
    let mut extra_other = b"X-Added: by a later hop\r\n".to_vec();
    extra_other.extend_from_slice(&msg);
    assert_eq!(dkimpy(&fx, &extra_other).0, 0);

    // Relaxed canonicalization tolerates whitespace changes in headers and body.
    let rewrapped = String::from_utf8(msg)
        .unwrap()
        .replace(
            "Subject: DKIM test with  extra   spaces",
            "Subject:  DKIM test with extra spaces",
        )
        .replace("trailing spaces   \r\n", "trailing spaces\r\n");
    let (rc, out) = dkimpy(&fx, rewrapped.as_bytes());
    assert_eq!(rc, 0, "{out}");
}

#[tokio::test]
async fn openssl_pkcs1_rsa_and_pkcs8_ed25519_keys_sign() {
    let fx = fixture();
    let msg = MESSAGE.replace("alice@Example.com", "alice@mail.example.org");
    // Subdomain of a signing domain: no key, no signature (DMARC relaxed alignment is the
    // receiver's business; we only sign what we hold a key for).
    assert_eq!(fx.signer.sign(msg.as_bytes()).unwrap(), None);
    let msg = MESSAGE.replace("alice@Example.com", "alice@example.org");
    let signed = signed(&fx, msg.as_bytes());
    let (rc, out) = dkimpy(&fx, &signed);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("d=example.org s=pkcs1: pass") && out.contains("d=example.org s=oed: pass")
    );
    let results = mail_auth_results(&fx, &signed).await;
    assert_eq!(results, vec![DkimResult::Pass, DkimResult::Pass]);
}

#[test]
fn no_key_or_no_single_from_means_no_signature() {
    let fx = fixture();
    assert!(fx.signer.has_key_for("Example.COM."));
    assert!(fx.signer.has_key_for("example.org"));
    assert!(!fx.signer.has_key_for("example.net"));
    let other = MESSAGE.replace("alice@Example.com", "alice@example.net");
    assert_eq!(fx.signer.sign(other.as_bytes()).unwrap(), None);
    let two = MESSAGE.replace(
        "<alice@Example.com>",
        "<alice@example.com>, carol@example.com",
    );
    assert_eq!(fx.signer.sign(two.as_bytes()).unwrap(), None);
    let none = MESSAGE.replace("From: ", "Sender: ");
    assert_eq!(fx.signer.sign(none.as_bytes()).unwrap(), None);
    assert_eq!(fx.signer.sign(b"").unwrap(), None);
    assert_eq!(fx.signer.sign(b"\r\n\r\n").unwrap(), None);
}

#[test]
fn load_errors_name_file_and_domain() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let cfg = DkimKeyConfig {
        domain: "example.com".into(),
        selector: "s".into(),
        key: bad.clone(),
    };
    let err = DkimSigner::load(&[cfg]).unwrap_err().to_string();
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("example.com"),
        "{err}"
    );
    assert!(err.contains("no private key found"), "{err}");

    let g = keygen("example.com", "dup", Algorithm::Ed25519, dir.path()).unwrap();
    let cfg = DkimKeyConfig {
        domain: "example.com".into(),
        selector: "dup".into(),
        key: g.path,
    };
    let err = DkimSigner::load(&[cfg.clone(), cfg])
        .unwrap_err()
        .to_string();
    assert!(err.contains("configured twice"), "{err}");
}
