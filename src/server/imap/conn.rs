//! An IMAP client connection: the stream (plain TCP, or TLS after STARTTLS or on imaps,
//! boxed so one session type serves both), an explicit read buffer (STARTTLS refuses
//! pipelined bytes; APPEND streams what arrived with its command) and a write buffer
//! flushed before every read, or early when a big FETCH fills it.
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub use crate::server::ConnError;

/// Output buffered beyond this is written before more is queued (big FETCH bodies).
const FLUSH_AT: usize = 64 * 1024;

pub struct Conn {
    pub io: Box<dyn Io>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Conn {
    pub fn new(io: Box<dyn Io>, shutdown: tokio::sync::watch::Receiver<bool>) -> Conn {
        Conn { io, rbuf: Vec::new(), rpos: 0, wbuf: Vec::with_capacity(1024), shutdown }
    }

    /// Queues one response line (CRLF added).
    pub fn line(&mut self, s: impl AsRef<[u8]>) {
        self.wbuf.extend_from_slice(s.as_ref());
        self.wbuf.extend_from_slice(b"\r\n");
    }

    /// Queues raw bytes (part of a response), writing early when the buffer is large.
    pub async fn write(&mut self, b: &[u8]) -> Result<(), ConnError> {
        if self.wbuf.len() + b.len() > FLUSH_AT {
            self.flush().await?;
            if b.len() > FLUSH_AT {
                self.io.write_all(b).await?;
                return Ok(());
            }
        }
        self.wbuf.extend_from_slice(b);
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<(), ConnError> {
        if !self.wbuf.is_empty() {
            self.io.write_all(&self.wbuf).await?;
            self.wbuf.clear();
            if self.wbuf.capacity() > 16 * 1024 {
                self.wbuf = Vec::with_capacity(1024); // idle sessions keep little
            }
        }
        self.io.flush().await?;
        Ok(())
    }

    /// Ends the connection so that its last response arrives. Closing a socket with
    /// unread input makes the kernel answer with RST, which discards what the client has
    /// not read yet (the BAD and BYE that explain the close): so the write side is shut
    /// first, and input is read and dropped for a moment (at most 2 s and 1 MiB).
    pub async fn linger(&mut self) {
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut buf = [0u8; 8192];
        let mut left = 1usize << 20;
        while left > 0 {
            match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
                _ => break,
            }
        }
    }

    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.rpos += n;
        if self.rpos >= self.rbuf.len() {
            self.rbuf = Vec::new();
            self.rpos = 0;
        }
    }

    /// Flushes output, then reads more input within `wait`. Cancel-safe (IDLE selects
    /// on it): nothing is buffered until the read completes.
    pub async fn fill(&mut self, wait: Duration) -> Result<usize, ConnError> {
        self.flush().await?;
        let mut buf = [0u8; 8192];
        let stopped = async {
            if self.shutdown.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await
            }
        };
        let n = tokio::select! {
            r = tokio::time::timeout(wait, self.io.read(&mut buf)) => match r {
                Err(_) => return Err(ConnError::Timeout),
                Ok(Err(e)) => return Err(ConnError::Io(e)),
                Ok(Ok(0)) => return Err(ConnError::Closed),
                Ok(Ok(n)) => n,
            },
            _ = stopped => return Err(ConnError::Shutdown),
        };
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        self.rbuf.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Reads one line (without CRLF) of at most `max` octets, for SASL responses and
    /// IDLE's DONE; `None` when it is longer.
    pub async fn read_line(&mut self, max: usize, wait: Duration) -> Result<Option<Vec<u8>>, ConnError> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', self.buffered()) {
                let raw = &self.buffered()[..i];
                let line = raw.strip_suffix(b"\r").unwrap_or(raw).to_vec();
                self.consume(i + 1);
                return Ok((line.len() <= max).then_some(line));
            }
            if self.buffered().len() > max {
                return Ok(None);
            }
            self.fill(wait).await?;
        }
    }
}
