//! Reading DKIM private keys (RSA PKCS#1/PKCS#8, Ed25519 PKCS#8) from PEM files, and the
//! name rules shared by loading and key generation (domain and selector syntax).
use super::{DkimError, DkimKeyConfig};
use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use rustls_pki_types::{PrivateKeyDer, pem::PemObject};

/// A parsed key with the normalized name it signs for.
pub(crate) struct LoadedKey {
    /// ASCII (A-label), lowercase, no trailing dot.
    pub domain: String,
    pub selector: String,
    pub key: DkimKey,
}

/// DER of the rsaEncryption OID 1.2.840.113549.1.1.1 and of id-Ed25519 1.3.101.112.
const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// Reads and parses the key file of one config entry. Errors name the file and domain.
pub(crate) fn load_key(cfg: &DkimKeyConfig) -> Result<LoadedKey, DkimError> {
    let domain = normalize_domain(&cfg.domain)?;
    check_selector(&cfg.selector)?;
    let pem = std::fs::read(&cfg.key).map_err(|source| DkimError::Read {
        path: cfg.key.clone(),
        domain: cfg.domain.clone(),
        source,
    })?;
    let key = parse_pem(&pem).map_err(|reason| DkimError::BadKey {
        path: cfg.key.clone(),
        domain: cfg.domain.clone(),
        reason,
    })?;
    Ok(LoadedKey {
        domain,
        selector: cfg.selector.clone(),
        key,
    })
}

/// Parses the first private key in a PEM document; the algorithm comes from the key itself.
pub fn parse_pem(pem: &[u8]) -> Result<DkimKey, String> {
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no private key found (expected a PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\" block)"
                .to_string()
        }
        other => format!("invalid PEM: {other}"),
    })?;
    match der {
        PrivateKeyDer::Pkcs1(_) => rsa_key(der),
        PrivateKeyDer::Pkcs8(ref p8) => {
            // The AlgorithmIdentifier sits in the first bytes of the PKCS#8 structure.
            let head = &p8.secret_pkcs8_der()[..p8.secret_pkcs8_der().len().min(32)];
            if contains(head, OID_ED25519) {
                Ed25519Key::from_pkcs8_der(p8.secret_pkcs8_der())
                    .map(DkimKey::Ed25519)
                    .map_err(|e| format!("invalid Ed25519 PKCS#8 key: {e}"))
            } else if contains(head, OID_RSA) {
                rsa_key(der)
            } else {
                Err("unsupported key algorithm (DKIM keys must be RSA or Ed25519)".to_string())
            }
        }
        PrivateKeyDer::Sec1(_) => {
            Err("EC (SEC1) keys cannot sign DKIM; use RSA or Ed25519".to_string())
        }
        _ => Err("unsupported private key format".to_string()),
    }
}

fn rsa_key(der: PrivateKeyDer<'_>) -> Result<DkimKey, String> {
    RsaKey::<Sha256>::from_key_der(der)
        .map(DkimKey::Rsa)
        .map_err(|e| format!("invalid RSA key (2048 to 8192 bits are supported): {e}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Lowercase ASCII (IDNA A-label) form of a domain, without a trailing dot.
pub(crate) fn normalize_domain(domain: &str) -> Result<String, DkimError> {
    let bad = |reason| DkimError::InvalidName {
        what: "domain",
        value: domain.to_string(),
        reason,
    };
    let trimmed = domain.trim().trim_end_matches('.');
    let ascii = crate::proto::smtp::address::ascii_domain(trimmed).ok_or_else(|| bad("not a valid domain name"))?;
    if ascii.len() > 253 {
        return Err(bad("must be 1 to 253 characters"));
    }
    if !ascii.split('.').all(valid_label) {
        return Err(bad("labels must be 1-63 letters, digits, '-' or '_'"));
    }
    Ok(ascii.to_ascii_lowercase())
}

/// A selector is one or more DNS labels (RFC 6376 §3.1).
pub(crate) fn check_selector(selector: &str) -> Result<(), DkimError> {
    if selector.is_empty() || selector.len() > 63 * 4 || !selector.split('.').all(valid_label) {
        return Err(DkimError::InvalidName {
            what: "selector",
            value: selector.to_string(),
            reason: "must be DNS labels of letters, digits, '-' or '_'",
        });
    }
    Ok(())
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized() {
        assert_eq!(normalize_domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(normalize_domain("").is_err());
        assert!(normalize_domain("a..b").is_err());
        assert!(normalize_domain("../etc/passwd").is_err());
    }

    #[test]
    fn selectors_are_dns_labels() {
        assert!(check_selector("mail202611").is_ok());
        assert!(check_selector("s1.eu").is_ok());
        assert!(check_selector("").is_err());
        assert!(check_selector("../x").is_err());
        assert!(check_selector("a/b").is_err());
    }

    #[test]
    fn pem_errors_are_clear() {
        let e = parse_pem(b"hello").err().unwrap();
        assert!(e.contains("no private key found"), "{e}");
        let sec1 = b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIE\n-----END EC PRIVATE KEY-----\n";
        let e = parse_pem(sec1).err().unwrap();
        assert!(e.contains("EC") || e.contains("PEM"), "{e}");
    }
}
