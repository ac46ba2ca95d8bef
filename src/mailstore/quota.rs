//! `maildirsize` (Maildir++ quota): a first line with the quota definition
//! (`<bytes>S,<count>C`, `0S` for none), then `<bytes> <count>` lines whose sums are the
//! usage. Changes append a delta line (O_APPEND, no lock: delivery stays lock-free); a
//! missing, broken or grown (over 5120 bytes) file is recomputed from the folders and
//! replaced by rename, as the Maildir++ spec says.
//!
//! Owns: that file. Must not touch: message files (it only reads their names and sizes).
use super::Usage;
use std::io::Write;
use std::path::Path;

pub(crate) const FILE: &str = "maildirsize";
/// The spec's limit: past this the file is rewritten.
const MAX_LEN: u64 = 5120;

/// Adds a delta line when `root/maildirsize` exists (one created later is computed from
/// the folders, so nothing is lost by skipping it now).
pub(crate) fn add(root: &Path, bytes: i64, count: i64) {
    if bytes == 0 && count == 0 {
        return;
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(root.join(FILE)) {
        let _ = f.write_all(format!("{bytes} {count}\n").as_bytes());
    }
}

/// The sums of a `maildirsize` text and its definition line; None when broken.
pub(crate) fn parse(text: &str) -> Option<(String, Usage)> {
    let mut lines = text.split_terminator('\n');
    let definition = lines.next()?.to_string();
    let (mut bytes, mut count) = (0i64, 0i64);
    for line in lines {
        let mut f = line.split_whitespace();
        let b: i64 = f.next()?.parse().ok()?;
        let c: i64 = f.next().map_or(Some(0), |c| c.parse().ok())?;
        bytes = bytes.saturating_add(b);
        count = count.saturating_add(c);
    }
    Some((definition, Usage { bytes: bytes.max(0) as u64, messages: count.max(0) as u64 }))
}

/// Usage of the store at `root`, from `maildirsize`, recomputed when needed.
pub(crate) fn usage(root: &Path) -> std::io::Result<Usage> {
    let path = root.join(FILE);
    let mut definition = "0S".to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => match parse(&text) {
            Some((_, u)) if text.len() as u64 <= MAX_LEN => return Ok(u),
            Some((d, _)) => definition = d,
            None => {}
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let u = count(root)?;
    super::lock::replace(&path, format!("{definition}\n{} {}\n", u.bytes, u.messages).as_bytes())?;
    Ok(u)
}

/// Bytes and messages in new/ and cur/ of INBOX and every folder.
fn count(root: &Path) -> std::io::Result<Usage> {
    let mut dirs = vec![root.to_path_buf()];
    for e in std::fs::read_dir(root)?.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with('.') && !n.starts_with("..") && n.len() > 1 && e.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(e.path());
        }
    }
    let mut u = Usage::default();
    for d in dirs {
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(d.join(sub)) else { continue };
            for e in entries.flatten() {
                let n = e.file_name();
                let n = n.to_string_lossy();
                if n.starts_with('.') {
                    continue;
                }
                let size = super::name::size_field(&n).or_else(|| e.metadata().ok().map(|m| m.len()));
                u.bytes += size.unwrap_or(0);
                u.messages += 1;
            }
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_deltas_and_rejects_broken_files() {
        let (d, u) = parse("1000000S,1000C\n2000 3\n-500 -1\n40 1\n").unwrap();
        assert_eq!(d, "1000000S,1000C");
        assert_eq!(u, Usage { bytes: 1540, messages: 3 });
        assert_eq!(parse("0S\n").unwrap().1, Usage::default());
        assert!(parse("0S\nabc 1\n").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn recomputes_when_missing_or_grown_and_appends_deltas() {
        let d = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", ".Sent/cur", ".Sent/new"] {
            std::fs::create_dir_all(d.path().join(sub)).unwrap();
        }
        std::fs::write(d.path().join("new/1.M1P1.h,S=100"), b"x").unwrap();
        std::fs::write(d.path().join(".Sent/cur/2.M1P1.h:2,S"), b"12345").unwrap();
        add(d.path(), 10, 1); // no file yet: nothing written
        assert!(!d.path().join(FILE).exists());
        assert_eq!(usage(d.path()).unwrap(), Usage { bytes: 105, messages: 2 });
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), "0S\n105 2\n");
        add(d.path(), 10, 1);
        add(d.path(), -5, -1);
        assert_eq!(usage(d.path()).unwrap(), Usage { bytes: 110, messages: 2 });
        // Grown past 5120 bytes: recomputed from the files, definition kept.
        let mut text = "5000S\n".to_string();
        while text.len() <= 5120 {
            text.push_str("1 1\n");
        }
        std::fs::write(d.path().join(FILE), text).unwrap();
        assert_eq!(usage(d.path()).unwrap(), Usage { bytes: 105, messages: 2 });
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), "5000S\n105 2\n");
    }
}
