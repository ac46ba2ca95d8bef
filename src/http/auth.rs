//! Bearer tokens for the public API, in two scopes: `send` (http.tokens) and `admin`
//! (http.admin_tokens). A token of one scope never opens the other.
//!
//! Policy when a scope has no token configured:
//! - send: only clients in `relay.trusted_networks` may send (the same rule as SMTP relay
//!   without AUTH, Postfix's mynetworks); anyone else gets 401. Once tokens are set,
//!   every client needs one, trusted or not, so a token leak is the only way in.
//! - admin: refused over HTTP; the queue is administered over the control socket.
//!
//! Tokens are compared as SHA-256 digests in constant time, against every configured
//! token, so neither the content nor the length of a token leaks through timing.
use super::error::ApiError;
use aws_lc_rs::digest::{SHA256, digest};
use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Send,
    Admin,
}

/// The configured tokens of one scope, kept as digests.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, b).as_ref());
    out
}

impl Tokens {
    pub fn new(tokens: &[String]) -> Tokens {
        Tokens { digests: tokens.iter().map(|t| sha256(t.as_bytes())).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `candidate` equals one of the tokens. Looks at every token every time.
    pub fn matches(&self, candidate: &str) -> bool {
        let d = sha256(candidate.as_bytes());
        self.digests.iter().fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&d)).into()
    }
}

/// The token in `Authorization: Bearer <token>`; `Err(MissingToken)` when absent.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::MissingToken);
    };
    let value = value.to_str().map_err(|_| ApiError::BadToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::BadToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingToken);
    }
    Ok(token.trim())
}

/// Checks a request against `tokens`; `trusted` says whether the client is in
/// `relay.trusted_networks` (only consulted for the send scope without tokens).
pub fn check(scope: Scope, tokens: &Tokens, headers: &HeaderMap, trusted: bool) -> Result<(), ApiError> {
    if tokens.is_empty() {
        return match scope {
            Scope::Send if trusted => Ok(()),
            Scope::Send => Err(ApiError::NotAllowed(
                "no http.tokens configured: only clients in relay.trusted_networks may send",
            )),
            Scope::Admin => Err(ApiError::NotAllowed(
                "no http.admin_tokens configured: administer the host with `postern queue|domain|mailbox|alias`",
            )),
        };
    }
    if tokens.matches(bearer(headers)?) { Ok(()) } else { Err(ApiError::BadToken) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const T1: &str = "0123456789abcdef0123456789abcdef";
    const T2: &str = "fedcba9876543210fedcba9876543210-second";

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn tokens_match_exactly() {
        let t = Tokens::new(&[T1.into(), T2.into()]);
        assert!(t.matches(T1) && t.matches(T2));
        assert!(!t.matches(&T1[..31]) && !t.matches(&format!("{T1}x")) && !t.matches(""));
    }

    #[test]
    fn bearer_header_forms() {
        let t = Tokens::new(&[T1.into()]);
        assert_eq!(check(Scope::Send, &t, &with(&format!("Bearer {T1}")), false), Ok(()));
        assert_eq!(check(Scope::Send, &t, &with(&format!("bearer  {T1} ")), false), Ok(()));
        assert_eq!(check(Scope::Send, &t, &HeaderMap::new(), true), Err(ApiError::MissingToken));
        assert_eq!(check(Scope::Send, &t, &with(&format!("Basic {T1}")), true), Err(ApiError::MissingToken));
        assert_eq!(check(Scope::Send, &t, &with("Bearer nope"), true), Err(ApiError::BadToken));
    }

    #[test]
    fn empty_scopes() {
        let none = Tokens::default();
        assert_eq!(check(Scope::Send, &none, &HeaderMap::new(), true), Ok(()));
        assert!(matches!(check(Scope::Send, &none, &HeaderMap::new(), false), Err(ApiError::NotAllowed(_))));
        assert!(matches!(check(Scope::Admin, &none, &with(&format!("Bearer {T1}")), true), Err(ApiError::NotAllowed(_))));
    }
}
