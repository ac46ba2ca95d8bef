//! Server TLS: the ACME certificate when one is issued, else the configured one, else a
//! self-signed one generated on first start; and the accept step that answers ACME
//! TLS-ALPN-01 validation handshakes on every implicit-TLS listener.
//!
//! TLS 1.2 and 1.3 only (rustls implements nothing older).
use crate::config::Config;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.cert {path}: {msg}")]
    Cert { path: PathBuf, msg: String },
    #[error("tls.key {path}: {msg}")]
    Key { path: PathBuf, msg: String },
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("tls: cannot write generated certificate into {path}: {source}")]
    Generate { path: PathBuf, source: std::io::Error },
}

/// Negotiated parameters, for the Received header and logs.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
}

impl TlsInfo {
    pub fn of(conn: &rustls::ServerConnection) -> TlsInfo {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            v => format!("{v:?}"),
        };
        let cipher = conn.negotiated_cipher_suite().map(|c| format!("{:?}", c.suite())).unwrap_or_default();
        TlsInfo { version, cipher }
    }
}

/// The certificate and key files in use: configured, or generated into data_dir/tls/.
pub fn cert_paths(cfg: &Config) -> Result<(PathBuf, PathBuf), TlsError> {
    if let (Some(c), Some(k)) = (&cfg.tls.cert, &cfg.tls.key) {
        return Ok((c.clone(), k.clone()));
    }
    let dir = cfg.server.data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.exists() || !key.exists() {
        generate_self_signed(&cfg.server.hostname, &cert, &key)
            .map_err(|source| TlsError::Generate { path: dir.clone(), source })?;
        tracing::warn!(cert = %cert.display(), "generated a self-signed certificate; configure [tls] cert/key for production");
    }
    Ok((cert, key))
}

/// The certificate file in use, without generating one: configured, else the generated
/// `data_dir/tls/cert.pem` (which may not exist before the first start).
pub fn cert_path(cfg: &Config) -> PathBuf {
    match (&cfg.tls.cert, &cfg.tls.key) {
        (Some(c), Some(_)) => c.clone(),
        _ => cfg.server.data_dir.join("tls").join("cert.pem"),
    }
}

fn generate_self_signed(hostname: &str, cert: &Path, key: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let names = vec![hostname.to_string(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
    let ck = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(cert.parent().expect("cert path has a parent"))?;
    let mut kf = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(key)?;
    kf.write_all(ck.key_pair.serialize_pem().as_bytes())?;
    kf.sync_all()?;
    std::fs::write(cert, ck.cert.pem())
}

/// Builds the rustls server configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| TlsError::Cert { path: cert.into(), msg: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::Cert { path: cert.into(), msg: "no certificate found".into() });
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key { path: key.into(), msg: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    cfg.ignore_client_order = true;
    Ok(Arc::new(cfg))
}

/// Loads the certificate to serve: a valid ACME-issued one first, else the configured (or
/// generated) one. An ACME pair that fails to load is logged and skipped.
pub fn load(cfg: &Config) -> Result<Arc<ServerConfig>, TlsError> {
    if let Some((cert, key, _)) = crate::acme::store::current(cfg, crate::acme::renew::unix_now()) {
        match server_config(&cert, &key) {
            Ok(c) => return Ok(c),
            Err(e) => tracing::error!("acme: the stored certificate does not load, using [tls]: {e}"),
        }
    }
    let (cert, key) = cert_paths(cfg)?;
    server_config(&cert, &key)
}

/// The TLS handshake of an incoming connection with `main`, except a ClientHello offering
/// ALPN `acme-tls/1` for a name with a pending TLS-ALPN-01 challenge: that one gets the
/// challenge certificate (RFC 8737), and the connection ends after the handshake.
pub async fn accept<S>(main: Arc<ServerConfig>, challenges: &crate::acme::Challenges, stream: S) -> std::io::Result<tokio_rustls::server::TlsStream<S>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
    let hello = start.client_hello();
    if !hello.alpn().is_some_and(|mut p| p.any(|p| p == crate::acme::challenges::ACME_TLS_ALPN)) {
        return start.into_stream(main).await;
    }
    let name = hello.server_name().unwrap_or("").to_string();
    let Some(cfg) = challenges.alpn_config(&name) else {
        return Err(std::io::Error::other(format!("acme-tls/1 handshake for {name:?}, which has no pending challenge")));
    };
    let mut tls = start.into_stream(cfg).await?;
    let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
    tracing::info!(name = %name, "acme: answered a tls-alpn-01 validation handshake");
    Err(std::io::Error::other(AcmeValidationAnswered))
}

/// The error `accept` ends an answered TLS-ALPN-01 validation with: not a failed handshake.
#[derive(Debug, thiserror::Error)]
#[error("acme-tls/1 validation handshake answered; connection closed")]
pub struct AcmeValidationAnswered;

impl AcmeValidationAnswered {
    pub fn is(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<AcmeValidationAnswered>())
    }
}

/// Checks configured certificate files without generating anything (`check config`).
pub fn check_files(cfg: &Config) -> Result<(), TlsError> {
    if let (Some(c), Some(k)) = (&cfg.tls.cert, &cfg.tls.key) {
        server_config(c, k)?;
    }
    Ok(())
}
