//! Pending ACME challenges, shared between the issuer (which sets them) and the doors the
//! CA validates through: the HTTP-01 responder (token → key authorization) and every
//! implicit-TLS listener (name → a TLS-ALPN-01 certificate, RFC 8737).
use rustls::ServerConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The ALPN protocol the CA offers for TLS-ALPN-01 (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

#[derive(Default)]
pub struct Challenges {
    http: Mutex<HashMap<String, String>>,
    alpn: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl Challenges {
    /// The key authorization to answer for an HTTP-01 token.
    pub fn http_answer(&self, token: &str) -> Option<String> {
        self.http.lock().unwrap().get(token).cloned()
    }

    /// The TLS configuration holding the challenge certificate for `name`.
    pub fn alpn_config(&self, name: &str) -> Option<Arc<ServerConfig>> {
        self.alpn.lock().unwrap().get(&name.to_ascii_lowercase()).cloned()
    }

    pub fn set_http(&self, token: &str, key_authorization: &str) {
        self.http.lock().unwrap().insert(token.to_string(), key_authorization.to_string());
    }

    /// Builds and installs the self-signed certificate RFC 8737 §3 asks for: `name` as its
    /// only SAN, the critical acmeIdentifier extension holding SHA-256(key authorization).
    pub fn set_alpn(&self, name: &str, key_authorization_digest: &[u8]) -> Result<(), String> {
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(|e| e.to_string())?;
        params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(key_authorization_digest)];
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let signer = provider.key_provider.load_private_key(key_der).map_err(|e| e.to_string())?;
        // Not `with_single_cert`: its check rejects the critical acmeIdentifier extension.
        let certified = Arc::new(rustls::sign::CertifiedKey::new(vec![cert.der().clone()], signer));
        let mut cfg = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(certified)));
        cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        self.alpn.lock().unwrap().insert(name.to_ascii_lowercase(), Arc::new(cfg));
        Ok(())
    }

    /// Forgets every challenge (after an order is finished, whatever its outcome).
    pub fn clear(&self) {
        self.http.lock().unwrap().clear();
        self.alpn.lock().unwrap().clear();
    }
}

/// Always the one challenge certificate.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_answer_clear() {
        let c = Challenges::default();
        assert_eq!(c.http_answer("tok"), None);
        c.set_http("tok", "tok.thumb");
        assert_eq!(c.http_answer("tok").as_deref(), Some("tok.thumb"));
        c.set_alpn("Mail.Example.test", &[7u8; 32]).unwrap();
        let cfg = c.alpn_config("mail.example.test").expect("installed");
        assert_eq!(cfg.alpn_protocols, vec![ACME_TLS_ALPN.to_vec()]);
        c.clear();
        assert!(c.http_answer("tok").is_none() && c.alpn_config("mail.example.test").is_none());
    }
}
