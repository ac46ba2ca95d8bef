//! The public half of a configured DKIM key, in the form `dkim keygen` publishes it (RSA:
//! SubjectPublicKeyInfo, RFC 6376 §3.6.1; Ed25519: the raw 32 bytes, RFC 8463), and the
//! comparison with a published `p=`.
use crate::dkim::{Algorithm, DkimKeyConfig, DkimSigner, GeneratedKey};
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::{PrivateKeyDer, pem::PemObject};

#[derive(Debug)]
pub(super) struct PublicKey {
    /// Displays as the DKIM `k=` value (`rsa` for RSA keys of any size).
    pub algorithm: Algorithm,
    /// What `p=` must decode to.
    pub der: Vec<u8>,
}

/// Reads the key of `cfg`. It is first loaded as the daemon loads it, so a key the daemon
/// would refuse fails here with the same message.
pub(super) fn load(cfg: &DkimKeyConfig) -> Result<PublicKey, String> {
    DkimSigner::load(std::slice::from_ref(cfg)).map_err(|e| e.to_string())?;
    let path = cfg.key.display();
    let pem = std::fs::read(&cfg.key).map_err(|e| format!("{path}: {e}"))?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("{path}: {e}"))?;
    let rsa = |pair: RsaKeyPair| -> Result<PublicKey, String> {
        let spki: PublicKeyX509Der =
            pair.public_key().as_der().map_err(|_| format!("{path}: cannot encode the RSA public key"))?;
        Ok(PublicKey { algorithm: Algorithm::Rsa2048, der: spki.as_ref().to_vec() })
    };
    match &der {
        PrivateKeyDer::Pkcs1(k) => rsa(RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|e| format!("{path}: {e}"))?),
        PrivateKeyDer::Pkcs8(k) => match RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()) {
            Ok(pair) => rsa(pair),
            Err(_) => Ed25519KeyPair::from_pkcs8_maybe_unchecked(k.secret_pkcs8_der())
                .map(|pair| PublicKey { algorithm: Algorithm::Ed25519, der: pair.public_key().as_ref().to_vec() })
                .map_err(|e| format!("{path}: neither an RSA nor an Ed25519 key: {e}")),
        },
        _ => Err(format!("{path}: DKIM keys must be RSA or Ed25519")),
    }
}

impl PublicKey {
    /// The record that publishes this key for `cfg.selector` at `domain`.
    pub fn record(&self, cfg: &DkimKeyConfig, domain: &str) -> GeneratedKey {
        GeneratedKey {
            path: cfg.key.clone(),
            record_name: format!("{}._domainkey.{domain}", cfg.selector),
            txt: format!("v=DKIM1; k={}; p={}", self.algorithm, B64.encode(&self.der)),
        }
    }

    /// The decoded `p=` is this key. For RSA the bare RSAPublicKey (PKCS#1), which some
    /// publish instead of the SubjectPublicKeyInfo wrapping it, is accepted too.
    pub fn matches(&self, published: &[u8]) -> bool {
        published == self.der
            || (self.algorithm == Algorithm::Rsa2048
                && published.len() > 64
                && published.first() == Some(&0x30)
                && self.der.ends_with(published))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_key_keygen_published() {
        let dir = tempfile::tempdir().unwrap();
        for algorithm in [Algorithm::Rsa2048, Algorithm::Ed25519] {
            let sel = format!("s{algorithm}");
            let g = crate::dkim::keygen("d.test", &sel, algorithm, dir.path()).unwrap();
            let cfg = DkimKeyConfig { domain: "d.test".into(), selector: sel, key: g.path.clone() };
            let key = load(&cfg).unwrap();
            assert_eq!(key.record(&cfg, "d.test"), g, "same record as keygen printed");
            let p = B64.decode(g.txt.rsplit_once("p=").unwrap().1).unwrap();
            assert!(key.matches(&p));
            assert!(!key.matches(&p[..p.len() - 1]));
        }
        let rsa = load(&DkimKeyConfig {
            domain: "d.test".into(),
            selector: "srsa".into(),
            key: dir.path().join("d.test.srsa.pem"),
        })
        .unwrap();
        // The RSAPublicKey inside the SubjectPublicKeyInfo (after its 24-byte header).
        assert!(rsa.matches(&rsa.der[24..]));
        let missing = DkimKeyConfig { domain: "d.test".into(), selector: "x".into(), key: dir.path().join("none.pem") };
        assert!(load(&missing).unwrap_err().contains("cannot read file"));
    }
}
