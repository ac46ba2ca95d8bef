//! Behaviour of the store as a whole: numbering, flags, expunges, folders, and safety
//! under concurrent delivery and two sessions.
use super::*;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

fn deliver(root: &Path, name: &str, body: &[u8]) {
    std::fs::write(root.join("tmp").join(name), body).unwrap();
    std::fs::rename(root.join("tmp").join(name), root.join("new").join(name)).unwrap();
}

fn flags(seen: bool, kws: &[&str]) -> Flags {
    Flags { seen, keywords: kws.iter().map(|s| s.to_string()).collect(), ..Flags::default() }
}

#[test]
fn sync_numbers_new_mail_in_delivery_order_and_moves_it_to_cur() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    deliver(d.path(), "1700000002.M5P1.h,S=3", b"b\r\n");
    deliver(d.path(), "1700000001.M9P1.h", b"a\nb\n");
    deliver(d.path(), "1700000002.M1P1.h", b"c");
    let inbox = store.folder("inbox").unwrap();
    let ro = inbox.sync(true).unwrap();
    assert_eq!(ro.messages.iter().map(|m| (m.uid, m.recent)).collect::<Vec<_>>(), vec![(1, true), (2, true), (3, true)]);
    assert_eq!(ro.messages[0].file, "1700000001.M9P1.h");
    assert_eq!((ro.messages[0].size, ro.messages[0].vsize), (4, 6));
    assert_eq!(ro.uid_next, 4);
    assert!(ro.uid_validity > 0);
    let v = inbox.sync(false).unwrap();
    assert_eq!(v.uid_validity, ro.uid_validity);
    assert_eq!(v.messages.iter().map(|m| (m.uid, m.recent, m.file.as_str())).collect::<Vec<_>>(), vec![
        (1, false, "1700000001.M9P1.h:2,"),
        (2, false, "1700000002.M1P1.h:2,"),
        (3, false, "1700000002.M5P1.h,S=3:2,"),
    ]);
    assert_eq!(std::fs::read_dir(d.path().join("new")).unwrap().count(), 0);
    // The vsize counted once is in the uidlist as W.
    let list = std::fs::read_to_string(d.path().join("dovecot-uidlist")).unwrap();
    assert!(list.contains("1 W6 :1700000001.M9P1.h:2,\n"), "{list}");
    assert!(list.starts_with(&format!("3 V{} N4 G", v.uid_validity)), "{list}");
    assert_eq!(std::fs::read_to_string(d.path().join("dovecot-uidvalidity")).unwrap(), format!("{:08x}", v.uid_validity));
}

#[test]
fn flags_keywords_expunge_and_renames_by_others() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let inbox = store.folder("INBOX").unwrap();
    for i in 0..3 {
        deliver(d.path(), &format!("170000000{i}.M1P1.h"), b"x\r\n");
    }
    let v = inbox.sync(false).unwrap();
    let m = inbox.set_flags(&v.messages[0], &flags(true, &["$Label1"])).unwrap();
    assert_eq!(m.file, "1700000000.M1P1.h:2,Sa");
    assert!(m.flags.seen && m.flags.keywords.contains("$Label1"));
    assert_eq!(std::fs::read_to_string(d.path().join("dovecot-keywords")).unwrap(), "0 $Label1\n");
    // Another program renames message 2 (flags changed, P kept): the old view still opens it.
    let old = &v.messages[1];
    std::fs::rename(d.path().join("cur").join(&old.file), d.path().join("cur/1700000001.M1P1.h:2,FP")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut inbox.open(old).unwrap(), &mut text).unwrap();
    assert_eq!(text, "x\r\n");
    let m2 = inbox.set_flags(old, &Flags { answered: true, ..Flags::default() }).unwrap();
    assert_eq!(m2.file, "1700000001.M1P1.h:2,PR");
    let v2 = inbox.sync(false).unwrap();
    assert_eq!(v2.messages.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(v2.keywords, vec!["$Label1"]);
    assert!(v2.messages[1].flags.answered && !v2.messages[1].flags.flagged);
    // Expunging the last message never gives its UID out again.
    inbox.expunge(&v2.messages[2..]).unwrap();
    assert!(matches!(inbox.open(&v2.messages[2]), Err(Error::Expunged)));
    assert!(matches!(inbox.set_flags(&v2.messages[2], &Flags::default()), Err(Error::Expunged)));
    let uid = inbox.append(&mut &b"new\n"[..], &flags(false, &["Work"]), Some(UNIX_EPOCH + Duration::from_secs(1_600_000_000))).unwrap();
    assert_eq!(uid, 4);
    let v3 = inbox.sync(true).unwrap();
    let last = v3.messages.last().unwrap();
    assert_eq!((last.uid, last.size, last.vsize), (4, 4, 5));
    assert_eq!(last.internal_date, UNIX_EPOCH + Duration::from_secs(1_600_000_000));
    assert!(last.flags.keywords.contains("Work") && last.file.ends_with(":2,b"));
    assert_eq!(v3.uid_next, 5);
}

#[test]
fn dovecots_lagging_uidnext_and_vanished_lines() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    std::fs::write(d.path().join("cur/1.M1P1.h,S=2,W=2:2,S"), b"a\n").unwrap();
    std::fs::write(d.path().join("cur/2.M1P1.h,S=2,W=2:2,"), b"b\n").unwrap();
    std::fs::write(d.path().join("new/5.M1P1.h"), b"c\n").unwrap();
    std::fs::write(d.path().join("dovecot-uidlist"), "3 V1700000000 N3 Gabc\n1 :1.M1P1.h,S=2,W=2\n3 :3.M1P1.h,S=2,W=2:2,T\n7 Xkeep :2.M1P1.h,S=2,W=2\n").unwrap();
    let v = store.folder("INBOX").unwrap().sync(false).unwrap();
    assert_eq!(v.uid_validity, 1700000000);
    assert_eq!(v.messages.iter().map(|m| (m.uid, m.flags.seen)).collect::<Vec<_>>(), vec![(1, true), (7, false), (8, false)]);
    assert_eq!(v.uid_next, 9);
    let list = std::fs::read_to_string(d.path().join("dovecot-uidlist")).unwrap();
    assert!(list.starts_with("3 V1700000000 N9 Gabc\n"), "{list}");
    assert!(list.contains("\n7 Xkeep :2.M1P1.h,S=2,W=2:2,\n"), "{list}");
    assert!(!list.contains("\n3 "), "{list}");
    // A migrated POP3 UIDL (`P` field) is kept and offered.
    std::fs::write(d.path().join("dovecot-uidlist"), "3 V1700000000 N9 Gabc\n1 Pold-uidl-1 :1.M1P1.h,S=2,W=2:2,S\n7 Xkeep :2.M1P1.h,S=2,W=2:2,\n8 W2 :5.M1P1.h:2,\n").unwrap();
    let inbox = store.folder("INBOX").unwrap();
    inbox.set_flags(&inbox.sync(false).unwrap().messages[0], &Flags::default()).unwrap();
    inbox.sync(false).unwrap();
    assert_eq!(inbox.pop3_uidls().unwrap(), [(1, "old-uidl-1".to_string())].into());
}

#[test]
fn copy_keeps_flags_keywords_and_dates() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    store.create("Archive.2025").unwrap();
    let inbox = store.folder("INBOX").unwrap();
    let date = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    inbox.append(&mut &b"one\r\n"[..], &flags(true, &["A", "B"]), Some(date)).unwrap();
    let arch = store.folder("Archive.2025").unwrap();
    arch.append(&mut &b"zero\r\n"[..], &flags(false, &["B"]), None).unwrap();
    let v = inbox.sync(false).unwrap();
    assert_eq!(inbox.copy(&v.messages, &arch).unwrap(), vec![2]);
    let a = arch.sync(false).unwrap();
    let m = &a.messages[1];
    assert_eq!((m.uid, m.size, m.internal_date), (2, 5, date));
    assert!(m.flags.seen && m.flags.keywords.len() == 2);
    // Letters follow the destination's own keyword file (B is `a` there).
    assert!(m.file.ends_with(":2,Sab"), "{}", m.file);
    assert_eq!(a.keywords, vec!["B", "A"]);
}

#[test]
fn folders_are_maildir_plus_plus_directories() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    store.ensure_special_use().unwrap();
    store.create("Archive.2025").unwrap();
    assert!(matches!(store.create("Archive.2025"), Err(Error::Exists)));
    assert!(matches!(store.create("inbox"), Err(Error::Exists)));
    for bad in ["", ".x", "a..b", "a/b", "x.", "a*"] {
        assert!(matches!(store.create(bad), Err(Error::BadName)), "{bad}");
    }
    assert!(d.path().join(".Archive.2025/cur").is_dir());
    assert!(d.path().join(".Archive/maildirfolder").is_file());
    let names = |s: &Store| s.list().unwrap().into_iter().map(|f| f.name).collect::<Vec<_>>();
    assert_eq!(names(&store), vec!["INBOX", "Archive", "Archive.2025", "Drafts", "Junk", "Sent", "Trash"]);
    let l = store.list().unwrap();
    assert!(l[1].has_children && l[1].special_use == Some("\\Archive") && !l[1].subscribed);
    assert!(l[5].subscribed && l[5].special_use == Some("\\Sent"));
    store.subscribe("Archive.2025", true).unwrap();
    store.rename("Archive", "Old.Stuff").unwrap();
    assert_eq!(names(&store), vec!["INBOX", "Drafts", "Junk", "Old", "Old.Stuff", "Old.Stuff.2025", "Sent", "Trash"]);
    assert!(store.list().unwrap().iter().any(|f| f.name == "Old.Stuff.2025" && f.subscribed));
    assert!(matches!(store.folder("Archive"), Err(Error::NoSuchFolder)));
    store.delete("Old.Stuff.2025").unwrap();
    assert!(matches!(store.delete("Old.Stuff.2025"), Err(Error::NoSuchFolder)));
    assert!(matches!(store.delete("INBOX"), Err(Error::BadName)));
    // RENAME INBOX moves the mail and leaves INBOX empty.
    deliver(d.path(), "1.M1P1.h", b"x");
    let inbox = store.folder("INBOX").unwrap();
    inbox.set_flags(&inbox.sync(false).unwrap().messages[0], &flags(true, &["K"])).unwrap();
    store.rename("INBOX", "Saved").unwrap();
    assert!(inbox.sync(false).unwrap().messages.is_empty());
    let saved = store.folder("Saved").unwrap().sync(false).unwrap();
    assert_eq!(saved.messages.len(), 1);
    assert!(saved.messages[0].flags.keywords.contains("K"));
    assert_eq!(std::fs::read_dir(d.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with("..")).count(), 0);
    // Dovecot creates `.A.b.c` alone: `A` and `A.b` are implied parents (\Noselect).
    std::fs::create_dir_all(d.path().join(".A.b.c/cur")).unwrap();
    assert_eq!(store.implied_parents().unwrap(), vec!["A", "A.b"]);
    assert!(store.list().unwrap().iter().any(|f| f.name == "A.b.c"));
}

#[test]
fn usage_follows_appends_deliveries_and_expunges() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    assert_eq!(store.usage().unwrap(), Usage::default());
    let inbox = store.folder("INBOX").unwrap();
    inbox.append(&mut &b"12345"[..], &Flags::default(), None).unwrap();
    deliver(d.path(), "9.M1P1.h,S=10", b"0123456789");
    record_delivery(d.path(), 10);
    assert_eq!(store.usage().unwrap(), Usage { bytes: 15, messages: 2 });
    let v = inbox.sync(false).unwrap();
    inbox.expunge(&v.messages[..1]).unwrap();
    assert_eq!(store.usage().unwrap(), Usage { bytes: 10, messages: 1 });
}

#[test]
fn stamp_changes_with_the_folder() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let inbox = store.folder("INBOX").unwrap();
    inbox.sync(false).unwrap();
    let s0 = inbox.stamp().unwrap();
    assert_eq!(s0, inbox.stamp().unwrap());
    std::thread::sleep(Duration::from_millis(20));
    deliver(d.path(), "1.M1P1.h", b"x");
    assert_ne!(s0, inbox.stamp().unwrap());
}

/// Deliveries (no lock) race two sessions that sync, set flags and expunge: afterwards
/// every file has exactly one UID, UIDs are unique, and none was given twice over time.
#[test]
fn concurrent_delivery_and_two_sessions_keep_uids_unique() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().to_path_buf();
    let store = Store::open(&root).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..2 {
        let root = root.clone();
        handles.push(std::thread::spawn(move || {
            for i in 0..150 {
                let name = format!("{}.M{i}P{t}.h,S=4", 1_700_000_000 + i);
                let tmp = root.join("tmp").join(&name);
                std::fs::File::create(&tmp).unwrap().write_all(b"abc\n").unwrap();
                std::fs::rename(&tmp, root.join("new").join(&name)).unwrap();
                // Spread deliveries over the sessions' rounds.
                std::thread::sleep(Duration::from_micros(300));
            }
        }));
    }
    let mut sessions = Vec::new();
    for s in 0..2u64 {
        let store = store.clone();
        let stop = stop.clone();
        sessions.push(std::thread::spawn(move || {
            let inbox = store.folder("INBOX").unwrap();
            let mut seen: std::collections::HashMap<u32, String> = Default::default();
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || round < 5 {
                round += 1;
                let v = inbox.sync(s == 1 && round.is_multiple_of(2)).unwrap();
                let uids: Vec<u32> = v.messages.iter().map(|m| m.uid).collect();
                assert!(uids.windows(2).all(|w| w[0] < w[1]), "{uids:?}");
                for m in &v.messages {
                    let b = name::base(&m.file).to_string();
                    // A UID always names the same file.
                    assert_eq!(seen.entry(m.uid).or_insert_with(|| b.clone()), &b);
                }
                for m in v.messages.iter().skip((round % 7) as usize).step_by(5) {
                    match inbox.set_flags(m, &flags(round.is_multiple_of(2), &["k"])) {
                        Ok(_) | Err(Error::Expunged) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                if round % 4 == s * 2 {
                    inbox.expunge(&v.messages.iter().take(2).cloned().collect::<Vec<_>>()).unwrap();
                }
            }
            seen
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut history: std::collections::HashMap<u32, String> = Default::default();
    for s in sessions {
        for (uid, b) in s.join().unwrap() {
            assert_eq!(history.entry(uid).or_insert_with(|| b.clone()), &b, "UID {uid} named two files");
        }
    }
    let v = store.folder("INBOX").unwrap().sync(false).unwrap();
    let files: Vec<String> = std::fs::read_dir(root.join("cur")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(std::fs::read_dir(root.join("new")).unwrap().count(), 0);
    assert_eq!(v.messages.len(), files.len());
    let mut bases: Vec<&str> = files.iter().map(|f| name::base(f)).collect();
    bases.sort();
    bases.dedup();
    assert_eq!(bases.len(), files.len(), "one file per base");
    let mut uids: Vec<u32> = v.messages.iter().map(|m| m.uid).collect();
    assert!(uids.windows(2).all(|w| w[0] < w[1]));
    uids.dedup();
    assert_eq!(uids.len(), files.len());
    // Every delivered file got exactly one UID over the whole run (listed now, or seen
    // by a session before it expunged it).
    for m in &v.messages {
        let b = name::base(&m.file).to_string();
        assert_eq!(history.entry(m.uid).or_insert_with(|| b.clone()), &b);
    }
    let mut named: Vec<&String> = history.values().collect();
    named.sort();
    named.dedup();
    assert_eq!((history.len(), named.len()), (300, 300));
    assert!(v.uid_next > *uids.last().unwrap());
}

#[test]
fn modseq_rises_with_flag_changes_by_anyone_and_highest_never_falls() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let inbox = store.folder("INBOX").unwrap();
    let empty = inbox.sync(false).unwrap().highest_modseq;
    assert!(empty > 1, "an empty folder has the directories' ctime");
    for i in 0..2 {
        deliver(d.path(), &format!("170000000{i}.M1P1.h"), b"x\r\n");
    }
    let v = inbox.sync(false).unwrap();
    assert!(v.highest_modseq >= empty);
    assert_eq!(v.highest_modseq, v.highest_modseq.max(v.messages.iter().map(|m| m.modseq).max().unwrap()));
    std::thread::sleep(Duration::from_millis(20));
    let m = inbox.set_flags(&v.messages[0], &flags(true, &[])).unwrap();
    assert!(m.modseq > v.messages[0].modseq);
    // UNCHANGEDSINCE: a value below the current MODSEQ refuses, the current one allows.
    assert_eq!(inbox.set_flags_unchanged_since(&m, &flags(false, &[]), m.modseq - 1).unwrap(), Err(m.modseq));
    assert!(inbox.sync(false).unwrap().messages[0].flags.seen);
    // Another program (Dovecot) renames message 2: its MODSEQ rises too.
    std::thread::sleep(Duration::from_millis(20));
    let old = &v.messages[1];
    std::fs::rename(d.path().join("cur").join(&old.file), d.path().join("cur/1700000001.M1P1.h:2,F")).unwrap();
    let v2 = inbox.sync(false).unwrap();
    assert!(v2.messages[1].modseq > old.modseq && v2.messages[1].modseq > m.modseq);
    assert_eq!(v2.highest_modseq, v2.messages[1].modseq.max(v2.highest_modseq));
    assert!(v2.highest_modseq >= v2.messages[1].modseq);
    // Expunging the message with the highest MODSEQ does not lower HIGHESTMODSEQ.
    std::thread::sleep(Duration::from_millis(20));
    inbox.expunge(&v2.messages[1..]).unwrap();
    let v3 = inbox.sync(false).unwrap();
    assert!(v3.highest_modseq > v2.highest_modseq, "{} > {}", v3.highest_modseq, v2.highest_modseq);
    let m0 = &v3.messages[0];
    let m0 = inbox.set_flags_unchanged_since(m0, &flags(false, &[]), m0.modseq).unwrap().expect("unchanged since its MODSEQ");
    // Changes of one message faster than the ctime clock ticks still raise its MODSEQ,
    // without touching its INTERNALDATE (mtime).
    let mut last = m0.clone();
    for round in 0..5 {
        let next = inbox.set_flags(&last, &flags(round % 2 == 0, &[])).unwrap();
        assert!(next.modseq > last.modseq, "round {round}: {} > {}", next.modseq, last.modseq);
        last = next;
    }
    assert_eq!(inbox.sync(false).unwrap().messages[0].internal_date, m0.internal_date);
}

#[test]
fn sessions_share_one_view_until_the_folder_changes() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let inbox = store.folder("INBOX").unwrap();
    for i in 0..3 {
        deliver(d.path(), &format!("170000000{i}.M1P1.h"), b"x\r\n");
    }
    // A read-only view keeps new/ messages; a read-write caller gets them moved.
    let ro = inbox.shared_view(true).unwrap();
    assert!(ro.messages.iter().all(|m| m.recent));
    let a = inbox.shared_view(false).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&ro, &a) && a.messages.iter().all(|m| !m.recent));
    let b = inbox.shared_view(false).unwrap();
    let c = store.folder("inbox").unwrap().shared_view(true).unwrap();
    assert!(std::sync::Arc::ptr_eq(&b, &c), "the same unchanged folder gives one shared view");
    // postern's own change (a flag rename) is seen at once.
    inbox.set_flags(&b.messages[1], &flags(true, &[])).unwrap();
    let after = inbox.shared_view(false).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&b, &after));
    assert!(after.messages[1].flags.seen);
    // Another program's change in the same clock tick as the last read is seen once the
    // view is a second old, however the mtimes fall.
    std::fs::rename(d.path().join("cur").join(&after.messages[2].file), d.path().join("cur/1700000002.M1P1.h:2,F")).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let later = inbox.shared_view(false).unwrap();
    assert!(later.messages[2].flags.flagged, "{:?}", later.messages[2]);
    // Nobody holds a view: the cache keeps nothing alive.
    let weak = std::sync::Arc::downgrade(&later);
    drop((ro, a, b, c, after, later));
    assert!(weak.upgrade().is_none());
}

#[test]
fn uid_validity_is_read_from_the_header_alone() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let inbox = store.folder("INBOX").unwrap();
    // No uidlist yet: one is made.
    let v = inbox.uid_validity().unwrap();
    assert_eq!(v, inbox.sync(true).unwrap().uid_validity);
    std::fs::write(d.path().join("dovecot-uidlist"), "3 V1234 N7 Gabc\n5 :x:2,S\n").unwrap();
    assert_eq!(inbox.uid_validity().unwrap(), 1234);
    std::fs::write(d.path().join("dovecot-uidlist"), "1 77 3\n").unwrap();
    assert_eq!(inbox.uid_validity().unwrap(), 77);
}
