//! DELE and RSET (RFC 1939 §5): marks only; messages go at QUIT (`quit`).
use crate::proto::pop3::command::MsgNum;
use crate::proto::pop3::Reply;
use crate::server::pop3::maildrop::Maildrop;
use crate::server::pop3::session::Step;

pub fn dele(drop: &mut Maildrop, n: MsgNum) -> Step {
    Step::Reply(match drop.mark_deleted(n) {
        Ok(()) => Reply::marked_deleted(),
        Err(r) => r,
    })
}

pub fn rset(drop: &mut Maildrop) -> Step {
    drop.reset();
    let (count, octets) = drop.stat();
    Step::Reply(Reply::reset(count, octets))
}
