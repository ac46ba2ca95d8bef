//! Maildir file names: the base (`<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>`),
//! the `:2,<flags>` info suffix and the flags it encodes (D F R S T, keyword letters a-z
//! through `dovecot-keywords`; letters we do not map, e.g. P, are kept as they are).
//!
//! Owns: building and decoding names. Must not touch: the file system (callers rename).
use super::Flags;
use super::keywords::Keywords;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The name without its `:2,...` info (what Dovecot matches files by).
pub(crate) fn base(name: &str) -> &str {
    name.split_once(':').map_or(name, |(b, _)| b)
}

/// The info after `:2,` (flag letters, then Dovecot's optional `,<extra>`).
fn info(name: &str) -> &str {
    name.split_once(':').and_then(|(_, i)| i.strip_prefix("2,")).unwrap_or("")
}

/// A `,KEY=<n>` field of the base name (`S` size, `W` CRLF size).
fn field(name: &str, key: &str) -> Option<u64> {
    base(name).split(',').skip(1).find_map(|f| f.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

pub(crate) fn size_field(name: &str) -> Option<u64> {
    field(name, "S")
}

pub(crate) fn vsize_field(name: &str) -> Option<u64> {
    field(name, "W")
}

/// Delivery time in the name (`<secs>.M<usecs>...`), to number new files in arrival
/// order; names of other shapes sort first, by name.
pub(crate) fn time_key(name: &str) -> (u64, u64) {
    let mut parts = name.splitn(3, '.');
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let usecs = parts
        .next()
        .and_then(|s| s.strip_prefix('M'))
        .map(|s| s.chars().take_while(|c| c.is_ascii_digit()).collect::<String>())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (secs, usecs)
}

/// The flags a file name carries (keyword letters through `keywords`).
pub(crate) fn flags(name: &str, keywords: &Keywords) -> Flags {
    let mut f = Flags::default();
    let letters = info(name).split(',').next().unwrap_or("");
    for c in letters.chars() {
        match c {
            'D' => f.draft = true,
            'F' => f.flagged = true,
            'R' => f.answered = true,
            'S' => f.seen = true,
            'T' => f.deleted = true,
            'a'..='z' => {
                if let Some(k) = keywords.name_of(c) {
                    f.keywords.insert(k.to_string());
                }
            }
            _ => {}
        }
    }
    f
}

/// `name` with these flags: system letters and keyword letters from `flags`, letters we
/// do not map (P, unknown keywords) and Dovecot's `,<extra>` kept; ASCII order. Keywords
/// without a letter in `keywords` are left out (the caller assigned letters first).
pub(crate) fn with_flags(name: &str, flags: &Flags, keywords: &Keywords) -> String {
    let info = info(name);
    let (letters, extra) = info.split_once(',').map_or((info, None), |(l, e)| (l, Some(e)));
    let mut out: Vec<char> = letters
        .chars()
        .filter(|&c| !matches!(c, 'D' | 'F' | 'R' | 'S' | 'T') && !(c.is_ascii_lowercase() && keywords.name_of(c).is_some()))
        .collect();
    for (on, c) in [(flags.draft, 'D'), (flags.flagged, 'F'), (flags.answered, 'R'), (flags.seen, 'S'), (flags.deleted, 'T')] {
        if on {
            out.push(c);
        }
    }
    out.extend(flags.keywords.iter().filter_map(|k| keywords.letter_of(k)));
    out.sort_unstable();
    out.dedup();
    let mut s = format!("{}:2,{}", base(name), out.into_iter().collect::<String>());
    if let Some(e) = extra {
        s.push(',');
        s.push_str(e);
    }
    s
}

/// This host's name as Maildir names carry it (`/`, `:` and `,` would break parsing).
pub(crate) fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let host = if rc == 0 { String::from_utf8_lossy(&buf[..end]).into_owned() } else { String::new() };
        let host = host.replace(['/', ':', ','], "_");
        if host.is_empty() { "localhost".into() } else { host }
    })
}

/// A unique base name for a new message (Dovecot's shape plus a per-process counter).
pub(crate) fn new_base(size: u64, vsize: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}.{},S={size},W={vsize}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hostname()
    )
}

/// A temporary name in tmp/ (not yet a message).
pub(crate) fn temp_name() -> String {
    format!("{}.tmp", new_base(0, 0).split(',').next().unwrap_or("x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(names: &[&str]) -> Keywords {
        let mut k = Keywords::default();
        k.ensure(names.iter().map(|s| s.to_string()));
        k
    }

    #[test]
    fn decodes_base_sizes_and_time() {
        let n = "1491941793.M41850P8566V00I0004F_0.mx1.example.com,S=10956,W=11000:2,STln";
        assert_eq!(base(n), "1491941793.M41850P8566V00I0004F_0.mx1.example.com,S=10956,W=11000");
        assert_eq!(size_field(n), Some(10956));
        assert_eq!(vsize_field(n), Some(11000));
        assert_eq!(time_key(n), (1491941793, 41850));
        assert_eq!(size_field("123.abc.host"), None);
        assert_eq!(time_key("odd-name"), (0, 0));
        assert_eq!(base("x.y"), "x.y");
    }

    #[test]
    fn flags_round_trip_in_ascii_order_keeping_unknown_letters() {
        let k = kw(&["$Label1", "Junk"]);
        let n = "1.M2P3.h,S=5:2,PSbz";
        let f = flags(n, &k);
        assert!(f.seen && !f.flagged && !f.deleted);
        assert_eq!(f.keywords.iter().cloned().collect::<Vec<_>>(), vec!["Junk".to_string()]);
        let mut g = f.clone();
        g.seen = false;
        g.flagged = true;
        g.deleted = true;
        g.answered = true;
        g.draft = true;
        g.keywords.insert("$Label1".into());
        // P (passed) and z (a letter with no keyword) survive; keywords after capitals.
        assert_eq!(with_flags(n, &g, &k), "1.M2P3.h,S=5:2,DFPRTabz");
        assert_eq!(with_flags("1.M2P3.h,S=5", &Flags::default(), &k), "1.M2P3.h,S=5:2,");
        assert_eq!(with_flags("1.h:2,S,extra", &Flags::default(), &k), "1.h:2,,extra");
    }

    #[test]
    fn keywords_without_a_letter_are_left_out() {
        let k = kw(&["a"]);
        let mut f = Flags::default();
        f.keywords.insert("unknown".into());
        assert_eq!(with_flags("1.h", &f, &k), "1.h:2,");
    }

    #[test]
    fn new_names_are_unique_and_carry_sizes() {
        let a = new_base(10, 12);
        let b = new_base(10, 12);
        assert_ne!(a, b);
        assert_eq!(size_field(&a), Some(10));
        assert_eq!(vsize_field(&a), Some(12));
        assert!(!hostname().contains([':', '/', ',']));
    }
}
