//! IMAP dates: `date-time` (`"05-Dec-2026 10:00:00 +0100"`, INTERNALDATE and APPEND) and
//! `date` (`5-Dec-2026`, SEARCH), to and from seconds or days since the Unix epoch.
//!
//! Owns: date syntax. Must not touch: I/O, clocks.
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn month(s: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| m.as_bytes().eq_ignore_ascii_case(s)).map(|i| i as u32 + 1)
}

fn digits(s: &[u8]) -> Option<u32> {
    (!s.is_empty() && s.len() <= 4 && s.iter().all(u8::is_ascii_digit)).then(|| std::str::from_utf8(s).ok()?.parse().ok())?
}

/// `d-Mon-yyyy` → days since the epoch.
pub fn parse_date(s: &[u8]) -> Option<i64> {
    let mut it = s.split(|&b| b == b'-');
    let d = digits(it.next()?)?;
    let m = month(it.next()?)?;
    let y = digits(it.next()?)?;
    if it.next().is_some() || !(1..=31).contains(&d) || y < 1000 {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d))
}

/// `dd-Mon-yyyy hh:mm:ss +zzzz` (day may be space-padded) → seconds since the epoch (UTC).
pub fn parse_date_time(s: &[u8]) -> Option<i64> {
    let s = if s.first() == Some(&b' ') { &s[1..] } else { s };
    let mut parts = s.split(|&b| b == b' ');
    let day = parse_date(parts.next()?)?;
    let time = parts.next()?;
    let zone = parts.next()?;
    if parts.next().is_some() || time.len() != 8 || zone.len() != 5 {
        return None;
    }
    let mut t = time.split(|&b| b == b':');
    let (h, mi, se) = (digits(t.next()?)?, digits(t.next()?)?, digits(t.next()?)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zh = digits(&zone[1..3])?;
    let zm = digits(&zone[3..5])?;
    let offset = sign * (i64::from(zh) * 3600 + i64::from(zm) * 60);
    Some(day * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se) - offset)
}

/// Seconds since the epoch → `"dd-Mon-yyyy hh:mm:ss +0000"` (with the quotes).
pub fn format_date_time(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("\"{d:02}-{}-{y:04} {:02}:{:02}:{:02} +0000\"", MONTHS[m as usize - 1], s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_date_time(b"05-Dec-2026 10:00:00 +0100").unwrap();
        assert_eq!(format_date_time(t), "\"05-Dec-2026 09:00:00 +0000\"");
        assert_eq!(parse_date(b"1-Jan-1970"), Some(0));
        assert_eq!(parse_date_time(b" 1-Jan-1970 00:00:01 +0000"), Some(1));
        assert_eq!(parse_date(b"32-Jan-2020"), None);
    }
}
