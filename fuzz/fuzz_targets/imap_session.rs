//! libFuzzer entry point; the checks are in `src/harness/imap_session.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::imap_session::run(data));
