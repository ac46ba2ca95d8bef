//! DANE for SMTP (RFC 7672): which MX hosts have usable TLSA records (looked up securely,
//! see secure_dns.rs), and the rustls verifier that checks a server certificate against them.
//!
//! Rules implemented: DANE applies only when the MX RRset is DNSSEC-secure (§2.2.1); the
//! TLSA RRset of `_25._tcp.<mx host>` must be secure too. Usable records are DANE-TA(2) and
//! DANE-EE(3) with selector 0/1 and matching type 0/1/2 (PKIX-TA/EE, usages 0/1, are not
//! usable for SMTP, §3.1.3). DANE-EE matches the end-entity certificate or its SPKI and
//! ignores names and validity dates (§3.1.1); DANE-TA anchors the presented chain at the
//! matching certificate and checks the name against the MX host or the next-hop domain
//! (§3.2.2), with the usual validity dates. A secure TLSA RRset with no usable record
//! still forbids cleartext (§2.2: mandatory unauthenticated TLS).
//!
//! Owns: TLSA selection and certificate matching. Must not touch: the SMTP dialogue, MX
//! ordering or the decision what to do with a host (transport::smtp does that).
use std::sync::Arc;

use hickory_resolver::proto::rr::{RData, RecordType};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256, Sha512};

use super::secure_dns::{SecureDns, Secured};
use super::tls::crypto_provider;

/// One TLSA record (RFC 6698 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// DANE-TA or DANE-EE with known selector/matching type and a digest of the right size.
    pub fn is_usable(&self) -> bool {
        let size_ok = match self.matching {
            0 => !self.data.is_empty(),
            1 => self.data.len() == 32,
            2 => self.data.len() == 64,
            _ => false,
        };
        matches!(self.usage, 2 | 3) && matches!(self.selector, 0 | 1) && size_ok
    }

    /// Whether `cert` (DER) is what this record describes.
    pub fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let selected: Vec<u8> = match self.selector {
            0 => cert.as_ref().to_vec(),
            1 => match webpki::EndEntityCert::try_from(cert) {
                Ok(c) => c.subject_public_key_info().as_ref().to_vec(),
                Err(_) => return false,
            },
            _ => return false,
        };
        match self.matching {
            0 => selected == self.data,
            1 => Sha256::digest(&selected).as_slice() == self.data.as_slice(),
            2 => Sha512::digest(&selected).as_slice() == self.data.as_slice(),
            _ => false,
        }
    }
}

impl std::fmt::Display for Tlsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.data.iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "{} {} {} {hex}", self.usage, self.selector, self.matching)
    }
}

/// What DANE says about one MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// Secure, usable TLSA records: TLS is mandatory and verified against them.
    Verify(Vec<Tlsa>),
    /// Secure TLSA records, none usable: TLS mandatory, not authenticated.
    EncryptOnly,
    /// No secure TLSA records: DANE does not apply (other policies do).
    NotApplicable,
    /// The TLSA lookup failed (bogus, SERVFAIL, timeout): this host must not be used.
    Failed(String),
}

/// DANE lookups against a trusted validating resolver.
#[derive(Debug, Clone)]
pub struct Dane {
    dns: SecureDns,
}

impl Dane {
    pub fn new(dns: SecureDns) -> Dane {
        Dane { dns }
    }

    /// §2.2.1: whether the MX RRset (or, without MX records, its denial) of `domain` is
    /// DNSSEC-secure. `Err` when the resolver could not validate it (bogus).
    pub async fn mx_is_secure(&self, domain: &str) -> Result<bool, String> {
        Ok(self.dns.lookup(domain, RecordType::MX).await?.is_secure())
    }

    /// The TLSA policy of `host` on SMTP port `port` (`_25._tcp.<host>`).
    pub async fn host_policy(&self, host: &str, port: u16) -> HostPolicy {
        let name = format!("_{port}._tcp.{}", host.trim_end_matches('.'));
        match self.dns.lookup(&name, RecordType::TLSA).await {
            Err(e) => HostPolicy::Failed(format!("TLSA lookup failed: {e}")),
            Ok(Secured::Records { secure: true, data }) => {
                let usable: Vec<Tlsa> = data.iter().filter_map(to_tlsa).filter(Tlsa::is_usable).collect();
                if usable.is_empty() { HostPolicy::EncryptOnly } else { HostPolicy::Verify(usable) }
            }
            Ok(_) => HostPolicy::NotApplicable,
        }
    }
}

fn to_tlsa(data: &RData) -> Option<Tlsa> {
    match data {
        RData::TLSA(t) => Some(Tlsa {
            usage: t.cert_usage.into(),
            selector: t.selector.into(),
            matching: t.matching.into(),
            data: t.cert_data.clone(),
        }),
        _ => None,
    }
}

/// A client config whose only trust is `records`; `names` are the reference identifiers
/// for DANE-TA (the MX host, then the next-hop domain).
pub fn dane_config(records: Vec<Tlsa>, names: Vec<String>) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = crypto_provider();
    let verifier = DaneVerifier { records, names, algs: provider.signature_verification_algorithms };
    Ok(Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
    ))
}

/// Why no TLSA record matched (shown in the deferral text).
#[derive(Debug)]
struct DaneMismatch(String);

impl std::fmt::Display for DaneMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DaneMismatch {}

#[derive(Debug)]
struct DaneVerifier {
    records: Vec<Tlsa>,
    names: Vec<String>,
    algs: WebPkiSupportedAlgorithms,
}

impl DaneVerifier {
    /// DANE-TA: a certificate of the presented chain matches the record; the chain must
    /// lead from the end entity to it and name one of our reference identifiers.
    fn ta_verifies(&self, rec: &Tlsa, ee: &CertificateDer<'_>, chain: &[CertificateDer<'_>], now: UnixTime) -> bool {
        let Some(anchor) = chain.iter().find(|c| rec.matches(c)) else { return false };
        let mut roots = RootCertStore::empty();
        if roots.add(anchor.clone().into_owned()).is_err() {
            return false;
        }
        let Ok(verifier) = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto_provider()).build() else {
            return false;
        };
        self.names.iter().filter_map(|n| ServerName::try_from(n.clone()).ok()).any(|name| {
            verifier.verify_server_cert(ee, chain, &name, &[], now).is_ok()
        })
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        for rec in &self.records {
            let ok = match rec.usage {
                3 => rec.matches(end_entity),
                2 => self.ta_verifies(rec, end_entity, intermediates, now),
                _ => false,
            };
            if ok {
                tracing::debug!(tlsa = %rec, "DANE: certificate matches");
                return Ok(ServerCertVerified::assertion());
            }
        }
        let list: Vec<String> = self.records.iter().map(|r| r.to_string()).collect();
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(
            DaneMismatch(format!("DANE: no TLSA record matches the server certificate (TLSA: {})", list.join(", "))),
        )))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> (CertificateDer<'static>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mx.example".to_string()]).unwrap().self_signed(&key).unwrap();
        let spki = key.public_key_der();
        (cert.der().clone(), spki)
    }

    #[test]
    fn usable_records() {
        let r = |usage, selector, matching, len| Tlsa { usage, selector, matching, data: vec![0; len] };
        assert!(r(3, 1, 1, 32).is_usable());
        assert!(r(2, 0, 2, 64).is_usable());
        assert!(r(3, 0, 0, 300).is_usable());
        assert!(!r(1, 1, 1, 32).is_usable(), "PKIX-EE is not usable for SMTP");
        assert!(!r(0, 0, 1, 32).is_usable(), "PKIX-TA is not usable for SMTP");
        assert!(!r(3, 1, 1, 31).is_usable(), "SHA-256 digest of the wrong size");
        assert!(!r(3, 2, 1, 32).is_usable());
        assert!(!r(3, 1, 3, 32).is_usable());
    }

    #[test]
    fn matching_by_selector_and_type() {
        let (der, spki) = cert();
        let rec = |selector, matching, data: Vec<u8>| Tlsa { usage: 3, selector, matching, data };
        assert!(rec(1, 1, Sha256::digest(&spki).to_vec()).matches(&der));
        assert!(rec(1, 2, Sha512::digest(&spki).to_vec()).matches(&der));
        assert!(rec(1, 0, spki.clone()).matches(&der));
        assert!(rec(0, 1, Sha256::digest(der.as_ref()).to_vec()).matches(&der));
        assert!(!rec(0, 1, Sha256::digest(&spki).to_vec()).matches(&der), "selector decides what is hashed");
        let (other, _) = cert();
        assert!(!rec(1, 1, Sha256::digest(&spki).to_vec()).matches(&other));
    }
}
