//! CAPA (RFC 2449 §5): USER and SASL PLAIN only where a password may be sent, STLS only
//! where it may be used.
use crate::proto::pop3::reply::capabilities;
use crate::server::pop3::session::{Session, Step};

pub fn capa(s: &Session) -> Step {
    let login = s.maildrop.is_none() && s.password_allowed();
    Step::Raw(capabilities(login, s.stls_offered()))
}
