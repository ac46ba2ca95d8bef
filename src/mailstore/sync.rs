//! Reading a folder: new/ and cur/ matched with `dovecot-uidlist` by base name, new
//! files numbered (in delivery-time order) and moved to cur/, vanished ones dropped,
//! virtual sizes counted once and recorded — all changes under the dotlock; a sync that
//! finds nothing to change takes no lock.
//!
//! Owns: the scan and the view. Must not touch: flags of messages (ops.rs renames).
use super::keywords::Keywords;
use super::lock::Dotlock;
use super::name::{self, base};
use super::uidlist::{self, UidList};
use super::{Folder, Message, Result, Stamp, View, uidvalidity};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// A message file found on disk.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub name: String,
    pub in_new: bool,
}

/// Files by base name.
pub(crate) type Files = HashMap<String, Found>;

/// Lists new/ then cur/ (in that order: a file moved from new/ to cur/ meanwhile is seen
/// at least once); a base in both counts as the cur/ one. Dot files are not messages.
pub(crate) fn scan(dir: &Path) -> std::io::Result<Files> {
    let mut files = Files::new();
    for (sub, in_new) in [("new", true), ("cur", false)] {
        let entries = match std::fs::read_dir(dir.join(sub)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let Ok(name) = e?.file_name().into_string() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let b = base(&name).to_string();
            match files.get(&b) {
                Some(f) if !f.in_new => {}
                _ => {
                    files.insert(b, Found { name, in_new });
                }
            }
        }
    }
    Ok(files)
}

pub(crate) fn sync(folder: &Folder, read_only: bool) -> Result<View> {
    if let Some(list) = UidList::read_settled(&folder.dir)? {
        let files = scan(&folder.dir)?;
        if !needs_lock(&list, &files, read_only) {
            let kw = Keywords::read(&folder.dir)?;
            return Ok(view(folder, &list, &files, &kw));
        }
    }
    let _lock = Dotlock::acquire(&folder.dir.join(uidlist::FILE))?;
    let (list, files) = sync_locked(folder, read_only)?;
    let kw = Keywords::read(&folder.dir)?;
    Ok(view(folder, &list, &files, &kw))
}

/// Whether the uidlist must change: unnumbered files, files to move out of new/, sizes
/// to record.
fn needs_lock(list: &UidList, files: &Files, read_only: bool) -> bool {
    let mut listed = HashSet::with_capacity(list.records.len());
    for r in &list.records {
        let b = base(&r.file);
        listed.insert(b);
        if let Some(f) = files.get(b)
            && r.vsize().is_none()
            && name::vsize_field(&f.name).is_none()
        {
            return true;
        }
    }
    files.iter().any(|(b, f)| !listed.contains(b.as_str()) || (!read_only && f.in_new))
}

/// The sync proper; the caller holds the dotlock. Returns the list as written.
pub(crate) fn sync_locked(folder: &Folder, read_only: bool) -> Result<(UidList, Files)> {
    let dir = &folder.dir;
    let read = UidList::read(dir)?;
    let mut list = read.clone().unwrap_or_else(|| UidList::new(uidvalidity::next(&folder.root)));
    // Never hand out a UID again, even when the last lines go.
    list.next = list.uid_next();
    let mut files = scan(dir)?;
    if !read_only && move_new(dir, &files)? {
        files = scan(dir)?;
    }
    // readdir may miss a file another program renames meanwhile: look twice before
    // dropping a line.
    if list.records.iter().any(|r| !files.contains_key(base(&r.file))) {
        for (b, f) in scan(dir)? {
            files.entry(b).or_insert(f);
        }
    }
    let mut listed = HashSet::new();
    list.records.retain(|r| files.contains_key(base(&r.file)) && listed.insert(base(&r.file).to_string()));
    let mut new: Vec<&Found> = files.iter().filter(|(b, _)| !listed.contains(*b)).map(|(_, f)| f).collect();
    new.sort_by(|a, b| name::time_key(&a.name).cmp(&name::time_key(&b.name)).then_with(|| a.name.cmp(&b.name)));
    for f in new {
        list.push(f.name.clone(), Vec::new());
    }
    for r in &mut list.records {
        let f = &files[base(&r.file)];
        r.file.clone_from(&f.name);
        if r.vsize().is_none() && name::vsize_field(&f.name).is_none() {
            let path = dir.join(if f.in_new { "new" } else { "cur" }).join(&f.name);
            if let Ok(v) = count_vsize(&path) {
                r.set_vsize(v);
            }
        }
    }
    if read.as_ref() != Some(&list) {
        list.write(dir)?;
    }
    Ok((list, files))
}

/// new/X → cur/X:2, (Dovecot does this on SELECT); true when something moved.
fn move_new(dir: &Path, files: &Files) -> std::io::Result<bool> {
    let mut moved = false;
    for f in files.values().filter(|f| f.in_new) {
        let to = format!("{}:2,", base(&f.name));
        match std::fs::rename(dir.join("new").join(&f.name), dir.join("cur").join(to)) {
            Ok(()) => moved = true,
            // Moved by someone else: the rescan finds it in cur/.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => moved = true,
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

fn view(folder: &Folder, list: &UidList, files: &Files, kw: &Keywords) -> View {
    let mut messages = Vec::with_capacity(list.records.len());
    for r in &list.records {
        let Some(f) = files.get(base(&r.file)) else { continue };
        let path = folder.dir.join(if f.in_new { "new" } else { "cur" }).join(&f.name);
        // Gone since the scan (expunged): the next sync drops it.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let size = name::size_field(&f.name).unwrap_or(meta.len());
        let vsize = name::vsize_field(&f.name).or_else(|| r.vsize()).or_else(|| count_vsize(&path).ok()).unwrap_or(size);
        messages.push(Message {
            uid: r.uid,
            file: f.name.clone(),
            recent: f.in_new,
            size,
            vsize,
            internal_date: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            flags: name::flags(&f.name, kw),
            modseq: super::modseq::of(&meta),
        });
    }
    let highest_modseq = super::modseq::highest(&folder.dir, &messages);
    View { uid_validity: list.validity, uid_next: list.uid_next(), messages, keywords: kw.list(), highest_modseq }
}

/// Bytes with every bare LF counted as CRLF (IMAP RFC822.SIZE, POP3 sizes).
pub(crate) fn count_vsize(path: &Path) -> std::io::Result<u64> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut prev) = (0u64, 0u8);
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64 + bare_lfs(&buf[..n], prev);
        prev = buf[n - 1];
    }
}

/// LFs in `chunk` not preceded by CR (`prev` is the byte before the chunk).
pub(crate) fn bare_lfs(chunk: &[u8], prev: u8) -> u64 {
    memchr::memchr_iter(b'\n', chunk).filter(|&i| if i == 0 { prev != b'\r' } else { chunk[i - 1] != b'\r' }).count() as u64
}

pub(crate) fn stamp(folder: &Folder) -> Result<Stamp> {
    let t = |p: &Path| -> i128 {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128)
    };
    Ok(Stamp([t(&folder.dir.join("new")), t(&folder.dir.join("cur")), t(&folder.dir.join(uidlist::FILE))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vsize_counts_bare_lfs_across_chunks() {
        assert_eq!(bare_lfs(b"a\nb\r\nc\n", 0), 2);
        assert_eq!(bare_lfs(b"\nx", b'\r'), 0);
        assert_eq!(bare_lfs(b"\nx", b'x'), 1);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m");
        let mut data = vec![b'x'; 64 * 1024 - 1];
        data.extend_from_slice(b"\r\nline\nend\r\n");
        std::fs::write(&p, &data).unwrap();
        assert_eq!(count_vsize(&p).unwrap(), data.len() as u64 + 1);
    }
}
