//! Outbound SMTP client: one connection to one server, driven command by command by the
//! delivery code (the scheduler decides which host, when, and what to do with outcomes).
//!
//! Owns: the client side of the dialogue — greeting, EHLO/HELO, STARTTLS, AUTH, the mail
//! transaction (pipelined or lockstep), timeouts per stage and error classification.
//! Must not touch: MX choice, retry policy, the queue. Wire syntax comes from `crate::proto::smtp`
//! (`Command::encode`, `parse_reply`, `dot_stuff`, SASL encoders); nothing is re-implemented.
mod ehlo;
mod error;
mod send;
mod session;
mod stream;
mod timeouts;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;

pub use ehlo::{Extensions, Secret};
pub use error::{ClientError, Peer, reply_status};
pub use send::{OutboundMessage, OutboundRcpt, OutcomeKind, RcptOutcome};
pub use session::{SessionParams, open_session};
pub use timeouts::{Stage, Timeouts};

use crate::proto::smtp::Command;
use crate::proto::smtp::reply::{Reply, parse_reply};
use stream::Stream;

/// A client connection. After a timeout, lost connection or protocol error it is unusable
/// (`is_usable() == false`) and every call fails with `ClientError::Closed`.
pub struct SmtpClient {
    stream: Stream,
    /// Bytes read but not yet parsed as a reply.
    rbuf: Vec<u8>,
    peer: Peer,
    timeouts: Timeouts,
    ext: Extensions,
    /// Name sent in the last EHLO/HELO, repeated after STARTTLS.
    helo_name: Option<String>,
    broken: bool,
    allow_plaintext_auth: bool,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("peer", &self.peer)
            .field("tls", &self.stream.is_tls())
            .field("usable", &!self.broken)
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    /// Connects to `addr` and reads the greeting; the peer is named by its IP.
    pub async fn connect(
        addr: SocketAddr,
        timeouts: &Timeouts,
    ) -> Result<(SmtpClient, Reply), ClientError> {
        Self::connect_host(&addr.ip().to_string(), addr, timeouts).await
    }

    /// Like `connect`, naming the peer `host` in errors and logs (the MX name).
    pub async fn connect_host(
        host: &str,
        addr: SocketAddr,
        timeouts: &Timeouts,
    ) -> Result<(SmtpClient, Reply), ClientError> {
        let peer = Peer {
            name: host.to_string(),
            addr,
        };
        let tcp = Self::tcp(&peer, timeouts).await?;
        Self::new(Stream::Plain(tcp), peer, *timeouts).greet().await
    }

    /// Implicit TLS (port 465 "submissions" smarthosts, RFC 8314): TLS before the greeting.
    pub async fn connect_implicit_tls(
        host: &str,
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        timeouts: &Timeouts,
    ) -> Result<(SmtpClient, Reply), ClientError> {
        let peer = Peer {
            name: host.to_string(),
            addr,
        };
        let tcp = Self::tcp(&peer, timeouts).await?;
        let mut client = Self::new(Stream::Plain(tcp), peer, *timeouts);
        client.handshake(config, host).await?;
        client.greet().await
    }

    fn new(stream: Stream, peer: Peer, timeouts: Timeouts) -> SmtpClient {
        SmtpClient {
            stream,
            rbuf: Vec::with_capacity(4096),
            peer,
            timeouts,
            ext: Extensions::default(),
            helo_name: None,
            broken: false,
            allow_plaintext_auth: false,
        }
    }

    async fn tcp(peer: &Peer, timeouts: &Timeouts) -> Result<TcpStream, ClientError> {
        let connect = TcpStream::connect(peer.addr);
        match tokio::time::timeout(timeouts.connect, connect).await {
            Ok(Ok(tcp)) => {
                // Commands are small and latency-bound; Nagle would delay pipelined batches.
                let _ = tcp.set_nodelay(true);
                Ok(tcp)
            }
            Ok(Err(e)) => Err(ClientError::Connect {
                peer: peer.clone(),
                reason: e.to_string(),
            }),
            Err(_) => Err(ClientError::Timeout {
                peer: peer.clone(),
                stage: Stage::Connect,
            }),
        }
    }

    async fn greet(mut self) -> Result<(SmtpClient, Reply), ClientError> {
        let reply = self.read_reply(Stage::Greeting).await?;
        if !(200..300).contains(&reply.code) {
            self.stream.shutdown().await;
            return Err(ClientError::Rejected {
                peer: self.peer.clone(),
                stage: Stage::Greeting,
                reply,
            });
        }
        Ok((self, reply))
    }

    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// What the last EHLO advertised (all false after a HELO fallback).
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Protocol version and cipher suite when TLS is active, for logs and Received headers.
    pub fn tls_description(&self) -> Option<String> {
        self.stream.tls_description()
    }

    /// False once the connection broke; reconnect instead of reusing it.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// Permit AUTH without TLS (off by default: credentials would cross in clear).
    pub fn set_allow_plaintext_auth(&mut self, allow: bool) {
        self.allow_plaintext_auth = allow;
    }

    /// Aborts the current transaction. A failed RSET leaves the connection unusable
    /// (Postfix closes it too), since its state is then unknown.
    pub async fn rset(&mut self) -> Result<Reply, ClientError> {
        let reply = self.command(&Command::Rset, Stage::Rset).await?;
        if !(200..300).contains(&reply.code) {
            self.broken = true;
            return Err(self.rejected(Stage::Rset, reply));
        }
        Ok(reply)
    }

    /// Polite close: QUIT, wait briefly for 221, shut the socket down.
    pub async fn quit(mut self) -> Result<(), ClientError> {
        let result = self.command(&Command::Quit, Stage::Quit).await.map(|_| ());
        self.stream.shutdown().await;
        result
    }

    /// Sends one command and reads its reply.
    pub(crate) async fn command(
        &mut self,
        cmd: &Command,
        stage: Stage,
    ) -> Result<Reply, ClientError> {
        self.write(&cmd.encode(), stage).await?;
        self.read_reply(stage).await
    }

    pub(crate) async fn write(&mut self, bytes: &[u8], stage: Stage) -> Result<(), ClientError> {
        self.check_usable()?;
        let limit = self.timeouts.for_stage(stage);
        match tokio::time::timeout(limit, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.lost(stage, e.to_string())),
            Err(_) => Err(self.timed_out(stage)),
        }
    }

    /// Reads one complete (possibly multi-line) reply within the stage's time limit.
    pub(crate) async fn read_reply(&mut self, stage: Stage) -> Result<Reply, ClientError> {
        self.check_usable()?;
        let limit = self.timeouts.for_stage(stage);
        let result = tokio::time::timeout(limit, async {
            loop {
                match parse_reply(&self.rbuf) {
                    Ok(Some((reply, used))) => {
                        self.rbuf.drain(..used);
                        return Ok(reply);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(Err(e.to_string())),
                }
                match self.stream.read_into(&mut self.rbuf).await {
                    Ok(0) => return Err(Ok("connection closed by server".to_string())),
                    Ok(_) => {}
                    Err(e) => return Err(Ok(e.to_string())),
                }
            }
        })
        .await;
        match result {
            Ok(Ok(reply)) => {
                if reply.code == 421 {
                    // RFC 5321 §3.8: the server is closing the channel.
                    self.broken = true;
                }
                tracing::trace!(peer = %self.peer, %reply, "reply");
                Ok(reply)
            }
            Ok(Err(Ok(io_reason))) => Err(self.lost(stage, io_reason)),
            Ok(Err(Err(syntax))) => Err(self.protocol(stage, format!("invalid reply: {syntax}"))),
            Err(_) => Err(self.timed_out(stage)),
        }
    }

    /// TLS handshake over the current plain stream; `host` names the certificate to expect.
    pub(crate) async fn handshake(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<(), ClientError> {
        let name = super::tls::server_name(host).map_err(|reason| ClientError::TlsFailed {
            peer: self.peer.clone(),
            reason,
        })?;
        let limit = self.timeouts.for_stage(Stage::TlsHandshake);
        match tokio::time::timeout(limit, self.stream.upgrade(config, name)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.broken = true;
                Err(ClientError::TlsFailed {
                    peer: self.peer.clone(),
                    reason: tls_error_text(&e),
                })
            }
            Err(_) => Err(self.timed_out(Stage::TlsHandshake)),
        }
    }

    fn check_usable(&self) -> Result<(), ClientError> {
        if self.broken {
            return Err(ClientError::Closed {
                peer: self.peer.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn rejected(&self, stage: Stage, reply: Reply) -> ClientError {
        ClientError::Rejected {
            peer: self.peer.clone(),
            stage,
            reply,
        }
    }

    fn lost(&mut self, stage: Stage, reason: String) -> ClientError {
        self.broken = true;
        ClientError::ConnectionLost {
            peer: self.peer.clone(),
            stage,
            reason,
        }
    }

    fn timed_out(&mut self, stage: Stage) -> ClientError {
        self.broken = true;
        ClientError::Timeout {
            peer: self.peer.clone(),
            stage,
        }
    }

    pub(crate) fn protocol(&mut self, stage: Stage, detail: String) -> ClientError {
        self.broken = true;
        ClientError::Protocol {
            peer: self.peer.clone(),
            stage,
            detail,
        }
    }
}

/// The handshake error for the diagnostic; a verifier's own error (DANE's "no TLSA record
/// matches ...") is shown by its text, not rustls' debug form of it.
fn tls_error_text(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) = inner {
        return format!("invalid peer certificate: {other}");
    }
    e.to_string()
}
