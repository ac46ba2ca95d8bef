//! libFuzzer entry point; the checks are in `src/harness/pop3_command.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::pop3_command::run(data));
