//! `postern dkim keygen` writes a key the signer loads and prints the TXT record for it.
mod support;

use std::process::Command;

#[test]
fn keygen_writes_a_private_key_and_prints_its_record() {
    let dir = tempfile::tempdir().unwrap();
    for (selector, alg, k) in [("s1", "rsa", "k=rsa"), ("s2", "ed25519", "k=ed25519")] {
        let out = Command::new(support::server::postern_bin())
            .current_dir(dir.path())
            .args(["dkim", "keygen", "--domain", "example.com", "--selector", selector, "--algorithm", alg])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", support::server::describe(&out));
        let record = String::from_utf8(out.stdout).unwrap();
        assert!(record.starts_with(&format!("{selector}._domainkey.example.com. IN TXT \"v=DKIM1; {k}; p=")), "{record}");
        let key = dir.path().join(format!("config/dkim/example.com.{selector}.pem"));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "the private key is readable by its owner only");
        let signer = postern::dkim::DkimSigner::load(&[postern::dkim::DkimKeyConfig {
            domain: "example.com".into(),
            selector: selector.into(),
            key,
        }])
        .unwrap();
        let sig = signer.sign(b"From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n").unwrap().unwrap();
        assert!(String::from_utf8(sig).unwrap().contains(&format!("s={selector}")));
    }
    let again = Command::new(support::server::postern_bin())
        .current_dir(dir.path())
        .args(["dkim", "keygen", "--domain", "example.com", "--selector", "s1"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "an existing key is never overwritten");
}
