//! A minimal HTTP/1.1 client for the webhook: one connection per request (plain TCP or
//! rustls with webpki roots and optional extra CAs), a whole-exchange timeout, and the
//! status line plus the start of the response body kept for logs and DSNs.
use hyper::http::{HeaderName, HeaderValue, Request, Uri};
use bytes::Bytes;
use crate::queue::Content;
use futures_util::TryStreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Response body bytes kept for the error text.
const SNIPPET: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("TLS handshake with {host} failed: {source}")]
    Tls { host: String, source: std::io::Error },
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

impl PostError {
    /// Enhanced status for the DSN / queue listing (all are temporary).
    pub fn status(&self) -> (u8, u16, u16) {
        match self {
            PostError::Connect { .. } => (4, 4, 1),
            PostError::Tls { .. } => (4, 7, 5),
            PostError::Http(_) => (4, 4, 2),
            PostError::Timeout(_) => (4, 4, 2),
        }
    }
}

/// What the endpoint answered.
pub struct Answer {
    pub status: u16,
    reason: String,
    snippet: String,
    /// The start of the body, as much as the caller asked to keep.
    pub body: Vec<u8>,
}

impl Answer {
    /// `HTTP 503 Service Unavailable: first bytes of the body`.
    pub fn describe(&self) -> String {
        let mut s = format!("HTTP {} {}", self.status, self.reason);
        if !self.snippet.is_empty() {
            s.push_str(": ");
            s.push_str(&self.snippet);
        }
        s
    }
}

/// A parsed webhook URL and how to reach it.
pub struct Target {
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    pub fn parse(url: &str, extra_ca: &[PathBuf]) -> Result<Target, super::WebhookError> {
        let bad = || super::WebhookError::Url(url.to_string());
        let uri: Uri = url.parse().map_err(|_| bad())?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        let host = uri.host().ok_or_else(bad)?.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let mut cfg = crate::smtp_client::tls::verified_config(extra_ca)?;
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(cfg))
        } else {
            None
        };
        Ok(Target { uri, host, port, tls })
    }

    /// `Authorization: Basic` from `user:password@` in the URL, if any.
    pub fn basic_auth(&self) -> Option<HeaderValue> {
        use base64::Engine;
        let auth = self.uri.authority()?.as_str();
        let (userinfo, _) = auth.rsplit_once('@')?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(userinfo);
        let mut v = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// POSTs a queued message, streamed from where it is stored (never whole in memory).
    pub async fn post_message(&self, headers: Vec<(HeaderName, HeaderValue)>, message: &Content, timeout: Duration) -> Result<Answer, PostError> {
        let len = message.len();
        let body = StreamBody::new(message.stream().map_ok(Frame::data)).boxed_unsync();
        match tokio::time::timeout(timeout, self.exchange(headers, body, len, SNIPPET)).await {
            Ok(r) => r,
            Err(_) => Err(PostError::Timeout(timeout)),
        }
    }

    /// POSTs `body` from memory, keeping up to `keep` bytes of the response body.
    pub async fn post_keeping(
        &self,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
        timeout: Duration,
        keep: usize,
    ) -> Result<Answer, PostError> {
        let len = body.len() as u64;
        let body = Full::new(body).map_err(|never| match never {}).boxed_unsync();
        match tokio::time::timeout(timeout, self.exchange(headers, body, len, keep)).await {
            Ok(r) => r,
            Err(_) => Err(PostError::Timeout(timeout)),
        }
    }

    async fn exchange(&self, headers: Vec<(HeaderName, HeaderValue)>, body: RequestBody, len: u64, keep: usize) -> Result<Answer, PostError> {
        let addr = format!("{}:{}", self.host, self.port);
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| PostError::Connect { addr: addr.clone(), source })?;
        let _ = tcp.set_nodelay(true);
        let request = self.request(headers, body, len);
        match &self.tls {
            None => send(tcp, request, keep).await,
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone()).map_err(|e| PostError::Tls {
                    host: self.host.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                })?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|source| PostError::Tls { host: self.host.clone(), source })?;
                send(tls, request, keep).await
            }
        }
    }

    fn request(&self, headers: Vec<(HeaderName, HeaderValue)>, body: RequestBody, len: u64) -> Request<RequestBody> {
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let host = match self.uri.port_u16() {
            Some(p) => format!("{}:{p}", self.uri.host().unwrap_or_default()),
            None => self.uri.host().unwrap_or_default().to_string(),
        };
        let mut req = Request::post(path).body(body).expect("request from a parsed URI");
        let h = req.headers_mut();
        h.insert(hyper::header::HOST, HeaderValue::from_str(&host).unwrap_or_else(|_| HeaderValue::from_static("localhost")));
        h.insert(hyper::header::USER_AGENT, HeaderValue::from_static(concat!("postern/", env!("CARGO_PKG_VERSION"))));
        h.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
        for (k, v) in headers {
            h.insert(k, v);
        }
        req
    }
}

/// A request body: in memory, or a queued message streamed from its file.
type RequestBody = UnsyncBoxBody<Bytes, std::io::Error>;

async fn send<S>(io: S, request: Request<RequestBody>, keep: usize) -> Result<Answer, PostError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(request).await;
    let result = match response {
        Ok(resp) => {
            let status = resp.status();
            let mut body = resp.into_body();
            let mut kept = Vec::new();
            while kept.len() < keep {
                match body.frame().await {
                    Some(Ok(f)) => kept.extend_from_slice(f.data_ref().map_or(&[][..], |d| d.as_ref())),
                    _ => break,
                }
            }
            kept.truncate(keep);
            let shown = &kept[..kept.len().min(SNIPPET)];
            let snippet = String::from_utf8_lossy(shown).split_whitespace().collect::<Vec<_>>().join(" ");
            let reason = status.canonical_reason().unwrap_or("").to_string();
            Ok(Answer { status: status.as_u16(), reason, snippet, body: kept })
        }
        Err(e) => Err(PostError::Http(e)),
    };
    driver.abort();
    result
}
