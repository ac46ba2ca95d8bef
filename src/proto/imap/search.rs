//! SEARCH criteria (RFC 3501 §6.4.4) as a tree, and its evaluation against what a session
//! knows of a message. Header and body keys need the message bytes; the caller passes
//! them lazily so flag-only searches never open a file.
//!
//! Owns: search semantics. Must not touch: I/O.
use super::sequence::SequenceSet;

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
