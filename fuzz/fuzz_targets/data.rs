//! libFuzzer entry point; the checks are in `src/harness/data.rs`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postern_fuzz::data::run(data));
