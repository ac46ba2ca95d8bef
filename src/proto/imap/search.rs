//! SEARCH criteria (RFC 3501 §6.4.4) as a tree, and its evaluation against what a session
//! knows of a message. Header and body keys need the message bytes; the caller passes
//! them lazily so flag-only searches never open a file.
//!
//! Owns: search semantics. Must not touch: I/O.
use super::command::{Parser, R};
use super::sequence::SequenceSet;

/// Deepest nesting of SEARCH parentheses/NOT/OR accepted.
const MAX_DEPTH: u32 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCmp {
    Before,
    On,
    Since,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKey {
    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
    Recent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    And(Vec<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    Not(Box<SearchKey>),
    Seq(SequenceSet),
    Uid(SequenceSet),
    Flag(FlagKey),
    Keyword(String),
    /// NEW: recent and not seen.
    New,
    /// A header field contains a string (FROM/TO/CC/BCC/SUBJECT/HEADER).
    Header(String, String),
    Body(String),
    Text(String),
    /// `day`: days since the epoch; `sent`: the Date: header, else INTERNALDATE.
    Date { sent: bool, cmp: DateCmp, day: i64 },
    Larger(u64),
    Smaller(u64),
    /// RFC 7162 MODSEQ: the message's mod-sequence is at least this (the optional
    /// per-flag entry is accepted and ignored: postern keeps one MODSEQ per message).
    ModSeq(u64),
}

/// What a search needs to know of one message.
pub struct Candidate<'a> {
    pub seq: u32,
    pub uid: u32,
    pub max_seq: u32,
    pub max_uid: u32,
    pub flags: &'a dyn Fn(FlagKey) -> bool,
    pub keyword: &'a dyn Fn(&str) -> bool,
    pub size: u64,
    /// INTERNALDATE, seconds since the epoch.
    pub internal_date: i64,
    pub modseq: u64,
}

/// Access to the message bytes (header/body/sent-date checks), opened at most once.
pub trait Content {
    fn header_contains(&mut self, name: &str, needle: &str) -> bool;
    fn text_contains(&mut self, needle: &str, whole: bool) -> bool;
    fn sent_date(&mut self) -> Option<i64>;
}

impl SearchKey {
    pub(crate) fn flag_word(w: &str) -> SearchKey {
        use FlagKey as F;
        let flag = |f| SearchKey::Flag(f);
        let not = |f| SearchKey::Not(Box::new(SearchKey::Flag(f)));
        match w {
            "ANSWERED" => flag(F::Answered),
            "DELETED" => flag(F::Deleted),
            "DRAFT" => flag(F::Draft),
            "FLAGGED" => flag(F::Flagged),
            "SEEN" => flag(F::Seen),
            "RECENT" => flag(F::Recent),
            "NEW" => SearchKey::New,
            "OLD" => not(F::Recent),
            "UNANSWERED" => not(F::Answered),
            "UNDELETED" => not(F::Deleted),
            "UNDRAFT" => not(F::Draft),
            "UNFLAGGED" => not(F::Flagged),
            _ => not(F::Seen),
        }
    }

    pub(crate) fn date_cmp(w: &str) -> DateCmp {
        if w.ends_with("BEFORE") {
            DateCmp::Before
        } else if w.ends_with("ON") {
            DateCmp::On
        } else {
            DateCmp::Since
        }
    }

    /// Whether the key tree has a MODSEQ key (the SEARCH response then ends with
    /// `(MODSEQ n)`, RFC 7162 §3.1.5).
    pub fn has_modseq(&self) -> bool {
        match self {
            SearchKey::ModSeq(_) => true,
            SearchKey::And(ks) => ks.iter().any(SearchKey::has_modseq),
            SearchKey::Or(a, b) => a.has_modseq() || b.has_modseq(),
            SearchKey::Not(k) => k.has_modseq(),
            _ => false,
        }
    }

    /// Whether a key needs the message bytes.
    pub fn needs_content(&self) -> bool {
        match self {
            SearchKey::Header(..) | SearchKey::Body(_) | SearchKey::Text(_) => true,
            SearchKey::Date { sent, .. } => *sent,
            SearchKey::And(ks) => ks.iter().any(SearchKey::needs_content),
            SearchKey::Or(a, b) => a.needs_content() || b.needs_content(),
            SearchKey::Not(k) => k.needs_content(),
            _ => false,
        }
    }

    pub fn matches(&self, c: &Candidate<'_>, content: &mut dyn Content) -> bool {
        use SearchKey as K;
        match self {
            K::All => true,
            K::And(ks) => ks.iter().all(|k| k.matches(c, content)),
            K::Or(a, b) => a.matches(c, content) || b.matches(c, content),
            K::Not(k) => !k.matches(c, content),
            K::Seq(s) => s.contains(c.seq, c.max_seq),
            K::Uid(s) => s.contains(c.uid, c.max_uid),
            K::ModSeq(n) => c.modseq >= *n,
            K::Flag(f) => (c.flags)(*f),
            K::Keyword(k) => (c.keyword)(k),
            K::New => (c.flags)(FlagKey::Recent) && !(c.flags)(FlagKey::Seen),
            K::Header(name, needle) => content.header_contains(name, needle),
            K::Body(s) => content.text_contains(s, false),
            K::Text(s) => content.text_contains(s, true),
            K::Date { sent, cmp, day } => {
                let secs = if *sent { content.sent_date() } else { Some(c.internal_date) };
                let Some(secs) = secs else { return false };
                let d = secs.div_euclid(86_400);
                match cmp {
                    DateCmp::Before => d < *day,
                    DateCmp::On => d == *day,
                    DateCmp::Since => d >= *day,
                }
            }
            K::Larger(n) => c.size > *n,
            K::Smaller(n) => c.size < *n,
        }
    }
}

/// SEARCH key syntax (RFC 3501 §6.4.4).
impl Parser<'_> {
    pub(crate) fn search_key(&mut self, depth: u32) -> R<SearchKey> {
        if depth > MAX_DEPTH {
            return Err("search too deeply nested");
        }
        use SearchKey as K;
        if self.eat(b"(") {
            let mut keys = vec![self.search_key(depth + 1)?];
            while self.eat(b" ") {
                keys.push(self.search_key(depth + 1)?);
            }
            if !self.eat(b")") {
                return Err("expected )");
            }
            return Ok(K::And(keys));
        }
        if self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*' || b == b'$') {
            return Ok(K::Seq(SequenceSet::parse(self)?));
        }
        let word = self.word()?;
        let k = match word.as_str() {
            "ALL" => K::All,
            "ANSWERED" | "DELETED" | "DRAFT" | "FLAGGED" | "SEEN" | "RECENT" | "NEW" | "OLD" | "UNANSWERED"
            | "UNDELETED" | "UNDRAFT" | "UNFLAGGED" | "UNSEEN" => K::flag_word(&word),
            "KEYWORD" | "UNKEYWORD" => {
                self.sp()?;
                let kw = self.atom()?.to_string();
                if word == "KEYWORD" { K::Keyword(kw) } else { K::Not(Box::new(K::Keyword(kw))) }
            }
            "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => {
                self.sp()?;
                K::Header(word.clone(), self.astring()?)
            }
            "HEADER" => {
                self.sp()?;
                let name = self.astring()?;
                self.sp()?;
                K::Header(name, self.astring()?)
            }
            "BODY" | "TEXT" => {
                self.sp()?;
                let s = self.astring()?;
                if word == "BODY" { K::Body(s) } else { K::Text(s) }
            }
            "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
                self.sp()?;
                let d = self.astring_bytes()?;
                let day = super::date::parse_date(&d).ok_or("invalid date")?;
                K::Date { sent: word.starts_with("SENT"), cmp: K::date_cmp(&word), day }
            }
            "LARGER" | "SMALLER" => {
                self.sp()?;
                let n = self.number64()?;
                if word == "LARGER" { K::Larger(n) } else { K::Smaller(n) }
            }
            "UID" => {
                self.sp()?;
                K::Uid(SequenceSet::parse(self)?)
            }
            "MODSEQ" => {
                self.sp()?;
                if self.peek() == Some(b'"') {
                    self.astring()?;
                    self.sp()?;
                    let kind = self.word()?;
                    if !matches!(kind.as_str(), "PRIV" | "SHARED" | "ALL") {
                        return Err("expected priv, shared or all");
                    }
                    self.sp()?;
                }
                K::ModSeq(self.modseq_value()?)
            }
            "NOT" => {
                self.sp()?;
                K::Not(Box::new(self.search_key(depth + 1)?))
            }
            "OR" => {
                self.sp()?;
                let a = self.search_key(depth + 1)?;
                self.sp()?;
                let b = self.search_key(depth + 1)?;
                K::Or(Box::new(a), Box::new(b))
            }
            _ => return Err("unknown search key"),
        };
        Ok(k)
    }
}
