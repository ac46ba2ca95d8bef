//! STAT, LIST and UIDL (RFC 1939 §5, §7): sizes with CRLF line ends (`vsize`, what RETR
//! sends before dot-stuffing), UIDLs in Dovecot's form; deleted messages are not listed.
use crate::proto::pop3::command::MsgNum;
use crate::proto::pop3::{Multiline, Reply};
use crate::server::pop3::maildrop::Maildrop;
use crate::server::pop3::session::Step;

pub fn stat(drop: &Maildrop) -> Step {
    let (count, octets) = drop.stat();
    Step::Reply(Reply::stat(count, octets))
}

pub fn list(drop: &Maildrop, n: Option<MsgNum>) -> Step {
    if let Some(n) = n {
        return Step::Reply(match drop.get(n) {
            Ok(m) => Reply::scan_listing(n as usize, m.vsize),
            Err(r) => r,
        });
    }
    let mut out = Multiline::new(&Reply::list_follows(drop.stat().0));
    for (i, m) in drop.live() {
        out.line(&format!("{i} {}", m.vsize));
    }
    Step::Raw(out.finish())
}

pub fn uidl(drop: &Maildrop, n: Option<MsgNum>) -> Step {
    if let Some(n) = n {
        return Step::Reply(match drop.get(n) {
            Ok(m) => Reply::uidl_one(n as usize, &drop.uidl(m)),
            Err(r) => r,
        });
    }
    let mut out = Multiline::new(&Reply::uidl_follows());
    for (i, m) in drop.live() {
        out.line(&format!("{i} {}", drop.uidl(m)));
    }
    Step::Raw(out.finish())
}
