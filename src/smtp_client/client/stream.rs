//! The client's byte stream: plain TCP that STARTTLS turns into TLS in place.
use std::io;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// After a failed upgrade or close: every operation fails.
    Gone,
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl Stream {
    /// Reads whatever is available into the spare capacity of `buf`; 0 means EOF.
    pub(crate) async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.reserve(4096);
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
            Stream::Gone => Err(gone()),
        }
    }

    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(data).await,
            Stream::Tls(s) => {
                s.write_all(data).await?;
                // rustls buffers plaintext; flush pushes the records out.
                s.flush().await
            }
            Stream::Gone => Err(gone()),
        }
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = match self {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls(s) => s.shutdown().await,
            Stream::Gone => Ok(()),
        };
        *self = Stream::Gone;
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Replaces a plain stream by its TLS upgrade. On failure the stream is `Gone`.
    pub(crate) async fn upgrade(
        &mut self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Gone) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "stream is not plain TCP",
            ));
        };
        let tls = TlsConnector::from(config).connect(name, tcp).await?;
        *self = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// "TLSv1_3 TLS13_AES_256_GCM_SHA384" for logs, when TLS is active.
    pub(crate) fn tls_description(&self) -> Option<String> {
        let Stream::Tls(s) = self else { return None };
        let (_, conn) = s.get_ref();
        let version = conn
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        let suite = conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()));
        Some(format!("{version} {}", suite.unwrap_or_default()))
    }
}
