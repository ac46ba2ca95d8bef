//! Wakes the sessions watching a Maildir (IDLE) after postern changed it (delivery,
//! APPEND, flags); changes made by other programs are found by polling `Folder::stamp`.
//!
//! A process-wide registry of watch channels by directory, pruned of channels nobody
//! listens to; tokio's sync types need no runtime, so blocking code may notify.
//!
//! Owns: the registry. Must not touch: the files.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use tokio::sync::watch;

static WATCHERS: LazyLock<Mutex<HashMap<PathBuf, watch::Sender<u64>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Tells watchers of the Maildir `dir` (a folder's directory) that it changed.
pub fn notify(dir: &Path) {
    super::snapshot::invalidate(dir);
    let mut map = WATCHERS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(tx) = map.get(dir) else { return };
    if tx.receiver_count() == 0 {
        map.remove(dir);
    } else {
        tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A receiver that changes each time `notify(dir)` is called.
pub fn subscribe(dir: &Path) -> watch::Receiver<u64> {
    let mut map = WATCHERS.lock().unwrap_or_else(|e| e.into_inner());
    // Keep the map as small as the set of watched folders.
    if map.len() >= 64 && map.len().is_power_of_two() {
        map.retain(|_, tx| tx.receiver_count() > 0);
    }
    map.entry(dir.to_path_buf()).or_insert_with(|| watch::channel(0).0).subscribe()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_subscribers_of_that_dir_only() {
        let a = Path::new("/nonexistent/changes-test/a");
        let b = Path::new("/nonexistent/changes-test/b");
        let mut ra = subscribe(a);
        let rb = subscribe(b);
        notify(a);
        assert!(ra.has_changed().unwrap());
        assert!(!rb.has_changed().unwrap());
        ra.mark_unchanged();
        // Same directory written with a trailing slash.
        notify(Path::new("/nonexistent/changes-test/a/"));
        assert!(ra.has_changed().unwrap());
        drop((ra, rb));
        notify(a);
        assert!(!WATCHERS.lock().unwrap().contains_key(a));
    }
}
