//! Per-stage timeouts (RFC 5321 §4.5.3.2) and the names of the dialogue stages used in
//! error texts ("in reply to RCPT TO command", "while sending message body").
use std::time::Duration;

/// How long to wait at each stage of a client session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (Postfix `smtp_connect_timeout` 30 s).
    pub connect: Duration,
    /// Initial 220 greeting: 5 min.
    pub greeting: Duration,
    /// EHLO/HELO reply: 5 min.
    pub ehlo: Duration,
    /// STARTTLS reply plus the TLS handshake.
    pub starttls: Duration,
    /// Each AUTH exchange.
    pub auth: Duration,
    /// MAIL FROM reply: 5 min.
    pub mail: Duration,
    /// Each RCPT TO reply: 5 min.
    pub rcpt: Duration,
    /// DATA command reply (354): 2 min.
    pub data_init: Duration,
    /// Each write of message data: 3 min.
    pub data_block: Duration,
    /// Reply after the final dot: 10 min.
    pub data_end: Duration,
    /// RSET reply (Postfix `smtp_rset_timeout` 20 s).
    pub rset: Duration,
    /// QUIT reply (Postfix `smtp_quit_timeout` 300 s; we do not need the answer, so short).
    pub quit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: min(5),
            ehlo: min(5),
            starttls: min(5),
            auth: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_end: min(10),
            rset: Duration::from_secs(20),
            quit: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// Every stage limited to `d` (tests, and callers that want one global bound).
    pub fn uniform(d: Duration) -> Self {
        Timeouts {
            connect: d,
            greeting: d,
            ehlo: d,
            starttls: d,
            auth: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_end: d,
            rset: d,
            quit: d,
        }
    }

    /// The limit that applies to `stage`.
    pub fn for_stage(&self, stage: Stage) -> Duration {
        match stage {
            Stage::Connect => self.connect,
            Stage::Greeting => self.greeting,
            Stage::Ehlo | Stage::Helo => self.ehlo,
            Stage::StartTls | Stage::TlsHandshake => self.starttls,
            Stage::Auth => self.auth,
            Stage::MailFrom => self.mail,
            Stage::RcptTo => self.rcpt,
            Stage::Data => self.data_init,
            Stage::Body => self.data_block,
            Stage::EndOfData => self.data_end,
            Stage::Rset => self.rset,
            Stage::Quit => self.quit,
        }
    }
}

/// Where in the dialogue something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    TlsHandshake,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    Body,
    EndOfData,
    Rset,
    Quit,
}

impl Stage {
    /// The command a reply answers, as Postfix words it after "in reply to".
    pub fn command(self) -> &'static str {
        match self {
            Stage::Connect | Stage::Greeting => "initial greeting",
            Stage::Ehlo => "EHLO",
            Stage::Helo => "HELO",
            Stage::StartTls | Stage::TlsHandshake => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body | Stage::EndOfData => "end of DATA",
            Stage::Rset => "RSET",
            Stage::Quit => "QUIT",
        }
    }

    /// "while ..." phrase for timeouts and lost connections (Postfix wording).
    pub fn while_text(self) -> &'static str {
        match self {
            Stage::Connect => "while connecting",
            Stage::Greeting => "while receiving the initial server greeting",
            Stage::Ehlo => "while performing the EHLO handshake",
            Stage::Helo => "while performing the HELO handshake",
            Stage::StartTls => "while sending STARTTLS",
            Stage::TlsHandshake => "while performing the TLS handshake",
            Stage::Auth => "while authenticating",
            Stage::MailFrom => "while sending MAIL FROM",
            Stage::RcptTo => "while sending RCPT TO",
            Stage::Data => "while sending DATA command",
            Stage::Body => "while sending message body",
            Stage::EndOfData => "while sending end of data -- message may be sent more than once",
            Stage::Rset => "while sending RSET",
            Stage::Quit => "while sending QUIT",
        }
    }

    /// Stages before a mail transaction starts: a failure here says nothing about the
    /// message, so the next MX host may be tried.
    pub fn is_session_setup(self) -> bool {
        matches!(
            self,
            Stage::Connect
                | Stage::Greeting
                | Stage::Ehlo
                | Stage::Helo
                | Stage::StartTls
                | Stage::TlsHandshake
                | Stage::Auth
        )
    }
}
