//! RFC 5321 paths and mailboxes (with RFC 6531 UTF-8 when SMTPUTF8 is in use).
//!
//! Owns: the §4.1.2 grammar (Dot-string / Quoted-string local parts, domains, address
//! literals, source routes), its length limits, display with re-quoting, IDNA conversion
//! and detection of relay tricks hidden in local parts.
//! Must not touch: policy (which domains are local), I/O.
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// RFC 5321 §4.5.3.1.1 says 64, but SRS and VERP addresses in the wild exceed it
/// (Postfix accepts them), so we accept what fits a command line.
pub const MAX_LOCAL_PART: usize = 255;
/// RFC 5321 §4.5.3.1.2.
pub const MAX_DOMAIN: usize = 255;
/// RFC 5321 §4.5.3.1.3 says 256 including the brackets; raised with MAX_LOCAL_PART
/// (the 512-octet command line still bounds it).
pub const MAX_PATH: usize = 512;

/// A mailbox `local@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// Local part, unquoted (the quoted form `"a b"` is stored as `a b`).
    pub local: String,
    /// Domain, lower-cased; an address literal keeps its brackets (`[127.0.0.1]`).
    pub domain: String,
}

/// MAIL FROM argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    Null,
    Path(Address),
}

/// RCPT TO argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPath {
    pub address: Address,
    /// Source route (`@a,@b:`) that preceded the mailbox, if any; RFC 5321 says ignore,
    /// postern's relay policy treats it as a relay attempt through the first hop.
    pub source_route: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("empty address")]
    Empty,
    #[error("missing @domain")]
    MissingDomain,
    #[error("invalid local part")]
    InvalidLocalPart,
    #[error("unterminated quoted local part")]
    UnterminatedQuote,
    #[error("invalid domain")]
    InvalidDomain,
    #[error("invalid address literal")]
    InvalidLiteral,
    #[error("invalid source route")]
    InvalidRoute,
    #[error("unbalanced angle brackets")]
    Unbalanced,
    #[error("local part longer than {MAX_LOCAL_PART} octets")]
    LocalPartTooLong,
    #[error("domain longer than {MAX_DOMAIN} octets")]
    DomainTooLong,
    #[error("path longer than {MAX_PATH} octets")]
    PathTooLong,
    #[error("non-ASCII address requires SMTPUTF8")]
    NeedsSmtputf8,
}

use AddressError as E;

/// RFC 5322 atext, plus any non-ASCII byte (RFC 6531 UTF8-non-ascii; `&str` is valid UTF-8).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// RFC 5321 Dot-string: atoms separated by single dots.
fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// qtextSMTP (printable ASCII except `"` and `\`, space allowed) plus UTF-8.
fn is_qtext(b: u8) -> bool {
    matches!(b, 32..=33 | 35..=91 | 93..=126) || b >= 0x80
}

/// Parses the local part at the start of `s`; returns it unquoted and the rest of `s`.
fn parse_local(s: &str) -> Result<(String, &str), AddressError> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        let end = bytes
            .iter()
            .position(|&b| !(is_atext(b) || b == b'.'))
            .unwrap_or(s.len());
        let local = &s[..end];
        if !is_dot_string(local) {
            return Err(E::InvalidLocalPart);
        }
        if local.len() > MAX_LOCAL_PART {
            return Err(E::LocalPartTooLong);
        }
        return Ok((local.to_owned(), &s[end..]));
    }
    let mut out = String::new();
    let (mut i, mut seg) = (1, 1);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                out.push_str(&s[seg..i]);
                if i + 1 > MAX_LOCAL_PART {
                    return Err(E::LocalPartTooLong);
                }
                return Ok((out, &s[i + 1..]));
            }
            b'\\' => {
                out.push_str(&s[seg..i]);
                match bytes.get(i + 1) {
                    Some(&c) if (32..=126).contains(&c) => out.push(char::from(c)),
                    Some(_) => return Err(E::InvalidLocalPart),
                    None => return Err(E::UnterminatedQuote),
                }
                i += 2;
                seg = i;
            }
            b if is_qtext(b) => i += 1,
            _ => return Err(E::InvalidLocalPart),
        }
    }
    Err(E::UnterminatedQuote)
}

/// Parses a whole Domain or address-literal; returns its stored (lower-case) form.
fn parse_domain(s: &str) -> Result<String, AddressError> {
    if s.is_empty() {
        return Err(E::MissingDomain);
    }
    if s.len() > MAX_DOMAIN {
        return Err(E::DomainTooLong);
    }
    if let Some(inner) = s.strip_prefix('[') {
        return parse_literal(inner.strip_suffix(']').ok_or(E::InvalidLiteral)?);
    }
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok_chars = b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80);
        if b.is_empty() || b.len() > 63 || !ok_chars || b[0] == b'-' || b[b.len() - 1] == b'-' {
            return Err(E::InvalidDomain);
        }
    }
    if s.is_ascii() {
        return Ok(s.to_ascii_lowercase());
    }
    // U-labels: let IDNA (UTS 46, strict STD3 rules) decide whether they are valid.
    let ascii = idna::domain_to_ascii_strict(s).map_err(|_| E::InvalidDomain)?;
    if ascii.len() > MAX_DOMAIN {
        return Err(E::DomainTooLong);
    }
    Ok(s.to_lowercase())
}

/// `1.2.3.4` or `IPv6:...` (inside the brackets); General-address-literals are refused.
fn parse_literal(inner: &str) -> Result<String, AddressError> {
    let tag = inner.get(..5).filter(|t| t.eq_ignore_ascii_case("IPv6:"));
    if tag.is_some() {
        let v6 = &inner[5..];
        v6.parse::<Ipv6Addr>().map_err(|_| E::InvalidLiteral)?;
        return Ok(format!("[IPv6:{}]", v6.to_ascii_lowercase()));
    }
    inner.parse::<Ipv4Addr>().map_err(|_| E::InvalidLiteral)?;
    Ok(format!("[{inner}]"))
}

/// A-d-l (`@a,@b:`) at the start of `s`; returns the route and the rest.
fn parse_route(s: &str) -> Result<(Vec<String>, &str), AddressError> {
    let mut route = Vec::new();
    let mut s = s;
    while let Some(r) = s.strip_prefix('@') {
        let end = if r.starts_with('[') {
            r.find(']').map(|i| i + 1)
        } else {
            r.find([',', ':'])
        };
        let end = end.ok_or(E::InvalidRoute)?;
        route.push(parse_domain(&r[..end]).map_err(|_| E::InvalidRoute)?);
        match r.as_bytes().get(end) {
            Some(b',') if r[end + 1..].starts_with('@') => s = &r[end + 1..],
            Some(b':') => return Ok((route, &r[end + 1..])),
            _ => return Err(E::InvalidRoute),
        }
    }
    Ok((route, s))
}

/// Strips `<...>` (or accepts a bare path, like Postfix) and checks the path length.
fn path_inner(s: &str) -> Result<&str, AddressError> {
    let (inner, len) = match s.strip_prefix('<') {
        Some(rest) => (rest.strip_suffix('>').ok_or(E::Unbalanced)?, s.len()),
        None if s.ends_with('>') => return Err(E::Unbalanced),
        None => (s, s.len() + 2),
    };
    if len > MAX_PATH {
        return Err(E::PathTooLong);
    }
    Ok(inner)
}

fn check_utf8(s: &str, utf8: bool) -> Result<(), AddressError> {
    if utf8 || s.is_ascii() {
        Ok(())
    } else {
        Err(E::NeedsSmtputf8)
    }
}

/// MAIL FROM path: `<>`, `<mailbox>`, `<@route:mailbox>` (route dropped) or a bare mailbox.
pub fn parse_reverse_path(s: &str, utf8: bool) -> Result<ReversePath, AddressError> {
    let inner = path_inner(s)?;
    if inner.is_empty() && s.starts_with('<') {
        return Ok(ReversePath::Null);
    }
    let (_route, mailbox) = parse_route(inner)?;
    let address = Address::parse(mailbox, utf8)?;
    check_utf8(inner, utf8)?;
    Ok(ReversePath::Path(address))
}

/// RCPT TO path: `<mailbox>`, `<@a,@b:mailbox>`, the special `<Postmaster>`, or bare.
pub fn parse_forward_path(s: &str, utf8: bool) -> Result<ForwardPath, AddressError> {
    let inner = path_inner(s)?;
    if inner.eq_ignore_ascii_case("postmaster") {
        let address = Address {
            local: "postmaster".into(),
            domain: String::new(),
        };
        return Ok(ForwardPath {
            address,
            source_route: Vec::new(),
        });
    }
    let (source_route, mailbox) = parse_route(inner)?;
    let address = Address::parse(mailbox, utf8)?;
    check_utf8(inner, utf8)?;
    Ok(ForwardPath {
        address,
        source_route,
    })
}

impl Address {
    /// A bare `local@domain` (config files, HTTP API, and inside paths).
    pub fn parse(s: &str, utf8: bool) -> Result<Address, AddressError> {
        if s.is_empty() {
            return Err(E::Empty);
        }
        let (local, rest) = parse_local(s)?;
        let domain = match rest.strip_prefix('@') {
            Some(d) => parse_domain(d)?,
            None if rest.is_empty() => return Err(E::MissingDomain),
            None => return Err(E::InvalidLocalPart),
        };
        check_utf8(s, utf8)?;
        Ok(Address { local, domain })
    }

    /// Domain in A-label form for DNS and for peers without SMTPUTF8; literals unchanged.
    pub fn domain_ascii(&self) -> String {
        if self.domain.is_ascii() {
            return self.domain.clone();
        }
        ascii_domain(&self.domain).unwrap_or_else(|| self.domain.clone())
    }

    /// True when neither part needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.domain.is_ascii()
    }

    /// The domain a percent-hack (`u%other@local`), quoted `@` (`"u@other"@local`) or
    /// bang path (`other!u@local`) local part would route to on a Sendmail-style host.
    /// `None` for an ordinary local part; may be `Some("")` for a degenerate one
    /// (`"u@"@local`), which a relay policy must still treat as foreign.
    pub fn routing_domain(&self) -> Option<String> {
        let l = &self.local;
        let d = if let Some(i) = l.rfind('@') {
            &l[i + 1..]
        } else if let Some(i) = l.rfind('%') {
            &l[i + 1..]
        } else if let Some(i) = l.find('!') {
            &l[..i]
        } else {
            return None;
        };
        Some(d.to_lowercase())
    }
}

impl fmt::Display for Address {
    /// A valid RFC 5321 mailbox: the local part is re-quoted when it is not a Dot-string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_dot_string(&self.local) {
            f.write_str(&self.local)?;
        } else {
            f.write_str("\"")?;
            let mut rest = self.local.as_str();
            while let Some(i) = rest.find(['"', '\\']) {
                write!(f, "{}\\{}", &rest[..i], &rest[i..i + 1])?;
                rest = &rest[i + 1..];
            }
            write!(f, "{rest}\"")?;
        }
        if !self.domain.is_empty() {
            write!(f, "@{}", self.domain)?;
        }
        Ok(())
    }
}

impl ReversePath {
    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Path(a) => Some(a),
        }
    }
}

impl fmt::Display for ReversePath {
    /// `<>` or `<mailbox>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Path(a) => write!(f, "<{a}>"),
        }
    }
}

impl fmt::Display for ForwardPath {
    /// `<mailbox>` or `<@a,@b:mailbox>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<")?;
        for (i, hop) in self.source_route.iter().enumerate() {
            let sep = if i + 1 == self.source_route.len() {
                ':'
            } else {
                ','
            };
            write!(f, "@{hop}{sep}")?;
        }
        write!(f, "{}>", self.address)
    }
}

/// The A-label form (IDNA, lower case) of a domain, without a trailing dot; `None` when
/// it is empty or IDNA refuses it. The one place postern turns names into A-labels.
pub fn ascii_domain(domain: &str) -> Option<String> {
    let d = domain.trim().trim_end_matches('.');
    idna::domain_to_ascii(d).ok().filter(|a| !a.is_empty())
}

/// The spelling domains are compared and stored in: [`ascii_domain`], or the name lower
/// cased when IDNA refuses it (it then matches nothing configured, which is valid).
pub fn normalize_domain(domain: &str) -> String {
    ascii_domain(domain).unwrap_or_else(|| domain.trim().trim_end_matches('.').to_ascii_lowercase())
}

/// An address as postern compares it: local part lower case, domain [`normalize_domain`].
pub fn normalize_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{}@{}", local.to_lowercase(), normalize_domain(domain)),
        None => address.to_lowercase(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(local: &str, domain: &str) -> Address {
        Address {
            local: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn dot_string_and_quoted() {
        assert_eq!(
            Address::parse("John.Doe@Example.COM", false),
            Ok(addr("John.Doe", "example.com"))
        );
        assert_eq!(
            Address::parse("\"a b\"@x.org", false),
            Ok(addr("a b", "x.org"))
        );
        assert_eq!(
            Address::parse(r#""a\"b\\c"@x.org"#, false),
            Ok(addr(r#"a"b\c"#, "x.org"))
        );
        assert_eq!(Address::parse("\"\"@x.org", false), Ok(addr("", "x.org")));
        for bad in [
            "a..b@x", ".a@x", "a.@x", "a b@x", "a@", "@x", "a", "a@b@c", "\"a@x", "a\"b\"@x",
        ] {
            assert!(Address::parse(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            Address::parse("\"a\tb\"@x", false),
            Err(E::InvalidLocalPart)
        );
    }

    #[test]
    fn domains_and_literals() {
        assert_eq!(
            Address::parse("a@[127.0.0.1]", false),
            Ok(addr("a", "[127.0.0.1]"))
        );
        assert_eq!(
            Address::parse("a@[ipv6:::1]", false),
            Ok(addr("a", "[IPv6:::1]"))
        );
        assert_eq!(
            Address::parse("a@[IPv6:2001:DB8::1]", false),
            Ok(addr("a", "[IPv6:2001:db8::1]"))
        );
        for bad in [
            "a@[1.2.3]",
            "a@[999.1.1.1]",
            "a@[IPv6:1.2.3.4]",
            "a@[x:y]",
            "a@-x.org",
            "a@x-.org",
        ] {
            assert!(Address::parse(bad, false).is_err(), "{bad}");
        }
        assert!(Address::parse("a@x_y.org", false).is_err());
        assert!(Address::parse("a@x..org", false).is_err());
        let label = "a".repeat(64);
        assert_eq!(
            Address::parse(&format!("a@{label}.org"), false),
            Err(E::InvalidDomain)
        );
    }

    #[test]
    fn length_limits() {
        let srs_like = format!("SRS0=HHHH=TT=example.org={}", "l".repeat(100));
        assert!(Address::parse(&format!("{srs_like}@x.org"), false).is_ok(), "long SRS local parts are accepted");
        let local = "l".repeat(MAX_LOCAL_PART);
        assert!(Address::parse(&format!("{local}@x.org"), false).is_ok());
        assert_eq!(
            Address::parse(&format!("{local}l@x.org"), false),
            Err(E::LocalPartTooLong)
        );
        let domain = vec!["d".repeat(63); 4].join(".") + "d";
        assert_eq!(
            Address::parse(&format!("a@{domain}"), false),
            Err(E::DomainTooLong)
        );
        let domain = vec!["d".repeat(60); 4].join(".");
        let path = format!("<{}@{domain}>", "l".repeat(MAX_PATH - domain.len()));
        assert_eq!(parse_reverse_path(&path, false), Err(E::PathTooLong));
    }

    #[test]
    fn utf8_needs_flag() {
        assert_eq!(
            Address::parse("jörg@bücher.de", false),
            Err(E::NeedsSmtputf8)
        );
        let a = Address::parse("jörg@Bücher.de", true).unwrap();
        assert_eq!(a, addr("jörg", "bücher.de"));
        assert_eq!(a.domain_ascii(), "xn--bcher-kva.de");
        assert!(!a.is_ascii());
        assert_eq!(addr("a", "[1.2.3.4]").domain_ascii(), "[1.2.3.4]");
        assert_eq!(
            parse_forward_path("<@bücher.de:a@b.c>", false),
            Err(E::NeedsSmtputf8)
        );
        assert!(Address::parse("a@xn--bcher-kva.de", false).is_ok());
    }

    #[test]
    fn paths() {
        assert_eq!(parse_reverse_path("<>", false), Ok(ReversePath::Null));
        assert_eq!(
            parse_reverse_path("<a@b.c>", false),
            Ok(ReversePath::Path(addr("a", "b.c")))
        );
        assert_eq!(
            parse_reverse_path("a@b.c", false),
            Ok(ReversePath::Path(addr("a", "b.c")))
        );
        assert_eq!(parse_reverse_path("<a@b.c", false), Err(E::Unbalanced));
        assert_eq!(parse_reverse_path("", false), Err(E::Empty));
        let fp = parse_forward_path("<@Relay.example,@[10.0.0.1]:u@d.org>", false).unwrap();
        assert_eq!(fp.source_route, vec!["relay.example", "[10.0.0.1]"]);
        assert_eq!(fp.address, addr("u", "d.org"));
        assert_eq!(fp.to_string(), "<@relay.example,@[10.0.0.1]:u@d.org>");
        let pm = parse_forward_path("<PostMaster>", false).unwrap();
        assert_eq!(
            (pm.address, pm.source_route.len()),
            (addr("postmaster", ""), 0)
        );
        assert_eq!(parse_forward_path("<>", false), Err(E::Empty));
        assert_eq!(
            parse_forward_path("<@a.b u@d.org>", false),
            Err(E::InvalidRoute)
        );
        assert_eq!(
            parse_forward_path("<@a.b,u@d.org>", false),
            Err(E::InvalidRoute)
        );
    }

    #[test]
    fn display_requotes() {
        assert_eq!(addr("a.b", "c.d").to_string(), "a.b@c.d");
        assert_eq!(addr("a b", "c.d").to_string(), "\"a b\"@c.d");
        assert_eq!(addr(r#"a"b\c"#, "c.d").to_string(), r#""a\"b\\c"@c.d"#);
        assert_eq!(addr("a..b", "c.d").to_string(), "\"a..b\"@c.d");
        assert_eq!(addr("", "c.d").to_string(), "\"\"@c.d");
        assert_eq!(addr("postmaster", "").to_string(), "postmaster");
        assert_eq!(ReversePath::Null.to_string(), "<>");
    }

    #[test]
    fn routing_tricks() {
        let route = |s: &str| Address::parse(s, false).unwrap().routing_domain();
        assert_eq!(
            route("user%Other.example@local.example").as_deref(),
            Some("other.example")
        );
        assert_eq!(route("a!b@local.example").as_deref(), Some("a"));
        assert_eq!(
            route("\"u@other.example\"@local.example").as_deref(),
            Some("other.example")
        );
        assert_eq!(route("plain.user@local.example"), None);
    }

    /// Stored-form addresses of every shape the grammar allows (shared with command tests).
    pub(crate) fn arb_address() -> impl Strategy<Value = Address> {
        let atom = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}";
        let local = prop_oneof![
            proptest::collection::vec(atom, 1..4).prop_map(|v| v.join(".")),
            "[ -~]{0,20}",
            "[a-zé]{1,6}",
        ];
        let label = "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?";
        let domain = prop_oneof![
            proptest::collection::vec(label, 1..4).prop_map(|v| v.join(".")),
            any::<std::net::Ipv4Addr>().prop_map(|ip| format!("[{ip}]")),
            any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[IPv6:{ip}]")),
            prop::sample::select(vec!["bücher.de", "пример.рф", "例え.テスト"])
                .prop_map(String::from),
        ];
        (local, domain).prop_map(|(local, domain)| Address { local, domain })
    }

    proptest! {
        #[test]
        fn display_parses_back(a in arb_address()) {
            prop_assert_eq!(Address::parse(&a.to_string(), true), Ok(a.clone()));
            let ascii = Address::parse(&a.to_string(), false);
            prop_assert_eq!(ascii.is_ok(), a.is_ascii());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}", utf8 in any::<bool>()) {
            let _ = parse_forward_path(&s, utf8);
            let _ = parse_reverse_path(&s, utf8);
        }
    }
}
