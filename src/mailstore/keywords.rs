//! `dovecot-keywords`: the folder's keyword names by letter (`<index> <name>` lines, index
//! 0 is letter `a` in file names, up to 25 = `z`). Replaced only by rename, under the
//! `dovecot-uidlist.lock` dotlock (Dovecot's rule).
//!
//! Owns: that file's format. Must not touch: message files.
use std::path::Path;

pub(crate) const FILE: &str = "dovecot-keywords";
const LETTERS: usize = 26;

/// Keyword names by index (`names[0]` is letter `a`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keywords {
    names: Vec<Option<String>>,
}

impl Keywords {
    pub(crate) fn parse(text: &str) -> Keywords {
        let mut k = Keywords::default();
        for line in text.lines() {
            let Some((idx, name)) = line.split_once(' ') else { continue };
            let Ok(idx) = idx.parse::<usize>() else { continue };
            if idx >= LETTERS || name.is_empty() {
                continue;
            }
            if k.names.len() <= idx {
                k.names.resize(idx + 1, None);
            }
            k.names[idx] = Some(name.to_string());
        }
        k
    }

    pub(crate) fn serialize(&self) -> String {
        let mut s = String::new();
        for (i, n) in self.names.iter().enumerate() {
            if let Some(n) = n {
                s.push_str(&format!("{i} {n}\n"));
            }
        }
        s
    }

    pub(crate) fn name_of(&self, letter: char) -> Option<&str> {
        let idx = (letter as usize).checked_sub('a' as usize)?;
        self.names.get(idx)?.as_deref()
    }

    /// The letter of a keyword (exact name first, then ignoring case as IMAP does).
    pub(crate) fn letter_of(&self, name: &str) -> Option<char> {
        let pos = self.names.iter().position(|n| n.as_deref() == Some(name)).or_else(|| {
            self.names.iter().position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        })?;
        Some((b'a' + pos as u8) as char)
    }

    /// Gives these keywords letters where free; true when the set changed. Keywords past
    /// the 26th get none (Dovecot keeps those in its index only).
    pub(crate) fn ensure(&mut self, names: impl IntoIterator<Item = String>) -> bool {
        let mut changed = false;
        for name in names {
            if self.letter_of(&name).is_some() || !valid(&name) {
                continue;
            }
            if let Some(free) = self.names.iter().position(Option::is_none) {
                self.names[free] = Some(name);
            } else if self.names.len() < LETTERS {
                self.names.push(Some(name));
            } else {
                continue;
            }
            changed = true;
        }
        changed
    }

    /// Names in letter order, for FLAGS.
    pub(crate) fn list(&self) -> Vec<String> {
        self.names.iter().flatten().cloned().collect()
    }

    pub(crate) fn read(dir: &Path) -> std::io::Result<Keywords> {
        match std::fs::read_to_string(dir.join(FILE)) {
            Ok(t) => Ok(Keywords::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keywords::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the file (temp + rename); the caller holds the uidlist dotlock.
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<()> {
        super::lock::replace(&dir.join(FILE), self.serialize().as_bytes())
    }
}

/// An IMAP atom fit for the file: no spaces, controls or IMAP specials.
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_dovecots_format() {
        let k = Keywords::parse("0 $Junk\n1 $NonJunk\n\nbad line\n30 toolarge\n3 $Label1\n");
        assert_eq!(k.name_of('a'), Some("$Junk"));
        assert_eq!(k.name_of('b'), Some("$NonJunk"));
        assert_eq!(k.name_of('c'), None);
        assert_eq!(k.name_of('d'), Some("$Label1"));
        assert_eq!(k.letter_of("$nonjunk"), Some('b'));
        assert_eq!(k.serialize(), "0 $Junk\n1 $NonJunk\n3 $Label1\n");
        assert_eq!(k.list(), vec!["$Junk", "$NonJunk", "$Label1"]);
    }

    #[test]
    fn new_keywords_take_free_letters_up_to_z() {
        let mut k = Keywords::parse("1 b\n");
        assert!(k.ensure(["x".to_string(), "b".to_string()]));
        assert_eq!(k.letter_of("x"), Some('a'));
        assert!(!k.ensure(["x".to_string(), "bad name".to_string()]));
        for i in 0..40 {
            k.ensure([format!("k{i}")]);
        }
        assert_eq!(k.list().len(), 26);
        assert_eq!(k.letter_of("k23"), Some('z'));
        assert_eq!(k.letter_of("k24"), None);
    }
}
