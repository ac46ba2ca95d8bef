//! libFuzzer entry point; the checks are in `src/harness/http_send.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::http_send::run(data));
