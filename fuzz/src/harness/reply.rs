//! Reply parser (the outbound client reads what remote servers send): never panics,
//! consumes only what it was given, and a parsed reply written back parses the same.
use postern::smtp::reply::parse_reply;

pub fn run(data: &[u8]) {
    let mut rest = data;
    // Parse a pipelined stream of replies, as the client does.
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
        assert!((200..600).contains(&reply.code));
        let wire = reply.to_wire();
        let (again, n) = parse_reply(&wire)
            .unwrap_or_else(|e| panic!("own wire form {wire:?} does not parse: {e}"))
            .unwrap_or_else(|| panic!("own wire form {wire:?} is incomplete"));
        assert_eq!(n, wire.len(), "{wire:?}");
        assert_eq!((again.code, again.status, &again.lines), (reply.code, reply.status, &reply.lines), "{wire:?}");
        rest = &rest[used..];
    }
}
