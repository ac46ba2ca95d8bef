//! The checks behind each fuzz target, one module per target.
//!
//! Owns: what "does not crash" means for each entry point that takes untrusted input —
//! no panic, plus the invariants the code promises (round trips, chunking independence,
//! well-formed replies). Shared by `fuzz_targets/*.rs` (libFuzzer) and
//! `tests/fuzz_regressions.rs` (plain `cargo test` replay of the corpus), so a crash found
//! by the fuzzer is reproduced by the test with exactly the same code.
//! Must not touch: anything outside postern's public API.
pub mod address;
pub mod command;
pub mod config;
pub mod data;
pub mod dsn;
pub mod http_send;
pub mod pop3_command;
pub mod imap_command;
pub mod imap_message;
pub mod imap_session;
pub mod reply;
pub mod sasl;
pub mod session;

/// One target's checks: take the raw input, panic on a violation.
pub type Check = fn(&[u8]);

/// Every target by name (the `fuzz_targets/NAME.rs` file and the `corpus/NAME` directory).
pub const TARGETS: &[(&str, Check)] = &[
    ("command", command::run),
    ("data", data::run),
    ("address", address::run),
    ("sasl", sasl::run),
    ("reply", reply::run),
    ("config", config::run),
    ("http_send", http_send::run),
    ("dsn", dsn::run),
    ("session", session::run),
    ("pop3_command", pop3_command::run),
    ("imap_command", imap_command::run),
    ("imap_message", imap_message::run),
    ("imap_session", imap_session::run),
];

/// A scratch directory for this process, on tmpfs when there is one: `BASE/PREFIX-PID`.
/// Statics are never dropped, so a `TempDir` would leak one directory per fuzzing process
/// (libFuzzer's fork mode starts many); instead, directories of processes that are gone
/// are removed here, and ours is removed by the next process.
pub(crate) fn scratch_dir(prefix: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let mine = std::process::id();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| p != mine && !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("{prefix}-{mine}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Splits off the first byte as a set of mode flags (0 when the input is empty).
pub(crate) fn flags(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    }
}
