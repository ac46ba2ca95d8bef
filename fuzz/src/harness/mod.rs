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
];

/// Splits off the first byte as a set of mode flags (0 when the input is empty).
pub(crate) fn flags(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    }
}
