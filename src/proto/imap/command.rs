//! IMAP client commands (RFC 3501 §6, with the extensions postern serves) parsed from one
//! complete command: the bytes `Framer` collected, with its small literals inline
//! (`{n}\r\n` followed by n octets). An APPEND message literal is never inline: the
//! framer streams it to the session, and the parsed `Append` only carries its size.
//!
//! Owns: command syntax. Must not touch: I/O, the mail store, response text.
use super::condstore::{FetchModifiers, SelectParams};
pub(crate) use super::syntax::{Parser, R};
use super::message::Section;
use super::sequence::SequenceSet;
use super::search::SearchKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub body: Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Size,
    /// RFC 7162 CONDSTORE.
    HighestModSeq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Flags,
    InternalDate,
    Rfc822Size,
    Uid,
    Envelope,
    BodyStructure,
    /// BODY without a section: the non-extensible body structure.
    Body,
    Section { peek: bool, section: Section, partial: Option<(u32, u32)> },
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    /// RFC 7162 CONDSTORE.
    ModSeq,
}

/// LIST (RFC 3501 §6.3.8, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List {
    pub reference: String,
    pub patterns: Vec<String>,
    /// `(SUBSCRIBED)` selection option, or LSUB.
    pub subscribed_only: bool,
    pub lsub: bool,
    pub return_subscribed: bool,
    pub return_children: bool,
    pub return_special_use: bool,
    pub return_status: Option<Vec<StatusItem>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Capability,
    Noop,
    Logout,
    StartTls,
    Login { user: String, password: String },
    Authenticate { mechanism: String, initial: Option<String> },
    Id,
    Enable(Vec<String>),
    Namespace,
    /// `params`: CONDSTORE and QRESYNC (RFC 7162 §3.1.8, §3.2.5).
    Select { mailbox: String, read_only: bool, params: SelectParams },
    Create(String),
    Delete(String),
    Rename { from: String, to: String },
    Subscribe(String),
    Unsubscribe(String),
    List(List),
    Status { mailbox: String, items: Vec<StatusItem> },
    /// The message (`size` octets) follows the command; `sync`: the client waits for `+`.
    Append { mailbox: String, flags: Vec<String>, date: Option<i64>, size: u64, sync: bool },
    Check,
    Close,
    Unselect,
    Expunge { uids: Option<SequenceSet> },
    Search { uid: bool, key: SearchKey },
    /// `modifiers`: `(CHANGEDSINCE n [VANISHED])` (RFC 7162 §3.1.4, §3.2.6).
    Fetch { uid: bool, set: SequenceSet, items: Vec<FetchItem>, modifiers: FetchModifiers },
    /// `unchanged_since`: the `(UNCHANGEDSINCE n)` modifier (RFC 7162 §3.1.3).
    Store { uid: bool, set: SequenceSet, mode: StoreMode, silent: bool, flags: Vec<String>, unchanged_since: Option<u64> },
    Copy { uid: bool, set: SequenceSet, mailbox: String },
    Move { uid: bool, set: SequenceSet, mailbox: String },
    Idle,
    GetQuota(String),
    GetQuotaRoot(String),
}

/// Why a command did not parse; `tag` is known when the line started with a valid one,
/// so the reply can be tagged BAD (else it is an untagged `* BAD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub tag: Option<String>,
    pub reason: &'static str,
}

/// SEARCH with a charset other than UTF-8 / US-ASCII: well-formed, refused with NO
/// (RFC 3501 §6.4.4), not a syntax error.
pub const BAD_CHARSET: &str = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";

impl ParseError {
    /// The tagged status to answer with: NO for a refused charset, else BAD.
    pub fn status(&self) -> &'static str {
        if self.reason == BAD_CHARSET { "NO" } else { "BAD" }
    }
}

/// Parses one complete command (without its final CRLF).
pub fn parse(buf: &[u8]) -> Result<Command, ParseError> {
    let mut p = Parser::new(buf);
    let tag = p.tag().ok_or(ParseError { tag: None, reason: "missing or invalid tag" })?;
    // `a*b NOOP`: the tag is the whole first word or nothing (never a prefix of it), as
    // the framer's `tag_of` sees it.
    if !p.at_end() && p.peek() != Some(b' ') {
        return Err(ParseError { tag: None, reason: "missing or invalid tag" });
    }
    let fail = |reason| ParseError { tag: Some(tag.clone()), reason };
    if !p.eat(b" ") {
        return Err(fail("missing command"));
    }
    let body = p.body().map_err(fail)?;
    if p.pos != buf.len() {
        return Err(fail("unexpected characters at the end of the command"));
    }
    Ok(Command { tag, body })
}

/// For the framer: does `head` (a command so far, ending in a literal announcement
/// without its CRLF) announce an APPEND message? Returns the announced size and whether
/// the client waits for a continuation.
pub fn append_literal(head: &[u8]) -> Option<(u64, bool)> {
    match parse(head).ok()?.body {
        Body::Append { size, sync, .. } => Some((size, sync)),
        _ => None,
    }
}

impl Parser<'_> {
    fn body(&mut self) -> R<Body> {
        let name = self.word()?;
        let b = match name.as_str() {
            "CAPABILITY" => Body::Capability,
            "NOOP" => Body::Noop,
            "LOGOUT" => Body::Logout,
            "STARTTLS" => Body::StartTls,
            "CHECK" => Body::Check,
            "CLOSE" => Body::Close,
            "UNSELECT" => Body::Unselect,
            "NAMESPACE" => Body::Namespace,
            "IDLE" => Body::Idle,
            "EXPUNGE" => Body::Expunge { uids: None },
            "LOGIN" => {
                self.sp()?;
                let user = self.astring()?;
                self.sp()?;
                let password = self.astring()?;
                Body::Login { user, password }
            }
            "AUTHENTICATE" => {
                self.sp()?;
                let mechanism = self.atom()?.to_ascii_uppercase();
                let initial = if self.eat(b" ") {
                    let a = if self.eat(b"=") { "=" } else { self.atom()? };
                    Some(a.to_string())
                } else {
                    None
                };
                Body::Authenticate { mechanism, initial }
            }
            "ID" => {
                self.sp()?;
                self.id_params()?;
                Body::Id
            }
            "ENABLE" => {
                let mut caps = Vec::new();
                while self.eat(b" ") {
                    caps.push(self.atom()?.to_ascii_uppercase());
                }
                if caps.is_empty() {
                    return Err("ENABLE needs a capability");
                }
                Body::Enable(caps)
            }
            "SELECT" | "EXAMINE" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let params = if self.eat(b" ") { self.select_params()? } else { SelectParams::default() };
                Body::Select { mailbox, read_only: name == "EXAMINE", params }
            }
            "CREATE" | "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE" | "GETQUOTAROOT" => {
                self.sp()?;
                let m = self.mailbox()?;
                match name.as_str() {
                    "CREATE" => Body::Create(m),
                    "DELETE" => Body::Delete(m),
                    "SUBSCRIBE" => Body::Subscribe(m),
                    "UNSUBSCRIBE" => Body::Unsubscribe(m),
                    _ => Body::GetQuotaRoot(m),
                }
            }
            "GETQUOTA" => {
                self.sp()?;
                Body::GetQuota(self.astring()?)
            }
            "RENAME" => {
                self.sp()?;
                let from = self.mailbox()?;
                self.sp()?;
                let to = self.mailbox()?;
                Body::Rename { from, to }
            }
            "LIST" => Body::List(self.list()?),
            "LSUB" => {
                self.sp()?;
                let reference = self.astring()?;
                self.sp()?;
                let pattern = self.list_mailbox()?;
                Body::List(List { reference, patterns: vec![pattern], subscribed_only: true, lsub: true, ..List::default() })
            }
            "STATUS" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                self.sp()?;
                Body::Status { mailbox, items: self.status_items()? }
            }
            "APPEND" => self.append()?,
            "SEARCH" => self.search(false)?,
            "FETCH" => self.fetch(false)?,
            "STORE" => self.store(false)?,
            "COPY" | "MOVE" => self.copy(false, name == "MOVE")?,
            "UID" => {
                self.sp()?;
                let sub = self.word()?;
                match sub.as_str() {
                    "SEARCH" => self.search(true)?,
                    "FETCH" => self.fetch(true)?,
                    "STORE" => self.store(true)?,
                    "COPY" | "MOVE" => self.copy(true, sub == "MOVE")?,
                    "EXPUNGE" => {
                        self.sp()?;
                        Body::Expunge { uids: Some(SequenceSet::parse(self)?) }
                    }
                    _ => return Err("unknown UID command"),
                }
            }
            _ => return Err("unknown command"),
        };
        Ok(b)
    }

    /// `NIL` or `("name" "value" ...)`; the values are not used.
    fn id_params(&mut self) -> R<()> {
        if self.nstring_is_nil() {
            return Ok(());
        }
        if !self.eat(b"(") {
            return Err("expected ID parameters");
        }
        if self.eat(b")") {
            return Ok(());
        }
        loop {
            self.string_bytes()?;
            self.sp()?;
            if !self.nstring_is_nil() {
                self.string_bytes()?;
            }
            if self.eat(b")") {
                return Ok(());
            }
            self.sp()?;
        }
    }

    fn list(&mut self) -> R<List> {
        let mut l = List::default();
        self.sp()?;
        if self.eat(b"(") {
            while !self.eat(b")") {
                match self.word()?.as_str() {
                    "SUBSCRIBED" => l.subscribed_only = true,
                    "REMOTE" | "RECURSIVEMATCH" | "SPECIAL-USE" => {}
                    _ => return Err("unknown LIST selection option"),
                }
                self.eat(b" ");
                if self.at_end() {
                    return Err("unterminated selection options");
                }
            }
            self.sp()?;
        }
        l.reference = self.astring()?;
        self.sp()?;
        if self.eat(b"(") {
            loop {
                l.patterns.push(self.list_mailbox()?);
                if self.eat(b")") {
                    break;
                }
                self.sp()?;
            }
        } else {
            l.patterns.push(self.list_mailbox()?);
        }
        if self.eat(b" ") {
            if !self.eat_ci(b"RETURN (") {
                return Err("expected RETURN");
            }
            while !self.eat(b")") {
                match self.word()?.as_str() {
                    "SUBSCRIBED" => l.return_subscribed = true,
                    "CHILDREN" => l.return_children = true,
                    "SPECIAL-USE" => l.return_special_use = true,
                    "STATUS" => {
                        self.sp()?;
                        l.return_status = Some(self.status_items()?);
                    }
                    _ => return Err("unknown LIST return option"),
                }
                self.eat(b" ");
                if self.at_end() {
                    return Err("unterminated return options");
                }
            }
        }
        Ok(l)
    }

    fn status_items(&mut self) -> R<Vec<StatusItem>> {
        if !self.eat(b"(") {
            return Err("expected status items");
        }
        let mut items = Vec::new();
        loop {
            items.push(match self.word()?.as_str() {
                "MESSAGES" => StatusItem::Messages,
                "RECENT" => StatusItem::Recent,
                "UIDNEXT" => StatusItem::UidNext,
                "UIDVALIDITY" => StatusItem::UidValidity,
                "UNSEEN" => StatusItem::Unseen,
                "SIZE" => StatusItem::Size,
                "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
                _ => return Err("unknown status item"),
            });
            if self.eat(b")") {
                return Ok(items);
            }
            self.sp()?;
        }
    }

    fn append(&mut self) -> R<Body> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        self.sp()?;
        let mut flags = Vec::new();
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        let mut date = None;
        if self.peek() == Some(b'"') {
            let d = self.quoted()?;
            date = Some(super::date::parse_date_time(&d).ok_or("invalid date-time")?);
            self.sp()?;
        }
        let (size, sync) = self.literal_head()?;
        // The message data is streamed by the session; the line may end here (the
        // framer's look-ahead) or after the CRLF that followed the literal.
        if !self.at_end() && !self.eat(b"\r\n") {
            return Err("APPEND takes one message");
        }
        Ok(Body::Append { mailbox, flags, date, size, sync })
    }

    fn search(&mut self, uid: bool) -> R<Body> {
        self.sp()?;
        if self.eat_ci(b"CHARSET ") {
            let cs = self.astring()?;
            if !cs.eq_ignore_ascii_case("UTF-8") && !cs.eq_ignore_ascii_case("US-ASCII") {
                return Err(BAD_CHARSET);
            }
            self.sp()?;
        }
        let mut keys = vec![self.search_key(0)?];
        while self.eat(b" ") {
            keys.push(self.search_key(0)?);
        }
        let key = if keys.len() == 1 { keys.pop().unwrap() } else { SearchKey::And(keys) };
        Ok(Body::Search { uid, key })
    }

    fn fetch(&mut self, uid: bool) -> R<Body> {
        self.sp()?;
        let set = SequenceSet::parse(self)?;
        self.sp()?;
        let mut items = Vec::new();
        if self.eat(b"(") {
            loop {
                self.fetch_item(&mut items)?;
                if self.eat(b")") {
                    break;
                }
                self.sp()?;
            }
        } else {
            self.fetch_item(&mut items)?;
        }
        let modifiers = self.fetch_modifiers()?;
        if modifiers.vanished && !uid {
            return Err("VANISHED needs UID FETCH");
        }
        if uid && !items.contains(&FetchItem::Uid) {
            items.insert(0, FetchItem::Uid);
        }
        // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ.
        if modifiers.changed_since.is_some() && !items.contains(&FetchItem::ModSeq) {
            items.push(FetchItem::ModSeq);
        }
        Ok(Body::Fetch { uid, set, items, modifiers })
    }

    fn store(&mut self, uid: bool) -> R<Body> {
        self.sp()?;
        let set = SequenceSet::parse(self)?;
        self.sp()?;
        let unchanged_since = if self.peek() == Some(b'(') {
            let n = self.modifier(b"UNCHANGEDSINCE")?;
            self.sp()?;
            Some(n)
        } else {
            None
        };
        let mode = if self.eat(b"+") {
            StoreMode::Add
        } else if self.eat(b"-") {
            StoreMode::Remove
        } else {
            StoreMode::Replace
        };
        let silent = match self.word()?.as_str() {
            "FLAGS" => false,
            "FLAGS.SILENT" => true,
            _ => return Err("expected FLAGS"),
        };
        self.sp()?;
        let flags = self.flag_list()?;
        Ok(Body::Store { uid, set, mode, silent, flags, unchanged_since })
    }

    fn copy(&mut self, uid: bool, is_move: bool) -> R<Body> {
        self.sp()?;
        let set = SequenceSet::parse(self)?;
        self.sp()?;
        let mailbox = self.mailbox()?;
        Ok(if is_move { Body::Move { uid, set, mailbox } } else { Body::Copy { uid, set, mailbox } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Body {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}")).body
    }

    #[test]
    fn parses_common_commands() {
        assert_eq!(body("a1 LOGIN joe \"p\\\"w\""), Body::Login { user: "joe".into(), password: "p\"w".into() });
        assert_eq!(body("a LOGIN {3}\r\njoe {2}\r\npw"), Body::Login { user: "joe".into(), password: "pw".into() });
        assert_eq!(body("a select inbox"), Body::Select { mailbox: "INBOX".into(), read_only: false, params: SelectParams::default() });
        assert!(matches!(body("a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)"),
            Body::Fetch { uid: true, ref items, .. } if items.len() == 3));
        assert!(matches!(body("a STORE 1,3:5 +FLAGS.SILENT (\\Seen $Label1)"),
            Body::Store { mode: StoreMode::Add, silent: true, ref flags, .. } if flags == &["\\Seen", "$Label1"]));
        assert!(matches!(body("a APPEND Sent (\\Seen) \"05-Dec-2026 10:00:00 +0100\" {12+}"),
            Body::Append { size: 12, sync: false, date: Some(_), .. }));
        assert_eq!(append_literal(b"a APPEND INBOX {100}"), Some((100, true)));
        assert_eq!(append_literal(b"a LOGIN {100}"), None);
        assert!(matches!(body("a SEARCH CHARSET UTF-8 OR FROM joe (SINCE 1-Jan-2020 NOT SEEN) UID 1:5"), Body::Search { .. }));
        assert!(matches!(body("a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (SPECIAL-USE CHILDREN STATUS (MESSAGES UNSEEN))"),
            Body::List(List { subscribed_only: true, return_status: Some(_), .. })));
        assert_eq!(body("a AUTHENTICATE PLAIN AGpvZQBwdw=="), Body::Authenticate { mechanism: "PLAIN".into(), initial: Some("AGpvZQBwdw==".into()) });
    }

    #[test]
    fn parses_condstore() {
        assert_eq!(body("a EXAMINE Sent (condstore)"), Body::Select { mailbox: "Sent".into(), read_only: true, params: SelectParams { condstore: true, qresync: None } });
        assert!(matches!(body("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)"),
            Body::Fetch { modifiers: FetchModifiers { changed_since: Some(12345), vanished: false }, ref items, .. } if items == &[FetchItem::Uid, FetchItem::Flags, FetchItem::ModSeq]));
        assert!(matches!(body("a FETCH 1 (FLAGS MODSEQ)"), Body::Fetch { modifiers: FetchModifiers { changed_since: None, .. }, ref items, .. } if items[1] == FetchItem::ModSeq));
        assert!(matches!(body("a STORE 1:3 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Seen)"),
            Body::Store { unchanged_since: Some(7), silent: true, .. }));
        assert!(matches!(body("a STORE 1 FLAGS \\Seen"), Body::Store { unchanged_since: None, .. }));
        assert!(matches!(body("a STATUS INBOX (HIGHESTMODSEQ MESSAGES)"), Body::Status { ref items, .. } if items[0] == StatusItem::HighestModSeq));
        assert!(matches!(body("a SEARCH MODSEQ 5"), Body::Search { key: SearchKey::ModSeq(5), .. }));
        assert!(matches!(body("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338 UNSEEN"), Body::Search { key: SearchKey::And(ref k), .. } if k[0] == SearchKey::ModSeq(620162338)));
        assert!(parse(b"a SELECT INBOX (FOO)").is_err());
        assert!(parse(b"a FETCH 1 FLAGS (CHANGEDSINCE)").is_err());
        assert!(parse(b"a FETCH 1 FLAGS (VANISHED)").is_err());
        assert!(parse(b"a STORE 1 (UNCHANGEDSINCE 99999999999999999999) FLAGS ()").is_err());
        assert!(parse(b"a SEARCH MODSEQ \"/flags/x\" bogus 1").is_err());
    }

    #[test]
    fn rejects_bad_syntax_with_tag() {
        assert_eq!(parse(b"").unwrap_err().tag, None);
        assert_eq!(parse(b"a1 FROB").unwrap_err().tag.as_deref(), Some("a1"));
        assert_eq!(parse(b"a1").unwrap_err().tag.as_deref(), Some("a1"));
        // A tag is the whole first word: `:*x` is no tag, not the tag `:`.
        assert_eq!(parse(b":*\x0ca CREATE x").unwrap_err().tag, None);
        assert_eq!(parse(b"a+b NOOP").unwrap_err().tag, None);
        assert_eq!(parse(b"a] NOOP").unwrap().tag, "a]");
        assert!(parse(b"a LOGIN {10}\r\nabc").is_err());
        assert!(parse(b"a FETCH 1 (FLAGS").is_err());
        let deep = format!("a SEARCH {}ALL{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(deep.as_bytes()).is_err());
    }
}
