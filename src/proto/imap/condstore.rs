//! RFC 7162 syntax: the CONDSTORE and QRESYNC parameters of SELECT/EXAMINE, the FETCH
//! modifiers (`CHANGEDSINCE n`, `VANISHED`), STORE's `UNCHANGEDSINCE n`, and
//! mod-sequence values.
//!
//! Owns: that syntax. Must not touch: I/O, the mail store.
use super::command::Parser;
use super::sequence::{SeqNum, SequenceSet};

type R<T> = Result<T, &'static str>;

/// SELECT/EXAMINE parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectParams {
    pub condstore: bool,
    pub qresync: Option<QResync>,
}

/// `QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])` (RFC 7162 §3.2.5).
/// The sequence-match data only helps a server without an expunge history guess less;
/// postern answers from the known UIDs, so it is parsed and not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    pub uid_validity: u32,
    pub modseq: u64,
    /// UIDs the client has; without them, every UID below UIDNEXT.
    pub known_uids: Option<SequenceSet>,
}

/// FETCH modifiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    /// Report UIDs of the set that no longer exist as `VANISHED (EARLIER)` (UID FETCH
    /// with CHANGEDSINCE, QRESYNC enabled).
    pub vanished: bool,
}

impl Parser<'_> {
    /// `(CONDSTORE QRESYNC (...))`, either or both.
    pub(crate) fn select_params(&mut self) -> R<SelectParams> {
        let mut p = SelectParams::default();
        if !self.eat(b"(") {
            return Err("expected select parameters");
        }
        loop {
            match self.word()?.as_str() {
                "CONDSTORE" => p.condstore = true,
                "QRESYNC" if p.qresync.is_none() => {
                    self.sp()?;
                    p.qresync = Some(self.qresync()?);
                }
                _ => return Err("unknown select parameter"),
            }
            if self.eat(b")") {
                return Ok(p);
            }
            self.sp()?;
        }
    }

    fn qresync(&mut self) -> R<QResync> {
        if !self.eat(b"(") {
            return Err("expected (");
        }
        let uid_validity = self.number()?;
        if uid_validity == 0 {
            return Err("UIDVALIDITY is never 0");
        }
        self.sp()?;
        let modseq = self.modseq_value()?;
        if modseq == 0 {
            return Err("mod-sequence is never 0");
        }
        let mut known_uids = None;
        if self.eat(b" ") && !self.seq_match_data()? {
            known_uids = Some(self.known_set()?);
            if self.eat(b" ") && !self.seq_match_data()? {
                return Err("expected sequence match data");
            }
        }
        if !self.eat(b")") {
            return Err("expected )");
        }
        Ok(QResync { uid_validity, modseq, known_uids })
    }

    /// `(known-sequence-set known-uid-set)`: parsed, dropped. False when not there.
    fn seq_match_data(&mut self) -> R<bool> {
        if !self.eat(b"(") {
            return Ok(false);
        }
        self.known_set()?;
        self.sp()?;
        self.known_set()?;
        if !self.eat(b")") {
            return Err("expected )");
        }
        Ok(true)
    }

    /// A UID set without `*` (RFC 7162 `known-uids`, `sequence-set` of real numbers).
    fn known_set(&mut self) -> R<SequenceSet> {
        let set = SequenceSet::parse(self)?;
        if set.0.iter().any(|&(a, b)| a == SeqNum::Star || b == SeqNum::Star) {
            return Err("* is not allowed here");
        }
        Ok(set)
    }

    /// ` (CHANGEDSINCE n [VANISHED])`, in any order, after the FETCH items.
    pub(crate) fn fetch_modifiers(&mut self) -> R<FetchModifiers> {
        let mut m = FetchModifiers::default();
        if !self.eat(b" ") {
            return Ok(m);
        }
        if !self.eat(b"(") {
            return Err("expected FETCH modifiers");
        }
        loop {
            match self.word()?.as_str() {
                "CHANGEDSINCE" if m.changed_since.is_none() => {
                    self.sp()?;
                    m.changed_since = Some(self.modseq_value()?);
                }
                "VANISHED" if !m.vanished => m.vanished = true,
                _ => return Err("unknown modifier"),
            }
            if self.eat(b")") {
                break;
            }
            self.sp()?;
        }
        // RFC 7162 §3.2.6: VANISHED only with CHANGEDSINCE.
        if m.vanished && m.changed_since.is_none() {
            return Err("VANISHED needs CHANGEDSINCE");
        }
        Ok(m)
    }

    /// `(NAME n)`: one modifier with a mod-sequence value (STORE's UNCHANGEDSINCE).
    pub(crate) fn modifier(&mut self, name: &[u8]) -> R<u64> {
        if !self.eat(b"(") || !self.eat_ci(name) || !self.eat(b" ") {
            return Err("unknown modifier");
        }
        let n = self.modseq_value()?;
        if !self.eat(b")") {
            return Err("expected )");
        }
        Ok(n)
    }

    /// A mod-sequence value: 1 to 2^63-1 (`mod-sequence-valzer` also allows 0).
    pub(crate) fn modseq_value(&mut self) -> R<u64> {
        let n = self.number64()?;
        if n > i64::MAX as u64 {
            return Err("mod-sequence too large");
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::command::{Body, parse};

    fn body(s: &str) -> Body {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}")).body
    }

    #[test]
    fn qresync_select_parameters() {
        let Body::Select { params, .. } = body("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))") else { panic!() };
        let q = params.qresync.unwrap();
        assert_eq!((q.uid_validity, q.modseq), (67890007, 20050715194045000));
        let known = q.known_uids.unwrap();
        assert!(known.contains(43, 0) && !known.contains(42, 0) && known.contains(541, 0));
        // RFC 7162 §3.2.5.2's example with sequence match data; and CONDSTORE beside it.
        let Body::Select { params, .. } = body("a EXAMINE INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29997)))") else { panic!() };
        assert!(params.condstore && params.qresync.unwrap().known_uids.is_some());
        let Body::Select { params, .. } = body("a SELECT INBOX (QRESYNC (1 2 (1:2 3:4)))") else { panic!() };
        assert_eq!(params.qresync.unwrap().known_uids, None);
        for bad in ["a SELECT INBOX (QRESYNC (0 1))", "a SELECT INBOX (QRESYNC (1 0))", "a SELECT INBOX (QRESYNC (1 2 1:*))", "a SELECT INBOX (QRESYNC 1 2)", "a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))", "a SELECT INBOX (QRESYNC (1 2 3 4))"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn fetch_modifiers() {
        let Body::Fetch { modifiers, .. } = body("a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)") else { panic!() };
        assert_eq!(modifiers, FetchModifiers { changed_since: Some(12345), vanished: true });
        let Body::Fetch { modifiers, .. } = body("a UID FETCH 1 FLAGS (VANISHED CHANGEDSINCE 7)") else { panic!() };
        assert!(modifiers.vanished);
        assert!(parse(b"a UID FETCH 1 FLAGS (VANISHED)").is_err());
        assert!(parse(b"a UID FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)").is_err());
    }
}
