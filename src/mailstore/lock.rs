//! Dovecot's dotlock (`<file>.lock`, created with O_EXCL, holding `<pid>:<host>`; stale
//! after two minutes untouched, or at once when its local process is gone) and atomic
//! replacement of small state files (temp file + rename).
//!
//! Owns: lock files and temp files of state files. Must not touch: message files.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT.
const STALE: Duration = Duration::from_secs(120);
/// How long to wait for a lock: long enough for a stale one to expire.
const WAIT: Duration = Duration::from_secs(130);

/// A held dotlock; dropping it removes the lock file.
#[derive(Debug)]
pub(crate) struct Dotlock {
    path: PathBuf,
}

impl Dotlock {
    /// Locks `target` (e.g. `dir/dovecot-uidlist`) by creating `target.lock`.
    pub(crate) fn acquire(target: &Path) -> std::io::Result<Dotlock> {
        let mut path = target.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}:{}", std::process::id(), super::name::hostname());
                    return Ok(Dotlock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            if is_stale(&path) {
                remove_stale(&path);
                continue;
            }
            if start.elapsed() > WAIT {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("timed out waiting for {}", path.display())));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for Dotlock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn is_stale(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok()).unwrap_or_default();
    if age > STALE {
        return true;
    }
    // A lock of a process of this host that is gone (crashed) need not wait two minutes;
    // a fresh lock may still be empty (its writer is between create and write).
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Some((pid, host)) = text.trim().split_once(':') else { return false };
    let Ok(pid) = pid.parse::<i32>() else { return false };
    // SAFETY: kill with signal 0 only checks whether the process exists.
    host == super::name::hostname() && pid > 0 && unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Moves the stale lock aside before deleting it, so that two processes breaking it at
/// once do not delete a fresh lock the other one just took.
fn remove_stale(path: &Path) {
    let aside = temp_path(path);
    if std::fs::rename(path, &aside).is_ok() {
        let _ = std::fs::remove_file(&aside);
    }
}

fn temp_path(target: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut p = target.as_os_str().to_owned();
    p.push(format!(".{}.{}.tmp", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    PathBuf::from(p)
}

/// Replaces `target` with `data` atomically (readers see the old or the new file).
pub(crate) fn replace(target: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(target);
    let written = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, target));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("dovecot-uidlist");
        let l = Dotlock::acquire(&target).unwrap();
        let text = std::fs::read_to_string(d.path().join("dovecot-uidlist.lock")).unwrap();
        assert_eq!(text, format!("{}:{}", std::process::id(), super::super::name::hostname()));
        let t2 = target.clone();
        let waiter = std::thread::spawn(move || {
            let start = Instant::now();
            let _l = Dotlock::acquire(&t2).unwrap();
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(l);
        assert!(waiter.join().unwrap() >= Duration::from_millis(90));
        assert!(!d.path().join("dovecot-uidlist.lock").exists());
    }

    #[test]
    fn locks_of_dead_processes_are_broken() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("dovecot-uidlist");
        // A pid above the kernel's maximum cannot be running.
        std::fs::write(d.path().join("dovecot-uidlist.lock"), format!("99999999:{}", super::super::name::hostname())).unwrap();
        let start = Instant::now();
        let _l = Dotlock::acquire(&target).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn replace_swaps_contents() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("state");
        replace(&f, b"one").unwrap();
        replace(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
