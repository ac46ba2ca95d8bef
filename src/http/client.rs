//! A minimal HTTP/1.1 client for the CLI: one request over an already connected stream
//! (the control socket, or TCP/TLS for `postern health`).
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncRead, AsyncWrite};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP exchange failed: {0}")]
    Http(String),
}

/// Status and body of an answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The `error` text of a `{"ok":false,"error":...}` body, or the body itself.
    pub fn error_text(&self) -> String {
        serde_json::from_slice::<super::api::ErrorBody>(&self.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).trim().to_string())
    }
}

/// Sends one request on `io` and reads the whole answer.
pub async fn exchange<S>(
    io: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let err = |e: &dyn std::fmt::Display| ClientError::Http(e.to_string());
    let io = hyper_util::rt::TokioIo::new(io);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| err(&e))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(path).header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| err(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| err(&e))?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.map_err(|e| err(&e))?.to_bytes().to_vec();
    Ok(Answer { status, body })
}
