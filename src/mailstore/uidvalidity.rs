//! UIDVALIDITY for new folders, as Dovecot hands it out: `dovecot-uidvalidity` in the
//! Maildir root holds the last value (8 hex digits) and an empty marker file
//! `dovecot-uidvalidity.<hex>` is renamed to the next value, so two processes never take
//! the same one (the rename of the old marker fails for the loser, which tries the next).
//!
//! Owns: those two files. Must not touch: folders.
use std::path::Path;

const FILE: &str = "dovecot-uidvalidity";
const RETRIES: u32 = 10;

fn now() -> u32 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX).max(1)
}

fn marker(root: &Path, v: u32) -> std::path::PathBuf {
    root.join(format!("{FILE}.{v:08x}"))
}

/// The next UIDVALIDITY of the store at `root`.
pub(crate) fn next(root: &Path) -> u32 {
    let cur = std::fs::read_to_string(root.join(FILE)).ok().and_then(|t| u32::from_str_radix(t.trim(), 16).ok()).filter(|&v| v > 0);
    let value = match cur.and_then(|c| rename_marker(root, c)) {
        Some(v) => v,
        None => rescan(root),
    };
    let _ = std::fs::write(root.join(FILE), format!("{value:08x}"));
    value
}

/// Renames marker `cur` to `cur + 1` (or later, when others raced ahead).
fn rename_marker(root: &Path, mut cur: u32) -> Option<u32> {
    for _ in 0..RETRIES {
        let next = cur.wrapping_add(1).max(1);
        match std::fs::rename(marker(root, cur), marker(root, next)) {
            Ok(()) => return Some(next),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => cur = next,
            Err(_) => return None,
        }
    }
    None
}

/// No usable value file: start from the highest marker, or create one from the clock.
fn rescan(root: &Path) -> u32 {
    let prefix = format!("{FILE}.");
    let mut values: Vec<u32> = std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .filter_map(|e| u32::from_str_radix(e.file_name().to_str()?.strip_prefix(&prefix)?, 16).ok())
                .collect()
        })
        .unwrap_or_default();
    values.sort_unstable();
    let Some(&max) = values.last() else {
        let mut v = now();
        for _ in 0..RETRIES {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(marker(root, v)) {
                Ok(_) => return v,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => v = v.wrapping_add(1).max(1),
                Err(_) => return v,
            }
        }
        return v;
    };
    if values[0] != max {
        let _ = std::fs::remove_file(marker(root, values[0]));
    }
    rename_marker(root, max).unwrap_or_else(|| now().max(max.wrapping_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_increase_and_files_follow_dovecots_layout() {
        let d = tempfile::tempdir().unwrap();
        let a = next(d.path());
        let b = next(d.path());
        assert!(a >= now() - 5);
        assert_eq!(b, a + 1);
        assert_eq!(std::fs::read_to_string(d.path().join(FILE)).unwrap(), format!("{b:08x}"));
        assert!(marker(d.path(), b).exists());
        assert!(!marker(d.path(), a).exists());
        // A value file Dovecot wrote, with its marker.
        std::fs::write(d.path().join(FILE), "6b1151c5").unwrap();
        std::fs::rename(marker(d.path(), b), marker(d.path(), 0x6b1151c5)).unwrap();
        assert_eq!(next(d.path()), 0x6b1151c6);
        // A lost value file: the marker still says where to go on.
        std::fs::remove_file(d.path().join(FILE)).unwrap();
        assert_eq!(next(d.path()), 0x6b1151c7);
    }
}
