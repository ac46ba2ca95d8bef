//! Bytes stored in a Maildir, counted from file names (the `,S=` size) or the files.
//!
//! Owns: Maildir layout facts (the `,S=` size in file names, new/ and cur/). Must not
//! touch: the directory (callers pass the Maildir path), the queue, the network.
use std::path::Path;

/// Bytes stored in a Maildir (new/ and cur/), from the `,S=` sizes in file names where
/// present, else from the files themselves. A missing Maildir holds 0 bytes.
pub fn usage(dir: &Path) -> u64 {
    let mut total = 0u64;
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let base = name.split(':').next().unwrap_or_default();
            let size = base
                .split(',')
                .find_map(|f| f.strip_prefix("S=").and_then(|n| n.parse::<u64>().ok()))
                .or_else(|| e.metadata().ok().map(|m| m.len()));
            total = total.saturating_add(size.unwrap_or(0));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_sizes_from_names_and_files() {
        let d = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(d.path().join(sub)).unwrap();
        }
        std::fs::write(d.path().join("new/1.M1P1Q1.h,S=100"), b"x").unwrap();
        std::fs::write(d.path().join("cur/2.M1P1Q2.h,S=50:2,S"), b"x").unwrap();
        std::fs::write(d.path().join("cur/3.other"), b"12345").unwrap();
        std::fs::write(d.path().join("tmp/4.M1P1Q4.h,S=999"), b"x").unwrap();
        assert_eq!(usage(d.path()), 155);
        assert_eq!(usage(&d.path().join("missing")), 0);
    }
}
