//! RFC 5321 paths and mailboxes (with RFC 6531 UTF-8 when SMTPUTF8 is in use).

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
