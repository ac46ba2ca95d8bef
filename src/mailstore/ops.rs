//! Changing a folder: APPEND, flag renames, expunges and copies. Each takes the
//! `dovecot-uidlist.lock` dotlock around its renames and uidlist update, so a sync never
//! sees a file half-renamed by postern, and a UID is given once.
//!
//! Owns: message files' names and lifetimes. Must not touch: other folders' state
//! (copy writes only into its destination).
use super::keywords::Keywords;
use super::lock::Dotlock;
use super::name::{self, base};
use super::sync::{bare_lfs, sync_locked};
use super::uidlist::{self, UidList};
use super::{Error, Flags, Folder, Message, Result, changes, quota};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn lock(folder: &Folder) -> Result<Dotlock> {
    Ok(Dotlock::acquire(&folder.dir.join(uidlist::FILE))?)
}

/// Moves staged files (tmp/ → cur/ under these names) and lists them under the next
/// UIDs, in order; the caller holds the lock. Lines are appended to the uidlist (a
/// 10,000-message folder is not rewritten per APPEND); a folder without a list is synced
/// first, so the files already there are numbered before the new ones.
fn place(folder: &Folder, moves: Vec<(PathBuf, String)>) -> Result<Vec<u32>> {
    let mut list = match UidList::read(&folder.dir)? {
        Some(_) => None,
        None => Some(sync_locked(folder, true)?.0),
    };
    let mut files = Vec::with_capacity(moves.len());
    for (tmp, file) in moves {
        std::fs::rename(&tmp, folder.dir.join("cur").join(&file))?;
        files.push(file);
    }
    if list.is_none()
        && let Some(uids) = UidList::append_files(&folder.dir, &files)?
    {
        return Ok(uids);
    }
    let list = match list.as_mut() {
        Some(l) => l,
        None => list.insert(UidList::read(&folder.dir)?.ok_or_else(|| std::io::Error::other("dovecot-uidlist vanished under the lock"))?),
    };
    let uids = files.into_iter().map(|f| list.push(f, Vec::new())).collect();
    list.write(&folder.dir)?;
    Ok(uids)
}

pub(crate) fn path_of(folder: &Folder, msg: &Message) -> PathBuf {
    folder.dir.join(if msg.recent { "new" } else { "cur" }).join(&msg.file)
}

/// Where the message's file is now: where the view saw it, else found by base name
/// (another session changed its flags or moved it to cur/).
fn locate(folder: &Folder, msg: &Message) -> std::io::Result<Option<(PathBuf, String)>> {
    let p = path_of(folder, msg);
    if std::fs::symlink_metadata(&p).is_ok() {
        return Ok(Some((p, msg.file.clone())));
    }
    let b = base(&msg.file);
    // Moved out of new/ by another session's sync: the name it then gets.
    let moved = folder.dir.join("cur").join(format!("{b}:2,"));
    if msg.recent && std::fs::symlink_metadata(&moved).is_ok() {
        return Ok(Some((moved, format!("{b}:2,"))));
    }
    for sub in ["cur", "new"] {
        let entries = match std::fs::read_dir(folder.dir.join(sub)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let Ok(n) = e?.file_name().into_string() else { continue };
            if base(&n) == b {
                return Ok(Some((folder.dir.join(sub).join(&n), n)));
            }
        }
    }
    Ok(None)
}

pub(crate) fn open(folder: &Folder, msg: &Message) -> Result<std::fs::File> {
    // A rename between finding and opening: look again.
    for _ in 0..3 {
        let Some((path, _)) = locate(folder, msg)? else { return Err(Error::Expunged) };
        match std::fs::File::open(&path) {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Expunged)
}

/// Writes `data` into tmp/ (fsynced), returning the temp path, size and CRLF size.
fn write_tmp(folder: &Folder, data: &mut dyn Read, date: Option<SystemTime>) -> Result<(PathBuf, u64, u64)> {
    std::fs::create_dir_all(folder.dir.join("tmp"))?;
    let tmp = folder.dir.join("tmp").join(name::temp_name());
    let written = (|| -> std::io::Result<(u64, u64)> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut buf = vec![0u8; 64 * 1024];
        let (mut size, mut extra, mut prev) = (0u64, 0u64, 0u8);
        loop {
            let n = match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            f.write_all(&buf[..n])?;
            size += n as u64;
            extra += bare_lfs(&buf[..n], prev);
            prev = buf[n - 1];
        }
        if let Some(d) = date {
            f.set_modified(d)?;
        }
        f.sync_all()?;
        Ok((size, size + extra))
    })();
    match written {
        Ok((size, vsize)) => Ok((tmp, size, vsize)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.into())
        }
    }
}

/// Gives `flags`' keywords letters in the folder's `dovecot-keywords` (under the lock).
fn keywords_for<'a>(folder: &Folder, flags: impl IntoIterator<Item = &'a Flags>) -> Result<Keywords> {
    let mut kw = Keywords::read(&folder.dir)?;
    if kw.ensure(flags.into_iter().flat_map(|f| f.keywords.iter().cloned())) {
        kw.write(&folder.dir)?;
    }
    Ok(kw)
}

pub(crate) fn append(folder: &Folder, data: &mut dyn Read, flags: &Flags, date: Option<SystemTime>) -> Result<u32> {
    let (tmp, size, vsize) = write_tmp(folder, data, date)?;
    let stored = (|| -> Result<u32> {
        let _lock = lock(folder)?;
        let kw = keywords_for(folder, [flags])?;
        let file = name::with_flags(&name::new_base(size, vsize), flags, &kw);
        let uids = place(folder, vec![(tmp.clone(), file)])?;
        Ok(uids[0])
    })();
    if stored.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let uid = stored?;
    changes::notify(&folder.dir);
    quota::add(&folder.root, size as i64, 1);
    Ok(uid)
}

/// Applies `change` to the flags the file has now (under the lock, so a flag another
/// session set meanwhile is kept); Err(MODSEQ on disk) when it is above `unchanged_since`.
pub(crate) fn change_flags(folder: &Folder, msg: &Message, change: &dyn Fn(&mut Flags), unchanged_since: Option<u64>) -> Result<std::result::Result<Message, u64>> {
    let (file, kw, modseq) = {
        let _lock = lock(folder)?;
        let Some((path, current)) = locate(folder, msg)? else { return Err(Error::Expunged) };
        if let Some(since) = unchanged_since {
            let now = std::fs::metadata(&path).map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { Error::Expunged } else { e.into() })?;
            let modseq = super::modseq::of(&now);
            if modseq > since {
                return Ok(Err(modseq));
            }
        }
        let mut kw = Keywords::read(&folder.dir)?;
        let mut flags = name::flags(&current, &kw);
        change(&mut flags);
        if kw.ensure(flags.keywords.iter().cloned()) {
            kw.write(&folder.dir)?;
        }
        let file = name::with_flags(&current, &flags, &kw);
        let to = folder.dir.join("cur").join(&file);
        if to != path {
            std::fs::rename(&path, &to).map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { Error::Expunged } else { e.into() })?;
        }
        let modseq = if to != path { super::modseq::after_change(&to, msg.modseq) } else { msg.modseq };
        (file, kw, modseq)
    };
    changes::notify(&folder.dir);
    let flags = name::flags(&file, &kw);
    Ok(Ok(Message { file, recent: false, flags, modseq, ..msg.clone() }))
}

pub(crate) fn expunge(folder: &Folder, msgs: &[Message]) -> Result<()> {
    if msgs.is_empty() {
        return Ok(());
    }
    let (mut bytes, mut count) = (0i64, 0i64);
    {
        let _lock = lock(folder)?;
        let mut gone: HashMap<u32, &str> = HashMap::new();
        for m in msgs {
            gone.insert(m.uid, base(&m.file));
            while let Some((path, _)) = locate(folder, m)? {
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        bytes += m.size as i64;
                        count += 1;
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if let Some(mut list) = UidList::read(&folder.dir)? {
            list.next = list.uid_next();
            list.records.retain(|r| gone.get(&r.uid) != Some(&base(&r.file)));
            list.write(&folder.dir)?;
        }
    }
    changes::notify(&folder.dir);
    quota::add(&folder.root, -bytes, -count);
    Ok(())
}

/// Links (or copies) a message into `dest`'s tmp/.
fn stage_copy(folder: &Folder, msg: &Message, dest: &Folder) -> Result<PathBuf> {
    std::fs::create_dir_all(dest.dir.join("tmp"))?;
    let tmp = dest.dir.join("tmp").join(name::temp_name());
    for _ in 0..3 {
        let Some((src, _)) = locate(folder, msg)? else { return Err(Error::Expunged) };
        match std::fs::hard_link(&src, &tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !src.exists() => continue,
            Err(_) => return copy_file(&src, &tmp).map(|()| tmp),
        }
    }
    Err(Error::Expunged)
}

/// A real copy where links are impossible (another file system), same mtime.
fn copy_file(src: &Path, tmp: &Path) -> Result<()> {
    let done = (|| -> std::io::Result<()> {
        let mtime = std::fs::metadata(src)?.modified()?;
        std::fs::copy(src, tmp)?;
        let f = std::fs::OpenOptions::new().write(true).open(tmp)?;
        f.set_modified(mtime)?;
        f.sync_all()
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    Ok(done?)
}

pub(crate) fn copy(folder: &Folder, msgs: &[Message], dest: &Folder) -> Result<Vec<u32>> {
    let mut staged = Vec::with_capacity(msgs.len());
    for m in msgs {
        match stage_copy(folder, m, dest) {
            Ok(tmp) => staged.push((tmp, m)),
            Err(e) => {
                staged.iter().for_each(|(t, _)| drop(std::fs::remove_file(t)));
                return Err(e);
            }
        }
    }
    let placed = (|| -> Result<Vec<u32>> {
        let _lock = lock(dest)?;
        let kw = keywords_for(dest, msgs.iter().map(|m| &m.flags))?;
        let moves = staged.iter().map(|(tmp, m)| (tmp.clone(), name::with_flags(&name::new_base(m.size, m.vsize), &m.flags, &kw))).collect();
        place(dest, moves)
    })();
    staged.iter().for_each(|(t, _)| drop(std::fs::remove_file(t)));
    let uids = placed?;
    changes::notify(&dest.dir);
    quota::add(&dest.root, msgs.iter().map(|m| m.size as i64).sum(), msgs.len() as i64);
    Ok(uids)
}
