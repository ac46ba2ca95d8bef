//! `dovecot-uidlist`: UIDVALIDITY, the next UID, the mailbox GUID and one line per
//! message (`<uid> [<key><value> ...] :<file name>`), version 3; version 1 (Courier's
//! `1 <uidvalidity> <next>` / `<uid> <file>`) is read too. Unknown header and line
//! fields are kept. Read without a lock; replaced by rename under the dotlock.
//!
//! Owns: that file's format. Must not touch: message files.
use std::path::Path;

pub(crate) const FILE: &str = "dovecot-uidlist";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UidList {
    pub validity: u32,
    /// The `N` value as read or to be written (may lag: see `uid_next`).
    pub next: u32,
    pub guid: String,
    /// Header fields other than V, N and G, kept as read.
    pub extra: Vec<String>,
    /// In ascending UID order.
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub uid: u32,
    /// Extension fields (`W<vsize>`, `G<guid>`, ...) as read.
    pub ext: Vec<String>,
    /// The last known file name (flags may have changed since: match by base).
    pub file: String,
}

impl Record {
    pub(crate) fn vsize(&self) -> Option<u64> {
        self.ext.iter().find_map(|e| e.strip_prefix('W')?.parse().ok())
    }
    /// A POP3 UIDL kept for this message (`P<uidl>`, from a migration).
    pub(crate) fn pop3_uidl(&self) -> Option<&str> {
        self.ext.iter().find_map(|e| e.strip_prefix('P')).filter(|u| !u.is_empty())
    }
    pub(crate) fn set_vsize(&mut self, vsize: u64) {
        self.ext.retain(|e| !e.starts_with('W'));
        self.ext.push(format!("W{vsize}"));
    }
}

impl UidList {
    pub(crate) fn new(validity: u32) -> UidList {
        let guid: [u8; 16] = rand::random();
        let guid = guid.iter().map(|b| format!("{b:02x}")).collect();
        UidList { validity, next: 1, guid, extra: Vec::new(), records: Vec::new() }
    }

    /// The UID the next message gets: Dovecot's `N` can lag behind the last line.
    pub(crate) fn uid_next(&self) -> u32 {
        let last = self.records.iter().map(|r| r.uid).max().unwrap_or(0);
        self.next.max(last.saturating_add(1)).max(1)
    }

    /// Adds a message under the next UID and returns it.
    pub(crate) fn push(&mut self, file: String, ext: Vec<String>) -> u32 {
        let uid = self.uid_next();
        self.records.push(Record { uid, ext, file });
        self.next = uid.saturating_add(1);
        uid
    }

    /// None when the header is unusable (the folder then gets a fresh UIDVALIDITY).
    pub(crate) fn parse(text: &str) -> Option<UidList> {
        let mut lines = text.lines();
        let header = lines.next()?;
        let mut fields = header.split(' ');
        let mut list = match fields.next()? {
            "3" => {
                let mut l = UidList { validity: 0, next: 1, guid: String::new(), extra: Vec::new(), records: Vec::new() };
                for f in fields.filter(|f| !f.is_empty()) {
                    match f.split_at(1) {
                        ("V", v) => l.validity = v.parse().ok()?,
                        ("N", n) => l.next = n.parse().ok()?,
                        ("G", g) => l.guid = g.to_string(),
                        _ => l.extra.push(f.to_string()),
                    }
                }
                for line in lines {
                    if let Some(r) = parse_v3_line(line) {
                        l.records.push(r);
                    }
                }
                l
            }
            "1" => {
                let validity = fields.next()?.parse().ok()?;
                let next = fields.next()?.parse().ok()?;
                let mut l = UidList { validity, next, guid: String::new(), extra: Vec::new(), records: Vec::new() };
                for line in lines {
                    let Some((uid, file)) = line.split_once(' ') else { continue };
                    let Ok(uid) = uid.parse::<u32>() else { continue };
                    if uid > 0 && !file.is_empty() {
                        l.records.push(Record { uid, ext: Vec::new(), file: file.to_string() });
                    }
                }
                l
            }
            _ => return None,
        };
        if list.validity == 0 {
            return None;
        }
        if list.guid.is_empty() {
            list.guid = UidList::new(1).guid;
        }
        list.records.sort_by_key(|r| r.uid);
        list.records.dedup_by_key(|r| r.uid);
        Some(list)
    }

    pub(crate) fn serialize(&self) -> String {
        let mut s = format!("3 V{} N{} G{}", self.validity, self.uid_next(), self.guid);
        for e in &self.extra {
            s.push(' ');
            s.push_str(e);
        }
        s.push('\n');
        for r in &self.records {
            s.push_str(&r.uid.to_string());
            for e in &r.ext {
                s.push(' ');
                s.push_str(e);
            }
            s.push_str(" :");
            s.push_str(&r.file);
            s.push('\n');
        }
        s
    }

    /// The folder's list, None when it has none (or an unusable one).
    pub(crate) fn read(dir: &Path) -> std::io::Result<Option<UidList>> {
        match std::fs::read_to_string(dir.join(FILE)) {
            Ok(t) => Ok(UidList::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Only the UIDVALIDITY, from the header line (parsed as `parse` does).
    pub(crate) fn validity(dir: &Path) -> std::io::Result<Option<u32>> {
        use std::io::BufRead;
        let mut header = Vec::new();
        match std::fs::File::open(dir.join(FILE)) {
            Ok(f) => std::io::BufReader::with_capacity(512, f).read_until(b'\n', &mut header)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let header = String::from_utf8_lossy(&header);
        Ok(UidList::parse(header.trim_end_matches('\n')).map(|l| l.validity))
    }

    /// As `read`, for readers without the lock: None also when the file does not end
    /// with a newline (Dovecot may be appending a line under its lock right now).
    pub(crate) fn read_settled(dir: &Path) -> std::io::Result<Option<UidList>> {
        match std::fs::read_to_string(dir.join(FILE)) {
            Ok(t) if t.ends_with('\n') => Ok(UidList::parse(&t)),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds files under the next UIDs by appending lines, without rewriting the file
    /// (Dovecot does the same; its `N` then lags). The caller holds the dotlock. None when
    /// there is no settled version 3 file to append to: the caller writes a whole one.
    pub(crate) fn append_files(dir: &Path, files: &[String]) -> std::io::Result<Option<Vec<u32>>> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) if t.ends_with('\n') => t,
            Ok(_) => return Ok(None),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        let mut fields = header.split(' ');
        if fields.next() != Some("3") {
            return Ok(None);
        }
        let (mut validity, mut next) = (0u32, 1u32);
        for f in fields {
            if let Some(v) = f.strip_prefix('V') {
                validity = v.parse().unwrap_or(0);
            } else if let Some(n) = f.strip_prefix('N') {
                next = n.parse().unwrap_or(1);
            }
        }
        if validity == 0 {
            return Ok(None);
        }
        // Only the UIDs matter here: no need to parse every line fully.
        let last = lines.filter_map(|l| l.split(' ').next()?.parse::<u32>().ok()).max().unwrap_or(0);
        let mut uid = next.max(last.saturating_add(1)).max(1);
        let mut add = String::new();
        let mut uids = Vec::with_capacity(files.len());
        for f in files {
            add.push_str(&format!("{uid} :{f}\n"));
            uids.push(uid);
            uid = uid.saturating_add(1);
        }
        let mut out = std::fs::OpenOptions::new().append(true).open(&path)?;
        std::io::Write::write_all(&mut out, add.as_bytes())?;
        Ok(Some(uids))
    }

    /// Replaces the file; the caller holds the dotlock.
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<()> {
        super::lock::replace(&dir.join(FILE), self.serialize().as_bytes())
    }
}

/// `<uid> [<key><value> ...] :<file>`; None for a broken line (skipped).
fn parse_v3_line(line: &str) -> Option<Record> {
    let (uid, mut rest) = line.split_once(' ')?;
    let uid: u32 = uid.parse().ok().filter(|&u| u > 0)?;
    let mut ext = Vec::new();
    loop {
        if let Some(file) = rest.strip_prefix(':') {
            return (!file.is_empty()).then(|| Record { uid, ext, file: file.to_string() });
        }
        let (field, more) = rest.split_once(' ')?;
        if !field.is_empty() {
            ext.push(field.to_string());
        }
        rest = more;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dovecots_file_keeping_unknown_fields() {
        let text = "3 V1275660208 N3 G3085f01b7f11094c501100008c4a11c1 Xfuture\n\
                    1 :1.M1P1.h,S=10,W=11:2,S\n\
                    3 W1234 Gabc :3.M1P1.h,S=20\n\
                    garbage\n\
                    2 :2.M1P1.h,S=10\n";
        let l = UidList::parse(text).unwrap();
        assert_eq!(l.validity, 1275660208);
        assert_eq!(l.next, 3);
        // N lags behind the last line (Dovecot does this after expunges).
        assert_eq!(l.uid_next(), 4);
        assert_eq!(l.records.iter().map(|r| r.uid).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(l.records[2].vsize(), Some(1234));
        assert_eq!(l.records[2].ext, vec!["W1234", "Gabc"]);
        let out = l.serialize();
        assert!(out.starts_with("3 V1275660208 N4 G3085f01b7f11094c501100008c4a11c1 Xfuture\n"), "{out}");
        assert!(out.contains("\n3 W1234 Gabc :3.M1P1.h,S=20\n"), "{out}");
        assert_eq!(UidList::parse(&out).unwrap().records, l.records);
    }

    #[test]
    fn reads_version_1_and_rejects_bad_headers() {
        let l = UidList::parse("1 42 7\n5 a.b.c\n6 d.e.f:2,S\n").unwrap();
        assert_eq!((l.validity, l.uid_next(), l.records.len()), (42, 7, 2));
        assert_eq!(l.guid.len(), 32);
        assert!(UidList::parse("").is_none());
        assert!(UidList::parse("3 N5\n").is_none());
        assert!(UidList::parse("9 V1 N1\n").is_none());
        assert!(UidList::parse("3 Vx N1\n").is_none());
        // Without a lock, a last line still being appended is not trusted.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(FILE), "3 V5 N2 Gab\n1 :a.b.c\n2 :d.e").unwrap();
        assert!(UidList::read_settled(d.path()).unwrap().is_none());
        assert_eq!(UidList::read(d.path()).unwrap().unwrap().records.len(), 2);
    }

    #[test]
    fn appended_lines_follow_the_highest_uid_and_lagging_n() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(UidList::append_files(d.path(), &["x".into()]).unwrap(), None);
        std::fs::write(d.path().join(FILE), "3 V9 N3 Gab\n1 :a\n4 W5 :b\n").unwrap();
        assert_eq!(UidList::append_files(d.path(), &["c:2,S".into(), "d".into()]).unwrap(), Some(vec![5, 6]));
        let l = UidList::read(d.path()).unwrap().unwrap();
        assert_eq!(l.records.iter().map(|r| (r.uid, r.file.as_str())).collect::<Vec<_>>(), vec![(1, "a"), (4, "b"), (5, "c:2,S"), (6, "d")]);
        assert_eq!(l.uid_next(), 7);
        std::fs::write(d.path().join(FILE), "3 V9 N10 Gab\n").unwrap();
        assert_eq!(UidList::append_files(d.path(), &["e".into()]).unwrap(), Some(vec![10]));
    }

    #[test]
    fn push_numbers_after_the_highest_uid() {
        let mut l = UidList::new(7);
        assert_eq!(l.push("a".into(), vec![]), 1);
        assert_eq!(l.push("b".into(), vec!["W5".into()]), 2);
        l.records.retain(|r| r.uid != 2);
        // An expunged last UID is not given out again.
        assert_eq!(l.push("c".into(), vec![]), 3);
        let mut r = l.records[0].clone();
        r.set_vsize(9);
        r.set_vsize(10);
        assert_eq!(r.ext, vec!["W10"]);
    }
}
