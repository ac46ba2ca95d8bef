//! DSN parser on incoming bounces: never panics out of `parse_dsn`, and a result always
//! names recipients (bounded in number, each with a Final-Recipient).
//!
//! `parse_dsn` contains a mail-parser panic with `catch_unwind`. libFuzzer's panic hook
//! would abort on that contained panic too, so the default hook is put back: a panic that
//! escapes `parse_dsn` still reaches libfuzzer-sys's own `catch_unwind` and is a crash.
use postern::delivery::dsn_parse::parse_dsn;
use std::sync::Once;

pub fn run(data: &[u8]) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| drop(std::panic::take_hook()));
    if let Some(dsn) = parse_dsn(data) {
        assert!(!dsn.recipients.is_empty() && dsn.recipients.len() <= 1000);
        for r in &dsn.recipients {
            if let Some(st) = r.status {
                assert!((2..=5).contains(&st.0), "{st:?}");
            }
        }
    }
}
