//! Maildir++ folders: INBOX is the root Maildir, folder `A.b` is the directory `.A.b`
//! beside it (with a `maildirfolder` marker, as Dovecot and Courier create it). Names are
//! IMAP names as stored (modified UTF-7), levels separated by `.`.
//!
//! Owns: folder directories. Must not touch: messages inside them (except moving INBOX's
//! on RENAME INBOX).
use super::keywords;
use super::lock::Dotlock;
use super::uidlist::{self, UidList};
use super::{Error, Folder, FolderInfo, Result, SEPARATOR, SPECIAL_USE, Store, subscriptions};
use std::path::{Path, PathBuf};

const MARKER: &str = "maildirfolder";
/// Bytes of a folder name: directory names are at most 255 bytes.
const MAX_NAME: usize = 200;

pub(crate) fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}

/// A name that maps onto a directory: no `/`, no empty level, no dot files, no controls.
fn check_path_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.contains('/')
        && name.split(SEPARATOR).all(|level| !level.is_empty())
        && !name.chars().any(|c| c.is_control());
    if ok { Ok(()) } else { Err(Error::BadName) }
}

/// A name fit to create: also none of IMAP's wildcards.
fn check_new_name(name: &str) -> Result<()> {
    check_path_name(name)?;
    if name.contains(['*', '%']) {
        return Err(Error::BadName);
    }
    Ok(())
}

pub(crate) fn dir_of(root: &Path, name: &str) -> PathBuf {
    if is_inbox(name) { root.to_path_buf() } else { root.join(format!("{SEPARATOR}{name}")) }
}

/// Creates tmp/ new/ cur/ (and the folder marker for a folder).
fn make_maildir(dir: &Path, folder: bool) -> std::io::Result<()> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    if folder {
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join(MARKER))?;
    }
    Ok(())
}

pub(crate) fn open(root: &Path) -> Result<Store> {
    make_maildir(root, false)?;
    Ok(Store { root: root.to_path_buf() })
}

/// Folder names on disk (not INBOX), sorted.
fn names(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root)? {
        let e = e?;
        let Ok(n) = e.file_name().into_string() else { continue };
        let Some(name) = n.strip_prefix(SEPARATOR) else { continue };
        // `..x` are postern's own temporary names (folders being deleted).
        if name.is_empty() || name.starts_with(SEPARATOR) || !e.file_type()?.is_dir() {
            continue;
        }
        out.push(name.to_string());
    }
    out.sort();
    Ok(out)
}

fn special_use(name: &str) -> Option<&'static str> {
    SPECIAL_USE.iter().chain(&[("Archive", "\\Archive")]).find(|(n, _)| *n == name).map(|(_, a)| *a)
}

pub(crate) fn list(store: &Store) -> Result<Vec<FolderInfo>> {
    let names = names(&store.root)?;
    let subs = subscriptions::read(&store.root)?;
    let subscribed = |n: &str| subs.iter().any(|s| s == n || (is_inbox(n) && is_inbox(s)));
    let children = |n: &str| names.iter().any(|c| c.len() > n.len() + 1 && c.starts_with(n) && c[n.len()..].starts_with(SEPARATOR));
    let mut out = vec![FolderInfo { name: "INBOX".into(), special_use: None, has_children: children("INBOX"), subscribed: subscribed("INBOX") }];
    for n in &names {
        out.push(FolderInfo { name: n.clone(), special_use: special_use(n), has_children: children(n), subscribed: subscribed(n) });
    }
    Ok(out)
}

pub(crate) fn implied_parents(store: &Store) -> Result<Vec<String>> {
    let names = names(&store.root)?;
    let mut out: Vec<String> = Vec::new();
    for n in &names {
        let mut end = 0;
        while let Some(i) = n[end..].find(SEPARATOR) {
            end += i;
            let parent = &n[..end];
            if !is_inbox(parent) && names.binary_search_by(|x| x.as_str().cmp(parent)).is_err() && !out.iter().any(|o| o == parent) {
                out.push(parent.to_string());
            }
            end += 1;
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn create(store: &Store, name: &str) -> Result<()> {
    if is_inbox(name) {
        return Err(Error::Exists);
    }
    check_new_name(name)?;
    let dir = dir_of(&store.root, name);
    if dir.exists() {
        return Err(Error::Exists);
    }
    // Parents first, so that LIST shows them (Maildir++ has no place for \Noselect).
    let levels: Vec<&str> = name.split(SEPARATOR).collect();
    for i in 1..levels.len() {
        let parent = levels[..i].join(&SEPARATOR.to_string());
        if !is_inbox(&parent) {
            make_maildir(&dir_of(&store.root, &parent), true)?;
        }
    }
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(Error::Exists),
        Err(e) => return Err(e.into()),
    }
    make_maildir(&dir, true)?;
    Ok(())
}

pub(crate) fn folder(store: &Store, name: &str) -> Result<Folder> {
    if is_inbox(name) {
        return Ok(Folder { name: "INBOX".into(), dir: store.root.clone(), root: store.root.clone() });
    }
    check_path_name(name).map_err(|_| Error::NoSuchFolder)?;
    let dir = dir_of(&store.root, name);
    if !dir.is_dir() {
        return Err(Error::NoSuchFolder);
    }
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    Ok(Folder { name: name.to_string(), dir, root: store.root.clone() })
}

/// A name for a directory on its way out (not listed: it starts with `..`).
fn doomed(root: &Path) -> PathBuf {
    let n: u64 = rand::random();
    root.join(format!("..deleted.{}.{n:x}", std::process::id()))
}

pub(crate) fn delete(store: &Store, name: &str) -> Result<()> {
    if is_inbox(name) {
        return Err(Error::BadName);
    }
    check_path_name(name).map_err(|_| Error::NoSuchFolder)?;
    let dir = dir_of(&store.root, name);
    if !dir.is_dir() {
        return Err(Error::NoSuchFolder);
    }
    // Gone at once for other sessions, then removed at leisure.
    let aside = doomed(&store.root);
    match std::fs::rename(&dir, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoSuchFolder),
        Err(e) => return Err(e.into()),
    }
    std::fs::remove_dir_all(&aside)?;
    Ok(())
}

pub(crate) fn rename(store: &Store, from: &str, to: &str) -> Result<()> {
    if is_inbox(to) {
        return Err(Error::Exists);
    }
    check_new_name(to)?;
    if dir_of(&store.root, to).exists() {
        return Err(Error::Exists);
    }
    if is_inbox(from) {
        return rename_inbox(store, to);
    }
    check_path_name(from).map_err(|_| Error::NoSuchFolder)?;
    if !dir_of(&store.root, from).is_dir() {
        return Err(Error::NoSuchFolder);
    }
    let prefix = format!("{from}{SEPARATOR}");
    let moves: Vec<(String, String)> = std::iter::once(from.to_string())
        .chain(names(&store.root)?.into_iter().filter(|n| n.starts_with(&prefix)))
        .map(|n| {
            let renamed = format!("{to}{}", &n[from.len()..]);
            (n, renamed)
        })
        .collect();
    if moves.iter().any(|(_, t)| dir_of(&store.root, t).exists() && !moves.iter().any(|(f, _)| f == t)) {
        return Err(Error::Exists);
    }
    // Parents of the new name, as CREATE makes them.
    if let Some((parent, _)) = to.rsplit_once(SEPARATOR)
        && !dir_of(&store.root, parent).exists()
        && !is_inbox(parent)
    {
        create(store, parent)?;
    }
    for (f, t) in &moves {
        std::fs::rename(dir_of(&store.root, f), dir_of(&store.root, t))?;
    }
    subscriptions::update(&store.root, |subs| {
        for s in subs.iter_mut() {
            if let Some((_, t)) = moves.iter().find(|(f, _)| f == s) {
                s.clone_from(t);
            }
        }
    })?;
    Ok(())
}

/// RENAME INBOX: its messages move to a new folder, INBOX stays, empty (RFC 3501).
fn rename_inbox(store: &Store, to: &str) -> Result<()> {
    create(store, to)?;
    let dest = dir_of(&store.root, to);
    let _lock = Dotlock::acquire(&store.root.join(uidlist::FILE))?;
    // Keyword letters keep their meaning in the new folder.
    if let Ok(k) = std::fs::read(store.root.join(keywords::FILE)) {
        std::fs::write(dest.join(keywords::FILE), k)?;
    }
    for (sub, suffix) in [("new", ":2,"), ("cur", "")] {
        for e in std::fs::read_dir(store.root.join(sub))? {
            let Ok(n) = e?.file_name().into_string() else { continue };
            if n.starts_with('.') {
                continue;
            }
            match std::fs::rename(store.root.join(sub).join(&n), dest.join("cur").join(format!("{n}{suffix}"))) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(mut list) = UidList::read(&store.root)? {
        list.next = list.uid_next();
        list.records.clear();
        list.write(&store.root)?;
    }
    Ok(())
}

pub(crate) fn subscribe(store: &Store, name: &str, on: bool) -> Result<()> {
    let name = if is_inbox(name) { "INBOX" } else { name };
    check_path_name(name)?;
    subscriptions::update(&store.root, |subs| {
        let present = subs.iter().any(|s| s == name);
        if on && !present {
            subs.push(name.to_string());
        } else if !on {
            subs.retain(|s| s != name);
        }
    })?;
    Ok(())
}

pub(crate) fn ensure_special_use(store: &Store) -> Result<()> {
    for (name, _) in SPECIAL_USE {
        match create(store, name) {
            Ok(()) => subscribe(store, name, true)?,
            Err(Error::Exists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
