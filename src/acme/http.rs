//! The HTTP client instant-acme talks to the CA through: one HTTP/1.1 connection per
//! request over tokio-rustls (webpki roots plus `acme.ca_file`), with a time limit on
//! each exchange and a size limit on each response body.
use bytes::Bytes;
use http_body_util::Limited;
use hyper::http::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Directory, nonce, order and certificate answers are small; a chain is a few KiB.
const BODY_LIMIT: usize = 1 << 20;
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    /// Trusts the public web PKI, plus the CA certificates in `ca_file` if given.
    pub fn new(ca_file: Option<&Path>) -> Result<Client, String> {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| format!("acme.ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("acme.ca_file {}: no certificate found", path.display()));
            }
            for c in certs {
                roots.add(c).map_err(|e| format!("acme.ca_file {}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client { tls: Arc::new(cfg) })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn other(msg: impl Into<BoxError>) -> instant_acme::Error {
    instant_acme::Error::Other(msg.into())
}

impl HttpClient for Client {
    fn request(&self, req: Request<BodyWrapper<Bytes>>) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = self.tls.clone();
        Box::pin(async move {
            match tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(tls, req)).await {
                Ok(r) => r,
                Err(_) => Err(other(format!("no answer from the ACME server within {EXCHANGE_TIMEOUT:?}"))),
            }
        })
    }
}

async fn exchange(tls: Arc<rustls::ClientConfig>, req: Request<BodyWrapper<Bytes>>) -> Result<BytesResponse, instant_acme::Error> {
    let uri = req.uri().clone();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(other(format!("{uri}: not an http(s) URL"))),
    };
    let host = uri.host().ok_or_else(|| other(format!("{uri}: no host")))?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let (mut parts, body) = req.into_parts();
    // hyper's connection-level client sends the URI as given: make it origin-form + Host.
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = path.parse::<Uri>().map_err(other)?;
    let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_else(|| host.clone());
    parts.headers.insert(header::HOST, authority.parse().map_err(|e: header::InvalidHeaderValue| other(e))?);
    parts.headers.insert(header::USER_AGENT, header::HeaderValue::from_static(concat!("postern/", env!("CARGO_PKG_VERSION"))));
    let req = Request::from_parts(parts, body);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| other(format!("cannot connect to {host}:{port}: {e}")))?;
    if !https {
        return send(tcp, req).await;
    }
    let name = ServerName::try_from(host.clone()).map_err(|e| other(format!("{host}: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| other(format!("TLS with {host}:{port} failed: {e}")))?;
    send(stream, req).await
}

async fn send<S>(io: S, req: Request<BodyWrapper<Bytes>>) -> Result<BytesResponse, instant_acme::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let rsp = sender.send_request(req).await.map_err(other)?;
    let (parts, body) = rsp.into_parts();
    Ok(BytesResponse::from(hyper::Response::from_parts(parts, Limited::new(body, BODY_LIMIT))))
}
