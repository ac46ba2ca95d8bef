//! DSN parser on incoming bounces: never panics, and a result always names recipients
//! (bounded in number, each with a Final-Recipient).
use postern::outbound::dsn_parse::parse_dsn;

pub fn run(data: &[u8]) {
    if let Some(dsn) = parse_dsn(data) {
        assert!(!dsn.recipients.is_empty() && dsn.recipients.len() <= 1000);
        for r in &dsn.recipients {
            if let Some(st) = r.status {
                assert!((2..=5).contains(&st.0), "{st:?}");
            }
        }
    }
}
