//! libFuzzer entry point; the checks are in `src/harness/imap_message.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::imap_message::run(data));
