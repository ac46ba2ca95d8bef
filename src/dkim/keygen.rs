//! `postern dkim keygen`: makes a new RSA-2048 or Ed25519 key, writes it as PKCS#8 PEM
//! (mode 0600, never overwriting), and returns the DNS TXT record that publishes it.
use super::DkimError;
use super::keys::{check_selector, normalize_domain};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Key type for new keys. RSA-2048 is understood by every verifier; Ed25519 (RFC 8463)
/// by fewer, so it is best published next to an RSA key under a second selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rsa2048,
    Ed25519,
}

impl std::str::FromStr for Algorithm {
    type Err = DkimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rsa" | "rsa2048" | "rsa-2048" => Ok(Algorithm::Rsa2048),
            "ed25519" => Ok(Algorithm::Ed25519),
            _ => Err(DkimError::InvalidName {
                what: "algorithm",
                value: s.to_string(),
                reason: "expected rsa or ed25519",
            }),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algorithm::Rsa2048 => "rsa",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

/// What `keygen` wrote and what to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The PEM file written (`<out_dir>/<domain>.<selector>.pem`).
    pub path: PathBuf,
    /// `<selector>._domainkey.<domain>`
    pub record_name: String,
    /// `v=DKIM1; k=rsa; p=...` as one string (DNS splits it into 255-byte chunks).
    pub txt: String,
}

impl GeneratedKey {
    /// The TXT value as quoted 255-byte character-strings, for zone files and DNS UIs.
    pub fn txt_zone_value(&self) -> String {
        self.txt
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Generates a key for `selector._domainkey.domain` and writes it to `out_dir`.
pub fn keygen(
    domain: &str,
    selector: &str,
    algorithm: Algorithm,
    out_dir: &Path,
) -> Result<GeneratedKey, DkimError> {
    let domain = normalize_domain(domain)?;
    check_selector(selector)?;
    let (pkcs8, public) = match algorithm {
        Algorithm::Rsa2048 => generate_rsa()?,
        Algorithm::Ed25519 => generate_ed25519()?,
    };
    let path = out_dir.join(format!("{domain}.{selector}.pem"));
    write_private(out_dir, &path, &pem_encode("PRIVATE KEY", &pkcs8))?;
    Ok(GeneratedKey {
        path,
        record_name: format!("{selector}._domainkey.{domain}"),
        txt: format!("v=DKIM1; k={algorithm}; p={}", B64.encode(public)),
    })
}

/// PKCS#8 DER of a new RSA-2048 key and its SubjectPublicKeyInfo DER (the DKIM `p=`).
fn generate_rsa() -> Result<(Vec<u8>, Vec<u8>), DkimError> {
    let err = |what: &str| DkimError::Generate(format!("RSA-2048: {what}"));
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| err("generate"))?;
    let pkcs8: Pkcs8V1Der = pair.as_der().map_err(|_| err("encode private key"))?;
    let spki: PublicKeyX509Der = pair
        .public_key()
        .as_der()
        .map_err(|_| err("encode public key"))?;
    Ok((pkcs8.as_ref().to_vec(), spki.as_ref().to_vec()))
}

/// PKCS#8 DER of a new Ed25519 key and its raw 32-byte public key (RFC 8463 `p=`).
fn generate_ed25519() -> Result<(Vec<u8>, Vec<u8>), DkimError> {
    let err = |what: &str| DkimError::Generate(format!("Ed25519: {what}"));
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| err("generate"))?;
    let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| err("reparse"))?;
    Ok((doc.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Creates the file with mode 0600 from the start (no window where it is world-readable)
/// and refuses to replace an existing key: losing a published key breaks verification.
fn write_private(dir: &Path, path: &Path, pem: &str) -> Result<(), DkimError> {
    let werr = |source| DkimError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(werr)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => DkimError::Exists {
                path: path.to_path_buf(),
            },
            _ => werr(e),
        })?;
    file.write_all(pem.as_bytes()).map_err(werr)?;
    file.sync_all().map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ed25519_key_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let g = keygen("Example.com", "ed1", Algorithm::Ed25519, dir.path()).unwrap();
        assert_eq!(g.path, dir.path().join("example.com.ed1.pem"));
        assert_eq!(g.record_name, "ed1._domainkey.example.com");
        let p = g.txt.strip_prefix("v=DKIM1; k=ed25519; p=").unwrap();
        assert_eq!(B64.decode(p).unwrap().len(), 32);
        let mode = std::fs::metadata(&g.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let pem = std::fs::read(&g.path).unwrap();
        assert!(pem.starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
        assert!(matches!(
            super::super::keys::parse_pem(&pem),
            Ok(mail_auth::common::crypto::DkimKey::Ed25519(_))
        ));
        let again = keygen("example.com", "ed1", Algorithm::Ed25519, dir.path());
        assert!(matches!(again, Err(DkimError::Exists { .. })));
    }

    #[test]
    fn rsa_key_has_spki_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let g = keygen("example.com", "rsa1", Algorithm::Rsa2048, dir.path()).unwrap();
        let p = g.txt.strip_prefix("v=DKIM1; k=rsa; p=").unwrap();
        // SubjectPublicKeyInfo of a 2048-bit key is 294 bytes.
        assert_eq!(B64.decode(p).unwrap().len(), 294);
        let zone = g.txt_zone_value();
        assert!(zone.starts_with("\"v=DKIM1; k=rsa; p=") && zone.contains("\" \""));
        let pem = std::fs::read(&g.path).unwrap();
        assert!(matches!(
            super::super::keys::parse_pem(&pem),
            Ok(mail_auth::common::crypto::DkimKey::Rsa(_))
        ));
    }

    #[test]
    fn bad_names_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(keygen("../x", "s", Algorithm::Ed25519, dir.path()).is_err());
        assert!(keygen("example.com", "a/b", Algorithm::Ed25519, dir.path()).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!("RSA".parse::<Algorithm>().unwrap(), Algorithm::Rsa2048);
        assert!("dsa".parse::<Algorithm>().is_err());
    }
}
