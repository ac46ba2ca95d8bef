//! The SMTP session: its state and the one loop that reads a command and dispatches it.
//!
//! Each command's handling lives in `cmd/<verb>.rs` and returns a `Step`; this loop writes
//! replies, counts errors and ends the session. Generic over the stream so the same code
//! runs on TCP, on TLS after STARTTLS, and on in-memory streams in tests and fuzzing.
use crate::app::Services;
use super::cmd;
use super::conn::{Conn, ConnError, Line};
use crate::net::tls::TlsInfo;
use crate::config::ListenerKind;
use crate::proto::smtp::{self, Command, ForwardPath, MailParams, RcptParams, Reply, ReversePath};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// What a command handler asks the loop to do.
pub enum Step {
    Reply(Reply),
    /// Send the reply, then close the connection.
    Close(Reply),
    /// Reply 220 was queued; hand the stream to the TLS handshake.
    StartTls,
    /// The client is gone: close without a reply.
    Hangup,
}

/// How a session (or its plaintext half) ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Close,
    StartTls,
}

/// An open mail transaction (MAIL seen).
pub struct Transaction {
    pub from: ReversePath,
    pub params: MailParams,
    pub rcpts: Vec<(ForwardPath, RcptParams)>,
    /// BDAT chunks received so far, when the client uses CHUNKING.
    pub bdat: Option<cmd::bdat::Chunks>,
}

pub struct Session {
    pub ctx: Arc<Services>,
    pub kind: ListenerKind,
    pub peer: SocketAddr,
    pub helo: Option<String>,
    /// EHLO (not HELO) was used: ESMTP parameters are allowed.
    pub esmtp: bool,
    pub tls: Option<TlsInfo>,
    pub auth_user: Option<String>,
    /// Client address is in relay.trusted_networks.
    pub trusted: bool,
    pub tx: Option<Transaction>,
    errors: u32,
}

impl Session {
    /// STARTTLS is offered on plaintext listeners, except `smtp` with `tls.inbound = "none"`.
    pub fn starttls_offered(&self) -> bool {
        self.kind != ListenerKind::Smtp || self.ctx.config.tls.inbound != crate::config::InboundTls::None
    }

    pub fn new(ctx: Arc<Services>, kind: ListenerKind, peer: SocketAddr) -> Session {
        let trusted = crate::app::policy::is_trusted(&ctx.config, peer.ip());
        Session { ctx, kind, peer, helo: None, esmtp: false, tls: None, auth_user: None, trusted, tx: None, errors: 0 }
    }

    /// May this client send to non-local domains?
    pub fn may_relay(&self) -> bool {
        self.auth_user.is_some() || self.trusted
    }

    /// RFC 3207 §4.2: after the TLS handshake the client starts over with EHLO.
    pub fn reset_after_tls(&mut self, info: TlsInfo) {
        self.tls = Some(info);
        self.helo = None;
        self.esmtp = false;
        self.auth_user = None;
        self.tx = None;
    }

    /// Runs commands until the client quits, an error ends the session, or STARTTLS.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut Conn<S>) -> Next {
        loop {
            let step = match conn.read_line(smtp::MAX_COMMAND_LINE).await {
                Ok(line) => self.on_line(line, conn).await,
                Err(e) => Err(e),
            };
            let step = match step {
                Ok(step) => step,
                Err(e) => self.on_conn_error(e),
            };
            match step {
                Step::Reply(r) => {
                    conn.reply(&r);
                    if r.code >= 400 {
                        self.errors += 1;
                        if self.errors >= self.ctx.config.limits.errors {
                            tracing::warn!(client = %self.peer.ip(), errors = self.errors, "too many errors, closing");
                            conn.reply(&Reply::too_many_errors());
                            let _ = conn.flush().await;
                            return Next::Close;
                        }
                    }
                }
                Step::Close(r) => {
                    conn.reply(&r);
                    let _ = conn.flush().await;
                    return Next::Close;
                }
                Step::StartTls => return Next::StartTls,
                Step::Hangup => return Next::Close,
            }
        }
    }

    fn on_conn_error(&self, e: ConnError) -> Step {
        match e {
            ConnError::Timeout => {
                tracing::info!(client = %self.peer.ip(), "timeout");
                Step::Close(Reply::timeout())
            }
            ConnError::Shutdown => Step::Close(Reply::shutting_down()),
            // Nobody is left to read a reply.
            ConnError::Closed | ConnError::Io(_) => Step::Hangup,
        }
    }

    async fn on_line<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        line: Line,
        conn: &mut Conn<S>,
    ) -> Result<Step, ConnError> {
        let bytes = match line {
            Line::Ok(b) => b,
            Line::TooLong => return Ok(Step::Reply(Reply::line_too_long())),
            Line::BareNewline => return Ok(Step::Reply(Reply::bare_newline_command())),
        };
        let smtputf8 = self.tx.as_ref().is_some_and(|t| t.params.smtputf8);
        let command = match smtp::command::parse_with(&bytes, smtputf8) {
            Ok(c) => c,
            Err(e) => return Ok(Step::Reply(e.reply())),
        };
        Ok(match command {
            Command::Ehlo(name) => cmd::ehlo::ehlo(self, name, true),
            Command::Helo(name) => cmd::ehlo::ehlo(self, name, false),
            Command::Mail { from, params } => Box::pin(cmd::mail::mail(self, from, params)).await,
            Command::Rcpt { to, params } => Box::pin(cmd::rcpt::rcpt(self, to, params)).await,
            Command::Data => Box::pin(cmd::data::data(self, conn)).await?,
            Command::Bdat { size, last } => Box::pin(cmd::bdat::bdat(self, conn, size, last)).await?,
            Command::Auth { mechanism, initial } => Box::pin(cmd::auth::auth(self, conn, &mechanism, initial)).await?,
            Command::StartTls => Box::pin(cmd::starttls::starttls(self, conn)).await?,
            Command::Rset => {
                self.tx = None;
                Step::Reply(Reply::reset_ok())
            }
            Command::Noop => Step::Reply(Reply::noop_ok()),
            Command::Quit => Step::Close(Reply::bye()),
            Command::Vrfy(_) => Step::Reply(Reply::vrfy()),
            Command::Expn(_) => Step::Reply(Reply::not_implemented()),
            Command::Help(_) => Step::Reply(Reply::help()),
        })
    }
}
