//! Client TLS for outbound SMTP: the `TlsPolicy` levels (Postfix `smtp_tls_security_level`
//! none/may/encrypt/verify) and the rustls client configs that implement them.
//!
//! Owns: certificate verification choices (accept-any for opportunistic levels, webpki roots
//! plus extra CA files for `verify`) and the plaintext-fallback rules. Must not touch: the
//! SMTP dialogue (client.rs drives STARTTLS) or server-side TLS (inbound/).
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How hard to insist on TLS towards a destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsPolicy {
    /// Never STARTTLS.
    None,
    /// STARTTLS when offered, any certificate; plaintext when not offered or the handshake fails.
    #[default]
    May,
    /// TLS required (temporary failure without it), any certificate.
    Encrypt,
    /// TLS required and the certificate must chain to a trusted root and match the name.
    Verify,
}

impl TlsPolicy {
    /// Whether to send STARTTLS when the server offers it.
    pub fn wants_tls(self) -> bool {
        !matches!(self, TlsPolicy::None)
    }

    /// Whether delivery must fail (temporarily) rather than continue in plaintext.
    pub fn requires_tls(self) -> bool {
        matches!(self, TlsPolicy::Encrypt | TlsPolicy::Verify)
    }

    /// `may` only: after a failed handshake, reconnect and deliver in plaintext (Postfix does
    /// the same; the failed session cannot be reused because TLS state is unknown).
    pub fn plaintext_fallback(self) -> bool {
        matches!(self, TlsPolicy::May)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("CA file {path} holds no usable certificate")]
    NoCertificate { path: PathBuf },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider used for every outbound connection (both ring and aws-lc-rs are
/// compiled in through dependencies, so the process default cannot be relied on).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Client configs for every policy level, built once at start-up and shared.
#[derive(Debug, Clone)]
pub struct OutboundTls {
    opportunistic: Arc<ClientConfig>,
    verified: Arc<ClientConfig>,
}

impl OutboundTls {
    /// `extra_ca_files`: PEM files whose certificates are trusted in addition to the
    /// webpki (Mozilla) roots for `verify`.
    pub fn new(extra_ca_files: &[PathBuf]) -> Result<Self, TlsConfigError> {
        Ok(OutboundTls {
            opportunistic: Arc::new(opportunistic_config()?),
            verified: Arc::new(verified_config(extra_ca_files)?),
        })
    }

    /// The same configs with `verified` replaced: DANE verifies against a host's TLSA
    /// records instead of the WebPKI.
    pub fn with_verified(&self, verified: Arc<ClientConfig>) -> OutboundTls {
        OutboundTls { opportunistic: self.opportunistic.clone(), verified }
    }

    /// The config STARTTLS should use under `policy`; `None` for `TlsPolicy::None`.
    pub fn config(&self, policy: TlsPolicy) -> Option<Arc<ClientConfig>> {
        match policy {
            TlsPolicy::None => None,
            TlsPolicy::May | TlsPolicy::Encrypt => Some(self.opportunistic.clone()),
            TlsPolicy::Verify => Some(self.verified.clone()),
        }
    }
}

/// Accepts any certificate chain: opportunistic TLS protects against passive listeners only,
/// like Postfix `may`/`encrypt`. Handshake signatures are still checked.
pub fn opportunistic_config() -> Result<ClientConfig, TlsConfigError> {
    let provider = crypto_provider();
    let verifier = AcceptAnyCert {
        algs: provider.signature_verification_algorithms,
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// WebPKI roots plus `extra_ca_files`; checks the chain and the server name.
pub fn verified_config(extra_ca_files: &[PathBuf]) -> Result<ClientConfig, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for path in extra_ca_files {
        add_ca_file(&mut roots, path)?;
    }
    Ok(ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsConfigError> {
    let err = |reason: String| TlsConfigError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut added = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))? {
        let cert = cert.map_err(|e| err(e.to_string()))?;
        roots.add(cert).map_err(|e| err(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The name to verify and send as SNI: a DNS name, or an IP for address literals.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let bare = bare.strip_prefix("IPv6:").unwrap_or(bare);
    ServerName::try_from(bare.trim_end_matches('.').to_string())
        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))
}

#[derive(Debug)]
struct AcceptAnyCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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

    #[test]
    fn policy_serde_is_lower_case() {
        #[derive(serde::Deserialize)]
        struct W {
            tls: TlsPolicy,
        }
        for (text, want) in [
            ("none", TlsPolicy::None),
            ("may", TlsPolicy::May),
            ("encrypt", TlsPolicy::Encrypt),
            ("verify", TlsPolicy::Verify),
        ] {
            let w: W = toml::from_str(&format!("tls = \"{text}\"")).unwrap();
            assert_eq!(w.tls, want);
        }
        assert!(toml::from_str::<W>("tls = \"May\"").is_err());
    }

    #[test]
    fn server_names_from_hosts_and_literals() {
        assert!(matches!(
            server_name("mx1.example.com.").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("[127.0.0.1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[IPv6:::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad name!").is_err());
    }

    #[test]
    fn configs_build_and_missing_ca_file_is_an_error() {
        let tls = OutboundTls::new(&[]).unwrap();
        assert!(tls.config(TlsPolicy::None).is_none());
        assert!(tls.config(TlsPolicy::Verify).is_some());
        let err = OutboundTls::new(&[PathBuf::from("/nonexistent/ca.pem")]).unwrap_err();
        assert!(matches!(err, TlsConfigError::CaFile { .. }), "{err}");
    }
}
