//! SASL PLAIN (RFC 4616) and LOGIN decoding.
//!
//! Owns: decoding client responses into credentials and encoding them for the outbound
//! client. Must not touch: password checking (`directory`), I/O, logging of secrets.
use std::fmt;

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::reply::Reply;

/// Standard alphabet; padding optional on input (some clients omit it), emitted on output.
const B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// RFC 4616 `[authzid] NUL authcid NUL passwd`.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Identity to act as; empty means "the same as authcid".
    pub authzid: String,
    pub authcid: String,
    pub password: String,
}

impl fmt::Debug for PlainCredentials {
    /// Secrets are never logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("invalid base64 data")]
    Base64,
    #[error("credentials are not valid UTF-8")]
    Utf8,
    #[error("PLAIN response is not authzid NUL authcid NUL password")]
    PlainFormat,
    #[error("empty user name or password")]
    Empty,
    #[error("NUL character in LOGIN response")]
    Nul,
}

impl SaslError {
    pub fn reply(&self) -> Reply {
        match self {
            SaslError::Base64 => Reply::invalid_base64(),
            SaslError::Utf8 | SaslError::PlainFormat | SaslError::Empty | SaslError::Nul => {
                Reply::auth_malformed()
            }
        }
    }
}

/// A client response line of `*` cancels the exchange (RFC 4954 §4).
pub fn is_cancel(response: &str) -> bool {
    response == "*"
}

fn decode(b64: &str) -> Result<Vec<u8>, SaslError> {
    B64.decode(b64.trim_end_matches([' ', '\t']))
        .map_err(|_| SaslError::Base64)
}

/// Decodes a PLAIN response (the initial response, or the line after `334 `).
pub fn decode_plain(b64: &str) -> Result<PlainCredentials, SaslError> {
    let raw = decode(b64)?;
    let mut parts = raw.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::PlainFormat);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::Empty);
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::Utf8);
    Ok(PlainCredentials {
        authzid: text(authzid)?,
        authcid: text(authcid)?,
        password: text(password)?,
    })
}

/// Decodes one LOGIN response (user name or password).
pub fn decode_login(b64: &str) -> Result<String, SaslError> {
    let raw = decode(b64)?;
    if raw.contains(&0) {
        return Err(SaslError::Nul);
    }
    String::from_utf8(raw).map_err(|_| SaslError::Utf8)
}

/// PLAIN initial response for `user` / `pass` (empty authzid).
pub fn encode_plain(user: &str, pass: &str) -> String {
    let mut raw = Vec::with_capacity(user.len() + pass.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(pass.as_bytes());
    B64.encode(raw)
}

/// One LOGIN response.
pub fn encode_login(s: &str) -> String {
    B64.encode(s)
}

/// XOAUTH2 initial response (Google's and Microsoft's SASL profile of OAuth 2.0 bearer
/// tokens): `user={user}^Aauth=Bearer {token}^A^A`, base64.
pub fn encode_xoauth2(user: &str, token: &str) -> String {
    B64.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_initial_response() {
        // The example of Google's XOAUTH2 documentation.
        assert_eq!(
            encode_xoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }
    use proptest::prelude::*;

    #[test]
    fn plain_decodes() {
        // "\0tim\0tanstaaftanstaaf" from RFC 4616 §4.
        let c = decode_plain("AHRpbQB0YW5zdGFhZnRhbnN0YWFm").unwrap();
        assert_eq!((c.authzid.as_str(), c.authcid.as_str()), ("", "tim"));
        assert_eq!(c.password, "tanstaaftanstaaf");
        // "Ursel\0Kurt\0xipj3plmq", with padding stripped.
        let c = decode_plain("VXJzZWwAS3VydAB4aXBqM3BsbXE").unwrap();
        assert_eq!((c.authzid.as_str(), c.authcid.as_str()), ("Ursel", "Kurt"));
    }

    #[test]
    fn plain_rejects() {
        assert_eq!(decode_plain("not base64!"), Err(SaslError::Base64));
        assert_eq!(decode_plain(""), Err(SaslError::PlainFormat));
        assert_eq!(
            decode_plain(&B64.encode("user\0pass")),
            Err(SaslError::PlainFormat)
        );
        assert_eq!(
            decode_plain(&B64.encode("\0u\0p\0x")),
            Err(SaslError::PlainFormat)
        );
        assert_eq!(decode_plain(&B64.encode("\0\0pass")), Err(SaslError::Empty));
        assert_eq!(decode_plain(&B64.encode("\0user\0")), Err(SaslError::Empty));
        assert_eq!(
            decode_plain(&B64.encode(b"\0us\xffer\0p")),
            Err(SaslError::Utf8)
        );
        assert_eq!(
            SaslError::Base64.reply().to_string(),
            "501 5.5.2 Invalid base64 data"
        );
    }

    #[test]
    fn login_and_debug() {
        assert_eq!(decode_login("dXNlcg==").as_deref(), Ok("user"));
        assert_eq!(decode_login(&B64.encode("a\0b")), Err(SaslError::Nul));
        assert_eq!(decode_login("***"), Err(SaslError::Base64));
        let c = decode_plain(&encode_plain("bob", "hunter2")).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("bob") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(is_cancel("*") && !is_cancel("*x"));
    }

    proptest! {
        #[test]
        fn plain_roundtrip(user in "[^\0]{1,30}", pass in "[^\0]{1,30}") {
            let c = decode_plain(&encode_plain(&user, &pass)).unwrap();
            prop_assert_eq!((c.authzid, c.authcid, c.password), (String::new(), user, pass));
        }

        #[test]
        fn login_roundtrip(s in "[^\0]{0,40}") {
            prop_assert_eq!(decode_login(&encode_login(&s)), Ok(s));
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,60}") {
            let _ = decode_plain(&s);
            let _ = decode_login(&s);
        }
    }
}
