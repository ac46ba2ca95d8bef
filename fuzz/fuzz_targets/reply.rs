//! libFuzzer entry point; the checks are in `src/harness/reply.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::reply::run(data));
