//! libFuzzer entry point; the checks are in `src/harness/imap_command.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::imap_command::run(data));
