//! The POP3 session: its state (AUTHORIZATION until a login opens the maildrop, then
//! TRANSACTION) and the one loop that reads a command and dispatches it to `cmd/`.
use super::cmd;
use super::maildrop::Maildrop;
use crate::app::Services;
use crate::config::ListenerKind;
use crate::net::tls::TlsInfo;
use crate::proto::pop3::{self, Command, Reply};
use crate::server::smtp::conn::{Conn, ConnError, Line};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// What a command handler asks the loop to do.
pub enum Step {
    Reply(Reply),
    /// A multi-line `+OK` response, already in wire form.
    Raw(Vec<u8>),
    /// The handler queued its `+OK` response itself (RETR, TOP).
    Sent,
    /// Send the reply, then close the connection.
    Close(Reply),
    /// `+OK` to STLS was sent; hand the stream to the TLS handshake.
    Stls,
    /// The client is gone, or the stream broke mid-response: close without a reply.
    Hangup,
}

/// How a session (or its plaintext half) ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Close,
    Stls,
}

pub struct Session {
    pub ctx: Arc<Services>,
    pub kind: ListenerKind,
    pub peer: SocketAddr,
    pub tls: Option<TlsInfo>,
    /// The name given with USER, waiting for PASS.
    pub user: Option<String>,
    /// TRANSACTION state: the logged-in account's INBOX as listed at login.
    pub maildrop: Option<Maildrop>,
    errors: u32,
    /// Command lines over `MAX_COMMAND_LINE` so far.
    overlong: u32,
}

impl Session {
    pub fn new(ctx: Arc<Services>, kind: ListenerKind, peer: SocketAddr) -> Session {
        Session { ctx, kind, peer, tls: None, user: None, maildrop: None, errors: 0, overlong: 0 }
    }

    /// Whether a password may be sent now (TLS, or plaintext allowed for this client).
    pub fn password_allowed(&self) -> bool {
        crate::server::access::plaintext_login_allowed(&self.ctx, self.peer, self.tls.is_some())
    }

    /// STLS is offered on the `pop3` listener before TLS and before login.
    pub fn stls_offered(&self) -> bool {
        self.kind == ListenerKind::Pop3 && self.tls.is_none() && self.maildrop.is_none()
    }

    /// Runs commands until QUIT, an error that ends the session, or STLS.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut Conn<S>) -> Next {
        loop {
            let step = match conn.read_line(pop3::MAX_COMMAND_LINE).await {
                Ok(line) => self.on_line(line, conn).await,
                Err(e) => Err(e),
            };
            let ok = match step.unwrap_or_else(|e| self.on_conn_error(e)) {
                Step::Reply(r) => {
                    conn.write(&r.to_wire());
                    r.ok
                }
                Step::Raw(bytes) => {
                    conn.write(&bytes);
                    true
                }
                Step::Sent => true,
                Step::Close(r) => {
                    conn.write(&r.to_wire());
                    let _ = conn.flush().await;
                    return Next::Close;
                }
                Step::Stls => return Next::Stls,
                Step::Hangup => return Next::Close,
            };
            if !ok {
                self.errors += 1;
                if self.errors >= self.ctx.config.limits.errors {
                    tracing::warn!(client = %self.peer.ip(), protocol = "pop3", errors = self.errors, "too many errors, closing");
                    conn.write(&Reply::too_many_errors().to_wire());
                    let _ = conn.flush().await;
                    return Next::Close;
                }
            }
        }
    }

    /// The connection ended: a session that did not QUIT keeps its deletions undone
    /// (RFC 1939 §6) but, like Dovecot, still marks what it retrieved as seen.
    pub async fn end(&mut self) {
        if let Some(drop) = self.maildrop.take() {
            drop.abandon().await;
        }
    }

    fn on_conn_error(&self, e: ConnError) -> Step {
        match e {
            ConnError::Timeout => {
                tracing::info!(client = %self.peer.ip(), protocol = "pop3", "timeout");
                Step::Close(Reply::timeout())
            }
            ConnError::Shutdown => Step::Close(Reply::shutting_down()),
            ConnError::Closed | ConnError::Io(_) => Step::Hangup,
        }
    }

    async fn on_line<S: AsyncRead + AsyncWrite + Unpin>(&mut self, line: Line, conn: &mut Conn<S>) -> Result<Step, ConnError> {
        let bytes = match line {
            Line::Ok(b) => b,
            Line::TooLong => return Ok(self.too_long()),
            Line::BareNewline => return Ok(Step::Reply(Reply::bare_newline())),
        };
        let command = match pop3::command::parse(&bytes) {
            Ok(c) => c,
            Err(e) => return Ok(Step::Reply(e.reply())),
        };
        tracing::trace!(client = %self.peer.ip(), verb = command.verb(), "pop3 command");
        Ok(match command {
            Command::Capa => cmd::capa::capa(self),
            Command::User(name) => cmd::auth::user(self, name),
            Command::Pass(password) => Box::pin(cmd::auth::pass(self, password)).await,
            Command::Auth { mechanism, initial } => Box::pin(cmd::auth::auth(self, conn, mechanism, initial)).await?,
            Command::Apop => Step::Reply(Reply::apop_unsupported()),
            Command::Stls => cmd::stls::stls(self, conn).await?,
            Command::Quit => Box::pin(cmd::quit::quit(self)).await,
            transaction => self.transaction(transaction, conn).await,
        })
    }

    /// The TRANSACTION-state commands: only with a maildrop open.
    async fn transaction<S: AsyncRead + AsyncWrite + Unpin>(&mut self, command: Command, conn: &mut Conn<S>) -> Step {
        let idle = super::idle_timeout(&self.ctx);
        let peer = self.peer;
        let Some(drop) = self.maildrop.as_mut() else { return Step::Reply(Reply::not_logged_in()) };
        match command {
            Command::Noop => Step::Reply(Reply::noop()),
            Command::Stat => cmd::list::stat(drop),
            Command::List(n) => cmd::list::list(drop, n),
            Command::Uidl(n) => cmd::list::uidl(drop, n),
            Command::Retr(n) => Box::pin(cmd::retr::retr(drop, conn, peer, idle, n, None)).await,
            Command::Top(n, lines) => Box::pin(cmd::retr::retr(drop, conn, peer, idle, n, Some(lines))).await,
            Command::Dele(n) => cmd::dele::dele(drop, n),
            Command::Rset => cmd::dele::rset(drop),
            Command::Capa
            | Command::User(_)
            | Command::Pass(_)
            | Command::Auth { .. }
            | Command::Apop
            | Command::Stls
            | Command::Quit => Step::Reply(Reply::unknown_command()),
        }
    }

    /// An overlong line: a client may send one by mistake (a huge password); the second
    /// is abuse and ends the session.
    fn too_long(&mut self) -> Step {
        self.overlong += 1;
        if self.overlong > 1 {
            tracing::info!(client = %self.peer.ip(), protocol = "pop3", "overlong command lines, closing");
            return Step::Close(Reply::line_too_long());
        }
        Step::Reply(Reply::line_too_long())
    }
}
