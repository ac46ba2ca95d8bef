//! EHLO / HELO: start over and say what this listener offers.
use crate::server::smtp::session::{Session, Step};
use crate::proto::smtp::Reply;

pub fn ehlo(s: &mut Session, name: String, esmtp: bool) -> Step {
    s.tx = None;
    s.helo = Some(name.clone());
    s.esmtp = esmtp;
    let host = &s.ctx.config.server.hostname;
    if !esmtp {
        return Step::Reply(Reply::helo(host));
    }
    Step::Reply(Reply::ehlo(host, &name, &extensions(s)))
}

/// The extensions advertised now: STARTTLS until TLS is up, AUTH only once it is.
pub fn extensions(s: &Session) -> Vec<String> {
    let mut ext = vec![
        "PIPELINING".to_string(),
        format!("SIZE {}", s.ctx.config.limits.message_size),
        "8BITMIME".into(),
        "SMTPUTF8".into(),
        "ENHANCEDSTATUSCODES".into(),
        "CHUNKING".into(),
        "DSN".into(),
    ];
    if s.tls.is_none() {
        if s.starttls_offered() {
            ext.push("STARTTLS".into());
        }
    } else {
        ext.push("AUTH PLAIN LOGIN".into());
    }
    ext
}
