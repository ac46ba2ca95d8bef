//! Address and path parsers: never panic, and every parsed address displays as a mailbox
//! that parses back to itself (the re-quoting promise the queue and DSNs rely on).
use postern::proto::smtp::address::{Address, parse_forward_path, parse_reverse_path};
use postern::proto::smtp::{ForwardPath, ReversePath};

pub fn run(data: &[u8]) {
    let (f, rest) = super::flags(data);
    let Ok(s) = std::str::from_utf8(rest) else { return };
    let utf8 = f & 1 == 1;
    if let Ok(a) = Address::parse(s, utf8) {
        roundtrip(&a, utf8);
        let _ = a.domain_ascii();
        let _ = a.routing_domain();
        assert!(utf8 || a.is_ascii(), "non-ASCII address accepted without SMTPUTF8: {a:?}");
    }
    if let Ok(ReversePath::Path(a)) = parse_reverse_path(s, utf8) {
        roundtrip(&a, utf8);
        let shown = ReversePath::Path(a.clone()).to_string();
        assert_eq!(parse_reverse_path(&shown, utf8), Ok(ReversePath::Path(a)), "{shown}");
    }
    if let Ok(p) = parse_forward_path(s, utf8) {
        let shown = p.to_string();
        let again: Result<ForwardPath, _> = parse_forward_path(&shown, utf8);
        assert_eq!(again, Ok(p), "{shown}");
    }
}

fn roundtrip(a: &Address, utf8: bool) {
    if a.domain.is_empty() {
        return; // <Postmaster> has no domain and no bare form.
    }
    let shown = a.to_string();
    assert_eq!(Address::parse(&shown, utf8).as_ref(), Ok(a), "{shown}");
}
