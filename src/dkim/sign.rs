//! Signing outgoing messages: picks every key configured for the RFC5322.From domain and
//! returns DKIM-Signature header lines (relaxed/relaxed, rsa-sha256 or ed25519-sha256).
use super::keys::{LoadedKey, load_key, normalize_domain};
use super::{DkimError, DkimKeyConfig};
use mail_auth::common::crypto::{Algorithm, DkimKey, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner as MailAuthSigner};
use mail_parser::{Address, HeaderValue, MessageParser};
use std::collections::HashMap;
use std::sync::Arc;

/// Signed once per instance plus once more, so no further instance can be added (or, when
/// absent, none can be added at all) without breaking the signature (RFC 6376 §8.15).
const OVERSIGNED: &[&str] = &["From", "Subject", "To", "Cc", "Reply-To"];

/// Signed when present; absent ones are left out so later hops may still add them.
const SIGNED_IF_PRESENT: &[&str] = &[
    "Date",
    "Message-ID",
    "Sender",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Help",
    "List-Owner",
    "List-Post",
    "List-Subscribe",
    "List-Archive",
    "Resent-Date",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Message-ID",
    "Feedback-ID",
    "Autocrypt",
    "OpenPGP",
];

/// Signs outgoing mail with the configured keys. Keys are parsed once by `load`; clones
/// share them (the struct is an `Arc`), so hand a clone to every delivery task.
#[derive(Clone, Default)]
pub struct DkimSigner {
    /// Lowercase ASCII domain -> its keys, in config order.
    keys: Arc<HashMap<String, Vec<LoadedKey>>>,
}

impl std::fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<String> = self
            .keys
            .values()
            .flatten()
            .map(|k| format!("{}._domainkey.{}", k.selector, k.domain))
            .collect();
        names.sort();
        f.debug_struct("DkimSigner").field("keys", &names).finish()
    }
}

impl DkimSigner {
    /// Reads and parses every key file; the first bad entry is reported with its file and domain.
    pub fn load(keys: &[DkimKeyConfig]) -> Result<DkimSigner, DkimError> {
        let mut map: HashMap<String, Vec<LoadedKey>> = HashMap::new();
        for cfg in keys {
            let key = load_key(cfg)?;
            let list = map.entry(key.domain.clone()).or_default();
            if list
                .iter()
                .any(|k| k.selector.eq_ignore_ascii_case(&key.selector))
            {
                return Err(DkimError::DuplicateSelector {
                    domain: key.domain,
                    selector: key.selector,
                });
            }
            list.push(key);
        }
        Ok(DkimSigner {
            keys: Arc::new(map),
        })
    }

    /// True when at least one key is configured for `domain` (any case, U- or A-label).
    pub fn has_key_for(&self, domain: &str) -> bool {
        normalize_domain(domain).is_ok_and(|d| self.keys.contains_key(&d))
    }

    /// DKIM-Signature header lines (CRLF-terminated, to prepend to the message), one per
    /// key of the From domain. `None` when there is no key for it, or no single From address.
    pub fn sign(&self, message: &[u8]) -> Result<Option<Vec<u8>>, DkimError> {
        self.sign_parts(&[message])
    }

    /// True when a message with this header section has a key to be signed with; lets a
    /// caller skip reading a large body that would not be signed.
    pub fn might_sign(&self, header: &[u8]) -> bool {
        !self.keys.is_empty()
            && HeaderInfo::parse(header).and_then(|i| i.from_domain).is_some_and(|d| self.keys.contains_key(&d))
    }

    /// [`DkimSigner::sign`] of a message given in consecutive parts, the first holding the
    /// whole header section (the rest need not be contiguous in memory).
    pub fn sign_parts(&self, parts: &[&[u8]]) -> Result<Option<Vec<u8>>, DkimError> {
        if self.keys.is_empty() || parts.is_empty() {
            return Ok(None);
        }
        let Some(info) = HeaderInfo::parse(parts[0]) else {
            return Ok(None);
        };
        let Some(keys) = info.from_domain.as_ref().and_then(|d| self.keys.get(d)) else {
            return Ok(None);
        };
        let names = info.header_list();
        let mut out = Vec::with_capacity(keys.len() * 512);
        for key in keys {
            let signature = MailAuthSigner::from_key(KeyRef(&key.key))
                .domain(key.domain.as_str())
                .selector(key.selector.as_str())
                .headers(names.iter().copied())
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed)
                .sign_chained(parts.iter().copied())
                .map_err(|e| DkimError::Sign {
                    domain: key.domain.clone(),
                    selector: key.selector.clone(),
                    reason: e.to_string(),
                })?;
            out.extend_from_slice(signature.to_header().as_bytes());
        }
        Ok(Some(out))
    }
}

/// Lets one parsed key sign many messages: mail-auth's builder takes its key by value.
struct KeyRef<'a>(&'a DkimKey);

impl SigningKey for KeyRef<'_> {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// What signing needs from the header section.
struct HeaderInfo {
    /// Domain of the only mailbox in the only From header, normalized.
    from_domain: Option<String>,
    /// Lowercase names of the header fields present.
    present: Vec<String>,
}

impl HeaderInfo {
    fn parse(message: &[u8]) -> Option<HeaderInfo> {
        let parsed = MessageParser::new().parse_headers(message)?;
        let headers = parsed.headers();
        let mut froms = headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("from"));
        let from_domain = match (froms.next(), froms.next()) {
            (Some(from), None) => single_mailbox_domain(from.value()),
            _ => None, // no From, or several: which one a reader sees is ambiguous
        };
        let present = headers
            .iter()
            .map(|h| h.name().to_ascii_lowercase())
            .collect();
        Some(HeaderInfo {
            from_domain,
            present,
        })
    }

    /// The `h=` list handed to mail-auth: it signs every instance of a listed name and
    /// appends listed names it did not find (signing them as absent).
    fn header_list(&self) -> Vec<&'static str> {
        let has = |n: &str| self.present.iter().any(|p| p.eq_ignore_ascii_case(n));
        let mut list = Vec::with_capacity(OVERSIGNED.len() * 2 + SIGNED_IF_PRESENT.len());
        for &name in OVERSIGNED {
            list.push(name);
            if has(name) {
                list.push(name); // the extra entry is never matched, so it is signed as absent
            }
        }
        list.extend(SIGNED_IF_PRESENT.iter().copied().filter(|n| has(n)));
        list
    }
}

/// The domain of a From value holding exactly one mailbox (RFC 5322 allows several).
fn single_mailbox_domain(value: &HeaderValue<'_>) -> Option<String> {
    let HeaderValue::Address(address) = value else {
        return None;
    };
    let mut mailboxes = match address {
        Address::List(list) => list.iter().collect::<Vec<_>>(),
        Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
    };
    if mailboxes.len() != 1 {
        return None;
    }
    let addr = mailboxes.pop()?.address()?.trim();
    let (_, domain) = addr.rsplit_once('@')?;
    let domain = domain.trim().trim_start_matches('[');
    normalize_domain(domain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(headers: &str) -> HeaderInfo {
        HeaderInfo::parse(format!("{headers}\r\nbody\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn from_domain_is_parsed_robustly() {
        let d = |h: &str| info(h).from_domain;
        assert_eq!(d("From: a@Example.COM\r\n"), Some("example.com".into()));
        assert_eq!(
            d("From: \"x@evil.test\" <b@good.test>\r\n"),
            Some("good.test".into())
        );
        assert_eq!(
            d("From: Name (c@evil.test)\r\n <b@Good.Test>\r\n"),
            Some("good.test".into())
        );
        assert_eq!(
            d("From: =?utf-8?q?J=C3=B6rg?= <j@b\u{fc}cher.example>\r\n"),
            Some("xn--bcher-kva.example".into())
        );
        assert_eq!(
            d("from: \"q@x\"@quoted.test\r\n"),
            Some("quoted.test".into())
        );
    }

    #[test]
    fn ambiguous_or_missing_from_is_none() {
        let d = |h: &str| info(h).from_domain;
        assert_eq!(d("To: a@b.test\r\n"), None);
        assert_eq!(d("From: a@one.test, b@two.test\r\n"), None);
        assert_eq!(d("From: a@one.test\r\nFrom: b@two.test\r\n"), None);
        assert_eq!(d("From: nobody\r\n"), None);
        assert_eq!(d("From: undisclosed:;\r\n"), None);
    }

    #[test]
    fn header_list_oversigns_from() {
        let i = info("From: a@x.test\r\nTo: b@y.test\r\nDate: now\r\nX-Other: 1\r\n");
        let list = i.header_list();
        assert_eq!(list.iter().filter(|n| **n == "From").count(), 2);
        assert_eq!(list.iter().filter(|n| **n == "Reply-To").count(), 1);
        assert!(list.contains(&"Date"));
        assert!(!list.contains(&"Message-ID"));
        assert!(!list.iter().any(|n| n.eq_ignore_ascii_case("x-other")));
    }

    #[test]
    fn no_keys_signs_nothing() {
        let s = DkimSigner::load(&[]).unwrap();
        assert!(!s.has_key_for("example.com"));
        assert_eq!(s.sign(b"From: a@example.com\r\n\r\nhi\r\n").unwrap(), None);
    }

    #[test]
    fn load_names_the_file_and_domain() {
        let cfg = DkimKeyConfig {
            domain: "example.com".into(),
            selector: "s1".into(),
            key: "/nonexistent/postern/k.pem".into(),
        };
        let e = DkimSigner::load(&[cfg]).unwrap_err().to_string();
        assert!(
            e.contains("/nonexistent/postern/k.pem") && e.contains("example.com"),
            "{e}"
        );
    }
}
