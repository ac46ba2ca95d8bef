//! Queue ids: sortable by arrival, unique across restarts.
//!
//! Owns: the id format, generation and validation of ids that come from outside
//! (CLI, HTTP). Format: 16 characters of Crockford base32 (`0-9A-Z` without `I L O U`),
//! 11 for the arrival time in microseconds since the Unix epoch, then 5 random ones.
//! The alphabet is in ASCII order, so sorting ids as strings sorts them by arrival.
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Crockford base32, in ascending ASCII order.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 11 base32 digits hold 55 bits of microseconds: enough until the year 3111.
const TIME_LEN: usize = 11;
/// 5 base32 digits: 25 random bits, so ids from two processes in the same microsecond
/// (or after the clock stepped back across a restart) do not collide.
const RAND_LEN: usize = 5;
const LEN: usize = TIME_LEN + RAND_LEN;

/// The last time stamp handed out; the counter that keeps ids of one process strictly
/// increasing even when many are made in the same microsecond or the clock steps back.
static LAST_MICROS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueId(pub String);

impl QueueId {
    /// Length of every generated id.
    pub const LEN: usize = LEN;

    /// A new id, greater than every id this process generated before.
    pub fn generate() -> QueueId {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let next = |last: u64| now.max(last.saturating_add(1));
        // fetch_update returns the previous value; `next` of it is what we stored.
        let prev = LAST_MICROS
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| Some(next(l)))
            .unwrap_or_else(|l| l);
        let micros = next(prev);
        let random: u64 = rand::thread_rng().gen_range(0..1 << (5 * RAND_LEN));

        let mut out = String::with_capacity(LEN);
        push_base32(&mut out, micros, TIME_LEN);
        push_base32(&mut out, random, RAND_LEN);
        QueueId(out)
    }

    /// Validates an id from untrusted input: exactly [`QueueId::LEN`] characters of the
    /// id alphabet, nothing else (no separators, dots or slashes can get through).
    pub fn parse(s: &str) -> Option<QueueId> {
        let ok = s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b));
        ok.then(|| QueueId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Appends the low `digits * 5` bits of `value`, most significant digit first.
fn push_base32(out: &mut String, value: u64, digits: usize) {
    for i in (0..digits).rev() {
        let d = (value >> (5 * i)) & 31;
        out.push(char::from(ALPHABET[d as usize]));
    }
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_have_the_format_and_parse_back() {
        let id = QueueId::generate();
        assert_eq!(id.0.len(), QueueId::LEN);
        assert!(
            id.0.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(QueueId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn ids_sort_by_generation_order() {
        let ids: Vec<QueueId> = (0..10_000).map(|_| QueueId::generate()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids not strictly increasing"
        );
    }

    #[test]
    fn time_prefix_is_the_clock_in_microseconds() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        let id = QueueId::generate();
        let decoded = id.0[..TIME_LEN].bytes().fold(0i64, |acc, b| {
            acc * 32 + ALPHABET.iter().position(|&a| a == b).unwrap() as i64
        });
        // Other tests may push the counter slightly ahead of the clock; never by seconds.
        assert!(
            (decoded - now).abs() < 2_000_000,
            "decoded {decoded}, clock {now}"
        );
    }

    #[test]
    fn concurrent_generators_never_collide() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| (0..5_000).map(|_| QueueId::generate()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(all.insert(id), "duplicate id");
            }
        }
        assert_eq!(all.len(), 40_000);
    }

    #[test]
    fn parse_rejects_anything_outside_the_alphabet_or_length() {
        let good = QueueId::generate().0;
        for bad in [
            "",
            &good[..15],
            &format!("{good}0"),
            "../../etc/passw0",
            "0123456789ABCDEI", // I is not in the alphabet
            "0123456789abcdef", // lower case
            "0123456789ABCD/F",
            "0123456789ABCD.F",
            "0123456789ABCDÉ",
            "0123456789ABC\0EF",
        ] {
            assert_eq!(QueueId::parse(bad), None, "accepted {bad:?}");
        }
        assert!(QueueId::parse("0123456789ABCDEF").is_some());
    }
}
