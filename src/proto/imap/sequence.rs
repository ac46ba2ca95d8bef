//! Sequence sets (`1,3:5,7:*`, RFC 3501 §9 `sequence-set`) over message sequence numbers
//! or UIDs, and `$` (RFC 5182: the last SEARCH result, here always empty).
//!
//! Owns: the syntax and its resolution against a mailbox size. Must not touch: I/O.
use super::command::Parser;

/// One end of a range: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    Num(u32),
    Star,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqNum, SeqNum)>);

/// Ranges per set accepted: bounds the work a single command can ask for.
const MAX_RANGES: usize = 10_000;

impl SequenceSet {
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<SequenceSet, &'static str> {
        if p.eat(b"$") {
            return Ok(SequenceSet(Vec::new()));
        }
        let mut ranges = Vec::new();
        loop {
            let a = num(p)?;
            let b = if p.eat(b":") { num(p)? } else { a };
            ranges.push((a, b));
            if ranges.len() > MAX_RANGES {
                return Err("sequence set too long");
            }
            if !p.eat(b",") {
                return Ok(SequenceSet(ranges));
            }
        }
    }

    /// Does the set hold `n`, with `*` standing for `max`?
    pub fn contains(&self, n: u32, max: u32) -> bool {
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (resolve(a, max), resolve(b, max));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            (lo..=hi).contains(&n)
        })
    }

    /// The ranges as `(low, high)` with `*` standing for `max`.
    pub fn ranges(&self, max: u32) -> Vec<(u32, u32)> {
        self.0
            .iter()
            .map(|&(a, b)| {
                let (a, b) = (resolve(a, max), resolve(b, max));
                (a.min(b), a.max(b))
            })
            .collect()
    }
}

fn resolve(n: SeqNum, max: u32) -> u32 {
    match n {
        SeqNum::Num(n) => n,
        SeqNum::Star => max,
    }
}

fn num(p: &mut Parser<'_>) -> Result<SeqNum, &'static str> {
    if p.eat(b"*") {
        return Ok(SeqNum::Star);
    }
    match p.number()? {
        0 => Err("sequence numbers start at 1"),
        n => Ok(SeqNum::Num(n)),
    }
}

/// Writes UIDs as a compact set (`1:3,7`), for COPYUID/APPENDUID/SEARCH-like answers.
pub fn compact(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_and_star() {
        let mut p = Parser::new(b"1,3:5,9:*");
        let s = SequenceSet::parse(&mut p).unwrap();
        assert!(s.contains(1, 10) && s.contains(4, 10) && s.contains(10, 10) && !s.contains(2, 10));
        // `*:9` with 4 messages means 4:9.
        let mut p = Parser::new(b"*:9");
        assert!(SequenceSet::parse(&mut p).unwrap().contains(4, 4));
        assert_eq!(compact(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
    }
}
