//! libFuzzer entry point; the checks are in `src/harness/dsn.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::dsn::run(data));
