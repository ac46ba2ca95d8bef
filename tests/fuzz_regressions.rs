//! Replays every fuzz corpus input and every saved crash through the same checks the fuzz
//! targets run (`fuzz/src/harness/`), so CI catches regressions without a fuzzing
//! toolchain. Directories: `fuzz/corpus/TARGET/` (seeds plus what fuzzing found worth
//! keeping) and `fuzz/regressions/TARGET/` (inputs that once crashed, fixed since).
#[path = "../fuzz/src/harness/mod.rs"]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else { continue };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

/// Runs one target over its inputs, naming the input that fails.
fn replay(target: &str) {
    let (_, check) = harness::TARGETS.iter().find(|(n, _)| *n == target).expect("known target");
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for fuzz target {target}");
    let started = Instant::now();
    for f in &files {
        let data = fs::read(f).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("fuzz target {target} fails on {} (reproduce: cd fuzz && cargo fuzz run --sanitizer none {target} {})", f.display(), f.display());
        }
    }
    eprintln!("{target}: {} inputs in {:.2?}", files.len(), started.elapsed());
}

#[test]
fn every_target_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = harness::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    known.sort();
    assert_eq!(on_disk, known);
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => { $( #[test] fn $name() { replay(stringify!($name)); } )* };
}

replay_tests!(command, data, address, sasl, reply, config, http_send, dsn, session, pop3_command, imap_command, imap_message, imap_session);
