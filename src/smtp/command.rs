//! SMTP commands (RFC 5321 §4.1) with the ESMTP parameters postern supports.
use super::address::{ForwardPath, ReversePath};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail { from: ReversePath, params: MailParams },
    Rcpt { to: ForwardPath, params: RcptParams },
    Data,
    Bdat { size: u64, last: bool },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    StartTls,
    /// `AUTH mech [initial-response]`; mechanism upper-cased.
    Auth { mechanism: String, initial: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

/// DSN RET (RFC 3461).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ret {
    Full,
    Hdrs,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    pub body: Option<Body>,
    pub smtputf8: bool,
    pub ret: Option<Ret>,
    /// DSN ENVID, xtext-decoded.
    pub envid: Option<String>,
    /// AUTH= parameter (RFC 4954), xtext-decoded; `<>` stays `<>`.
    pub auth: Option<String>,
}

/// DSN NOTIFY (RFC 3461): `NEVER` is all flags false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    pub notify: Option<Notify>,
    /// DSN ORCPT as `addr-type;address`, xtext-decoded.
    pub orcpt: Option<String>,
}
