//! Reply parser (the outbound client reads what remote servers send): never panics,
//! consumes only what it was given, and a parsed reply written back parses the same.
//!
//! Text is decoded lossily (an invalid byte becomes U+FFFD, 3 octets), so a line near the
//! 4096-octet limit may outgrow it when written back; then the parser must say exactly
//! that (`LineTooLong`) rather than misparse.
use postern::proto::smtp::reply::{MAX_REPLY_LINE, ReplyError, parse_reply};

pub fn run(data: &[u8]) {
    let mut rest = data;
    // Parse a pipelined stream of replies, as the client does.
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
        assert!((200..600).contains(&reply.code));
        let wire = reply.to_wire();
        let longest = wire.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
        match parse_reply(&wire) {
            Err(ReplyError::LineTooLong) if longest >= MAX_REPLY_LINE => {}
            Ok(Some((again, n))) => {
                assert_eq!(n, wire.len(), "{wire:?}");
                assert_eq!((again.code, again.status, &again.lines), (reply.code, reply.status, &reply.lines), "{wire:?}");
            }
            other => panic!("own wire form {wire:?} (longest line {longest}) parses as {other:?}"),
        }
        rest = &rest[used..];
    }
}
