//! The IMAP session: its state (not authenticated → authenticated → selected), the loop
//! that feeds the framer, streams APPEND literals and dispatches each parsed command to
//! `cmd/`, and the timeouts (RFC 3501 §5.4: 30 minutes once logged in).
use super::cmd;
use super::conn::{Conn, ConnError};
use super::mailbox::Selected;
use crate::app::Services;
use crate::config::ListenerKind;
use crate::proto::imap::command::{self, Body, Command};
use crate::proto::imap::framer::{Event, Framer};
use crate::server::access::Login;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Longest command (lines and small literals), and so longest line.
pub const MAX_COMMAND: usize = 64 * 1024;
const PRE_LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// RFC 3501 §5.4: at least 30 minutes of inactivity before an autologout.
pub const LOGGED_IN_TIMEOUT: Duration = Duration::from_secs(31 * 60);

/// What the loop does after a command.
pub enum Flow {
    Continue,
    Close,
}

/// An APPEND message received ahead of its command's end.
pub struct PendingAppend {
    pub file: std::fs::File,
    pub size: u64,
}

pub struct Session {
    pub ctx: Arc<Services>,
    pub peer: SocketAddr,
    pub kind: ListenerKind,
    pub tls: bool,
    pub login: Option<Login>,
    pub selected: Option<Selected>,
    /// ENABLE UTF8=ACCEPT: mailbox names are UTF-8 on the wire.
    pub utf8: bool,
    /// RFC 7162 CONDSTORE enabled (ENABLE or any CONDSTORE-enabling command): MODSEQ in
    /// FETCH updates, HIGHESTMODSEQ on SELECT.
    pub condstore: bool,
    /// RFC 7162 QRESYNC enabled (ENABLE QRESYNC): VANISHED instead of EXPUNGE, and the
    /// QRESYNC parameter of SELECT and VANISHED modifier of UID FETCH are allowed.
    pub qresync: bool,
    pub append: Option<PendingAppend>,
    errors: u32,
}

impl Session {
    pub fn new(ctx: Arc<Services>, peer: SocketAddr, kind: ListenerKind, tls: bool) -> Session {
        Session { ctx, peer, kind, tls, login: None, selected: None, utf8: false, condstore: false, qresync: false, append: None, errors: 0 }
    }

    /// RFC 7162 §3.1: CONDSTORE stays enabled for the rest of the session.
    pub fn enable_condstore(&mut self) {
        self.condstore = true;
        if let Some(sel) = self.selected.as_mut() {
            sel.condstore = true;
        }
    }

    pub fn timeout(&self) -> Duration {
        if self.login.is_some() { LOGGED_IN_TIMEOUT } else { PRE_LOGIN_TIMEOUT }
    }

    pub fn login_allowed(&self) -> bool {
        crate::server::access::plaintext_login_allowed(&self.ctx, self.peer, self.tls)
    }

    pub fn capabilities(&self) -> String {
        let starttls = self.kind == ListenerKind::Imap && !self.tls;
        crate::proto::imap::response::capabilities(self.login.is_some(), starttls, self.login_allowed())
    }

    pub async fn run(&mut self, mut conn: Conn) {
        conn.line(format!("* OK [CAPABILITY {}] postern ready", self.capabilities()));
        let mut framer = Framer::new(MAX_COMMAND);
        loop {
            let (n, ev) = framer.push(conn.buffered());
            conn.consume(n);
            let flow = match ev {
                None if n > 0 => continue,
                None => match conn.fill(self.timeout()).await {
                    Ok(_) => continue,
                    Err(e) => {
                        self.end(&mut conn, e).await;
                        return;
                    }
                },
                Some(Event::Continue) => {
                    conn.line("+ Ready for literal data");
                    Flow::Continue
                }
                Some(Event::TooLong) => {
                    conn.line("* BAD Command line too long");
                    conn.line("* BYE Closing connection");
                    Flow::Close
                }
                Some(Event::LiteralTooLarge { tag, sync }) => {
                    conn.line(format!("{} BAD [TOOBIG] Literal too large", tag.as_deref().unwrap_or("*")));
                    if sync { self.bad() } else {
                        conn.line("* BYE Closing connection");
                        Flow::Close
                    }
                }
                Some(Event::AppendLiteral { tag, size, sync }) => {
                    match cmd::append::receive(self, &mut conn, &tag, size, sync).await {
                        Ok(true) => framer.appended(),
                        Ok(false) => framer.refuse_literal(),
                        Err(e) => {
                            self.end(&mut conn, e).await;
                            return;
                        }
                    }
                    Flow::Continue
                }
                Some(Event::Command(buf)) => match command::parse(&buf) {
                    Ok(c) => match self.dispatch(&mut conn, c).await {
                        Ok(f) => f,
                        Err(e) => {
                            self.end(&mut conn, e).await;
                            return;
                        }
                    },
                    Err(e) if buf.is_empty() => {
                        let _ = e;
                        Flow::Continue
                    }
                    Err(e) => {
                        self.append = None;
                        conn.line(format!("{} {} {}", e.tag.as_deref().unwrap_or("*"), e.status(), e.reason));
                        if e.status() == "NO" { Flow::Continue } else { self.bad() }
                    }
                },
            };
            if let Flow::Close = flow {
                conn.linger().await;
                return;
            }
        }
    }

    /// Counts a BAD; too many end the session.
    pub fn bad(&mut self) -> Flow {
        self.errors += 1;
        if self.errors >= self.ctx.config.limits.errors { Flow::Close } else { Flow::Continue }
    }

    async fn end(&mut self, conn: &mut Conn, e: ConnError) {
        match e {
            ConnError::Timeout => conn.line("* BYE Autologout; idle for too long"),
            ConnError::Shutdown => conn.line("* BYE Server shutting down"),
            ConnError::Closed | ConnError::Io(_) => return,
        }
        let _ = conn.flush().await;
    }

    async fn dispatch(&mut self, conn: &mut Conn, c: Command) -> Result<Flow, ConnError> {
        let tag = c.tag.as_str();
        let authed = self.login.is_some();
        let selected = self.selected.is_some();
        let needs = match &c.body {
            Body::Capability | Body::Noop | Body::Logout | Body::Id => 0,
            Body::StartTls | Body::Login { .. } | Body::Authenticate { .. } => 3,
            Body::Check | Body::Close | Body::Unselect | Body::Expunge { .. } | Body::Search { .. } | Body::Fetch { .. }
            | Body::Store { .. } | Body::Copy { .. } | Body::Move { .. } => 2,
            _ => 1,
        };
        let ok_state = match needs {
            0 => true,
            1 => authed,
            2 => selected,
            _ => !authed,
        };
        if !ok_state {
            self.append = None;
            let why = match needs {
                3 => "Already logged in",
                2 => "No mailbox selected",
                _ => "Log in first",
            };
            conn.line(format!("{tag} BAD {why}"));
            return Ok(self.bad());
        }
        cmd::dispatch(self, conn, c).await
    }
}
