//! A client connection with explicit read and write buffers.
//!
//! Replies are queued and written when the session would otherwise block on reading
//! (RFC 2920: a server may batch replies to pipelined commands). The read buffer is
//! explicit so STARTTLS can discard what a client pipelined before the handshake, and
//! DATA/BDAT can take bytes that arrived together with the command.
use crate::proto::smtp::Reply;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

pub use crate::server::ConnError;

/// One command line as read from the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line without its CRLF.
    Ok(Vec<u8>),
    /// Longer than the limit; discarded up to and including its LF.
    TooLong,
    /// Ended by a bare LF, or contained a bare CR.
    BareNewline,
}

pub struct Conn<S> {
    stream: S,
    rbuf: Vec<u8>,
    /// Start of unread data in `rbuf`.
    rpos: usize,
    wbuf: Vec<u8>,
    idle_timeout: Duration,
    deadline: Instant,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: S, idle_timeout: Duration, deadline: Instant) -> Self {
        Conn { stream, rbuf: Vec::with_capacity(4096), rpos: 0, wbuf: Vec::with_capacity(1024), idle_timeout, deadline, shutdown: None }
    }

    /// While waiting for a command, a shutdown ends the wait (not during DATA).
    pub fn watch_shutdown(&mut self, rx: tokio::sync::watch::Receiver<bool>) {
        self.shutdown = Some(rx);
    }

    pub fn into_inner(self) -> S {
        self.stream
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    pub fn reply(&mut self, r: &Reply) {
        r.write_wire(&mut self.wbuf);
    }

    pub async fn flush(&mut self) -> Result<(), ConnError> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
        }
        self.stream.flush().await?;
        Ok(())
    }

    /// Bytes received but not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.rpos += n;
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
    }

    pub fn discard_buffered(&mut self) -> usize {
        let n = self.buffered().len();
        self.consume(n);
        n
    }

    /// Queues raw bytes (POP3 multi-line responses and message data).
    pub fn write(&mut self, bytes: &[u8]) {
        self.wbuf.extend_from_slice(bytes);
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.wbuf.len()
    }

    /// Reads more input, flushing queued replies first. `idle` says whether we wait for a
    /// command (a shutdown may interrupt) or for message data (it may not).
    pub async fn fill(&mut self, idle: bool) -> Result<usize, ConnError> {
        self.flush().await?;
        if self.rpos > 0 && self.rpos > self.rbuf.len() / 2 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let start = self.rbuf.len();
        // idle command reads need little room; DATA reads get 16 KiB.
        self.rbuf.resize(start + if idle { 4096 } else { 16 * 1024 }, 0);
        let wait = self.idle_timeout.min(self.deadline.saturating_duration_since(Instant::now()));
        let read = tokio::time::timeout(wait, self.stream.read(&mut self.rbuf[start..]));
        let watch = if idle { self.shutdown.as_mut() } else { None };
        let shutdown = async move {
            let stopped = match watch {
                Some(rx) => rx.wait_for(|s| *s).await.is_ok(),
                None => false,
            };
            if !stopped {
                std::future::pending::<()>().await
            }
        };
        let res = tokio::select! {
            r = read => r,
            _ = shutdown => Ok(Err(std::io::ErrorKind::Interrupted.into())),
        };
        if matches!(&res, Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted) {
            self.rbuf.truncate(start);
            return Err(ConnError::Shutdown);
        }
        let n = match res {
            Err(_) => Err(ConnError::Timeout),
            Ok(Err(e)) => Err(ConnError::Io(e)),
            Ok(Ok(0)) => Err(ConnError::Closed),
            Ok(Ok(n)) => Ok(n),
        };
        self.rbuf.truncate(start + *n.as_ref().unwrap_or(&0));
        n
    }

    /// Reads one command line of at most `max` bytes including CRLF.
    pub async fn read_line(&mut self, max: usize) -> Result<Line, ConnError> {
        let mut discarding = false;
        loop {
            if let Some(i) = memchr::memchr(b'\n', self.buffered()) {
                let raw = &self.buffered()[..i];
                let line = if discarding || i + 1 > max {
                    Line::TooLong
                } else if raw.last() != Some(&b'\r') || memchr::memchr(b'\r', &raw[..raw.len() - 1]).is_some() {
                    Line::BareNewline
                } else {
                    Line::Ok(raw[..raw.len() - 1].to_vec())
                };
                self.consume(i + 1);
                return Ok(line);
            }
            if self.buffered().len() >= max {
                // Keep sync without holding an unbounded line: drop what we have and
                // remember to answer "too long" once its end arrives.
                discarding = true;
                self.discard_buffered();
            }
            if self.buffered().is_empty() && self.rbuf.capacity() > 4096 {
                self.rbuf = Vec::with_capacity(4096); // idle sessions keep 4 KiB
                self.rpos = 0;
            }
            self.fill(!discarding).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let input = input.to_vec();
        // Written concurrently: the input can be larger than the pipe.
        tokio::spawn(async move {
            let _ = client.write_all(&input).await;
        });
        let mut c = Conn::new(server, Duration::from_secs(5), Instant::now() + Duration::from_secs(5));
        let mut out = Vec::new();
        while let Ok(l) = c.read_line(max).await {
            out.push(l);
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_flags_bad_ones() {
        let got = lines(b"EHLO a\r\nNOOP\nNO\rOP\r\nQUIT\r\n", 512).await;
        assert_eq!(
            got,
            [Line::Ok(b"EHLO a".to_vec()), Line::BareNewline, Line::BareNewline, Line::Ok(b"QUIT".to_vec())]
        );
    }

    #[tokio::test]
    async fn overlong_line_is_discarded_and_sync_kept() {
        let mut input = vec![b'A'; 100_000];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(lines(&input, 512).await, [Line::TooLong, Line::Ok(b"NOOP".to_vec())]);
        let exact = [vec![b'B'; 510], b"\r\n".to_vec()].concat();
        assert!(matches!(lines(&exact, 512).await[..], [Line::Ok(_)]));
        let over = [vec![b'B'; 511], b"\r\n".to_vec()].concat();
        assert_eq!(lines(&over, 512).await, [Line::TooLong]);
    }
}
