//! SASL PLAIN / LOGIN decoding: any client response decodes or fails with a reply, and
//! what we encode for the outbound client decodes back to the same credentials.
use postern::proto::smtp::sasl::{decode_login, decode_plain, encode_login, encode_plain, is_cancel};

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = is_cancel(&text);
    match decode_plain(&text) {
        Ok(c) => {
            assert!(!c.authcid.is_empty() && !c.password.is_empty());
            if c.authzid.is_empty() {
                let back = decode_plain(&encode_plain(&c.authcid, &c.password)).expect("own PLAIN encoding decodes");
                assert_eq!(back, c);
            }
        }
        Err(e) => assert!(e.reply().code >= 500, "{e:?}"),
    }
    match decode_login(&text) {
        Ok(s) => {
            assert!(!s.contains('\0'));
            assert_eq!(decode_login(&encode_login(&s)).as_deref(), Ok(s.as_str()));
        }
        Err(e) => assert!(e.reply().code >= 500, "{e:?}"),
    }
    // Any string we encode must decode again (the outbound client's side).
    let (user, pass) = text.split_once('\0').unwrap_or((&text, "p"));
    if !user.is_empty() && !pass.is_empty() && !pass.contains('\0') && !user.contains('\0') {
        let c = decode_plain(&encode_plain(user, pass)).expect("encode_plain output decodes");
        assert_eq!((c.authcid.as_str(), c.password.as_str()), (user, pass));
    }
}
