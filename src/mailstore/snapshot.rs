//! One shared, immutable view per folder: every IMAP session that selects a folder, and
//! every STATUS of it, gets the same `Arc<View>` while the folder is unchanged, so 10,000
//! sessions on a 10,000-message INBOX hold one copy of its message list (not 10,000), and
//! a SELECT of an unchanged folder reads three timestamps instead of statting every file.
//!
//! A cached view is reused when the folder's `Stamp` (mtimes of new/, cur/ and the
//! uidlist) is what it was when the view was read, and postern has not changed the
//! folder since (`invalidate`, called by `changes::notify`). mtimes come from a coarse
//! clock, so a change by another program in the same tick as the stamp would not move
//! it: a view read less than `SETTLE` after the folder's last mtime is trusted only for
//! `SETTLE`, then read again — at most one sync per folder per `SETTLE` while it is busy,
//! and a change is seen within `SETTLE` (Dovecot's maildir code has the same rule).
//!
//! Syncs of one folder are serialised: the sessions that arrive while one runs wait for
//! it and share its result, instead of each scanning the folder.
//!
//! The last stamp read of a folder is kept too (`polled`): sessions in IDLE that poll the
//! same folder within `SHARE_POLL` of each other use it instead of each reading the
//! timestamps again (10,000 sessions polling every few seconds would otherwise stat the
//! folder thousands of times a second). postern's own changes wake IDLE directly.
//!
//! Owns: the cache (weak references: a folder nobody has selected costs nothing).
//! Must not touch: the files (`sync` does).
use super::{Folder, Result, Stamp, View};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long after a folder's last change its stamp is not trusted on its own.
const SETTLE: Duration = Duration::from_secs(1);
/// How long a stamp read by one session serves the others' polls.
const SHARE_POLL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Entry {
    stamp: Stamp,
    /// When the view was read (ns since the epoch).
    read_at: i128,
    view: Weak<View>,
    /// Bumped by `invalidate`: a sync that started before it does not cache its result.
    generation: u64,
    /// Serialises syncs of this folder.
    syncing: Arc<Mutex<()>>,
    /// The last stamp read, and when.
    polled: Option<(Instant, Stamp)>,
}

static CACHE: LazyLock<Mutex<HashMap<PathBuf, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn cache() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Entry>> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

fn nanos(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// The folder's current view, shared with every other caller while it is unchanged.
/// `read_only` as for `Folder::sync`: a read-write caller never gets a view that still
/// has messages in new/ (its sync moves them to cur/).
pub(crate) fn view(folder: &Folder, read_only: bool) -> Result<Arc<View>> {
    let syncing = {
        let mut map = cache();
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, e| e.view.strong_count() > 0 || Arc::strong_count(&e.syncing) > 1);
        }
        map.entry(folder.dir.clone()).or_default().syncing.clone()
    };
    let _one_at_a_time = syncing.lock().unwrap_or_else(|e| e.into_inner());
    let stamp = folder.stamp()?;
    let now = nanos(SystemTime::now());
    let generation = {
        let map = cache();
        let e = map.get(&folder.dir);
        if let Some(e) = e
            && e.stamp == stamp
            && let Some(v) = e.view.upgrade()
            && (read_only || !v.messages.iter().any(|m| m.recent))
            && trusted(&stamp, e.read_at, now)
        {
            return Ok(v);
        }
        e.map_or(0, |e| e.generation)
    };
    let view = Arc::new(folder.sync(read_only)?);
    let mut map = cache();
    let e = map.entry(folder.dir.clone()).or_default();
    if e.generation == generation {
        e.stamp = stamp;
        e.read_at = now;
        e.view = Arc::downgrade(&view);
    }
    Ok(view)
}

/// Whether the folder's last change is more than `SETTLE` old: a view read now cannot
/// miss a change made in the same clock tick as it.
pub(crate) fn settled(stamp: &Stamp) -> bool {
    let last_change = stamp.0.iter().copied().max().unwrap_or(0);
    nanos(SystemTime::now()) >= last_change + SETTLE.as_nanos() as i128
}

/// Whether a view read at `read_at` with this stamp still stands at `now` (see SETTLE).
fn trusted(stamp: &Stamp, read_at: i128, now: i128) -> bool {
    let settle = SETTLE.as_nanos() as i128;
    let last_change = stamp.0.iter().copied().max().unwrap_or(0);
    read_at >= last_change + settle || now < read_at + settle
}

/// Forgets the cached view of the folder at `dir`: postern just changed it.
pub(crate) fn invalidate(dir: &Path) {
    if let Some(e) = cache().get_mut(dir) {
        e.generation += 1;
        e.view = Weak::new();
        e.polled = None;
    }
}

/// The folder's stamp as read less than `SHARE_POLL` ago by anyone, without I/O.
pub(crate) fn recent_stamp(dir: &Path) -> Option<Stamp> {
    let map = cache();
    let (at, stamp) = map.get(dir)?.polled?;
    (at.elapsed() < SHARE_POLL).then_some(stamp)
}

/// Records a stamp just read (for folders some session has a view of).
pub(crate) fn polled(dir: &Path, stamp: Stamp) {
    if let Some(e) = cache().get_mut(dir) {
        e.polled = Some((Instant::now(), stamp));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_trusted_once_settled_or_briefly_after_reading() {
        let s = SETTLE.as_nanos() as i128;
        let stamp = Stamp([100, 50, 0]);
        assert!(trusted(&stamp, 100 + s, 100 + 5 * s), "read a second after the last change");
        assert!(trusted(&stamp, 100, 100 + s / 2), "read just now");
        assert!(!trusted(&stamp, 100, 100 + s), "read in the change's tick, a second ago");
    }
}
