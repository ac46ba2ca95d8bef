//! The `subscriptions` file in the Maildir root, as Dovecot keeps it: one name a line;
//! a file that starts with the header `V\t2\n\n` (version 2) has names with levels joined
//! by TAB and TAB-escaping (`\x01` + `1`/`t`/`r`/`n`). The version found is kept; a new file
//! is version 1, as Dovecot 2.3 writes it. Replaced by rename under `subscriptions.lock`.
//!
//! Owns: that file. Must not touch: folders.
use super::SEPARATOR;
use super::lock::{Dotlock, replace};
use std::path::Path;

pub(crate) const FILE: &str = "subscriptions";
const V2_HEADER: &str = "V\t2\n\n";

/// The subscribed names (IMAP names) and whether the file is version 2.
pub(crate) fn parse(text: &str) -> (bool, Vec<String>) {
    let (v2, body) = match text.strip_prefix(V2_HEADER) {
        Some(b) => (true, b),
        None => (false, text),
    };
    let names = body
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| if v2 { l.split('\t').map(unescape).collect::<Vec<_>>().join(&SEPARATOR.to_string()) } else { l.to_string() })
        .collect();
    (v2, names)
}

pub(crate) fn serialize(v2: bool, names: &[String]) -> String {
    let mut s = if v2 { V2_HEADER.to_string() } else { String::new() };
    for n in names {
        if v2 {
            s.push_str(&n.split(SEPARATOR).map(escape).collect::<Vec<_>>().join("\t"));
        } else {
            s.push_str(n);
        }
        s.push('\n');
    }
    s
}

fn escape(part: &str) -> String {
    let mut s = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '\x01' => s.push_str("\x011"),
            '\t' => s.push_str("\x01t"),
            '\r' => s.push_str("\x01r"),
            '\n' => s.push_str("\x01n"),
            c => s.push(c),
        }
    }
    s
}

fn unescape(part: &str) -> String {
    let mut s = String::with_capacity(part.len());
    let mut chars = part.chars();
    while let Some(c) = chars.next() {
        if c != '\x01' {
            s.push(c);
            continue;
        }
        match chars.next() {
            Some('1') => s.push('\x01'),
            Some('t') => s.push('\t'),
            Some('r') => s.push('\r'),
            Some('n') => s.push('\n'),
            Some(o) => s.push(o),
            None => {}
        }
    }
    s
}

pub(crate) fn read(root: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(root.join(FILE)) {
        Ok(t) => Ok(parse(&t).1),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Changes the file with `edit` (under its dotlock); written only when it changed.
pub(crate) fn update(root: &Path, edit: impl FnOnce(&mut Vec<String>)) -> std::io::Result<()> {
    let path = root.join(FILE);
    let _lock = Dotlock::acquire(&path)?;
    let (v2, mut names) = match std::fs::read_to_string(&path) {
        Ok(t) => parse(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (true, Vec::new()),
        Err(e) => return Err(e),
    };
    let before = names.clone();
    edit(&mut names);
    if names != before {
        replace(&path, serialize(v2, &names).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_both_versions() {
        let (v2, names) = parse("V\t2\n\nINBOX\nArchive\t2025\nOdd\x01tName\n");
        assert!(v2);
        assert_eq!(names, vec!["INBOX", "Archive.2025", "Odd\tName"]);
        assert_eq!(serialize(true, &names), "V\t2\n\nINBOX\nArchive\t2025\nOdd\x01tName\n");
        let (v2, names) = parse("Sent\nArchive.2025\n");
        assert!(!v2);
        assert_eq!(serialize(false, &names), "Sent\nArchive.2025\n");
    }

    #[test]
    fn update_keeps_the_version() {
        let d = tempfile::tempdir().unwrap();
        update(d.path(), |n| n.push("Sent".into())).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), "V\t2\n\nSent\n");
        update(d.path(), |n| n.push("A.b".into())).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), "V\t2\n\nSent\nA\tb\n");
        assert_eq!(read(d.path()).unwrap(), vec!["Sent", "A.b"]);
        // A version 1 file (older Dovecot, Courier) stays version 1.
        std::fs::write(d.path().join(FILE), "Sent\n").unwrap();
        update(d.path(), |n| n.push("A.b".into())).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), "Sent\nA.b\n");
    }
}
