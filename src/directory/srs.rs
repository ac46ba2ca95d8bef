//! The Sender Rewriting Scheme (SRS0/SRS1, as in libsrs2 and postsrsd): forwarded mail
//! leaves with `SRS0=HHHH=TT=orig.domain=user@our.domain`, so the receiver's SPF check
//! sees our domain, and a bounce to that address finds its way back to the sender.
//!
//! HHHH is the first four base64 characters of HMAC-SHA1(secret, lowercased parts), TT the
//! day number in base32 (mod 1024); the same secret gives the same addresses as postsrsd.
//! A secret file may hold several lines: the first signs, all of them verify (rotation).
use aws_lc_rs::hmac;
use base64::Engine;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HASH_LEN: usize = 4;
/// Timestamps wrap after 2^10 days.
const TIME_SLOTS: u64 = 1024;
const DAY: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    #[error("not an SRS address")]
    NotSrs,
    #[error("malformed SRS address")]
    Syntax,
    #[error("SRS timestamp out of date")]
    Expired,
    #[error("SRS hash invalid")]
    BadHash,
}

#[derive(Clone)]
pub struct Srs {
    keys: Vec<hmac::Key>,
    domain: String,
    max_age_days: u64,
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Srs {{ domain: {:?}, secrets: {}, max_age_days: {} }}", self.domain, self.keys.len(), self.max_age_days)
    }
}

/// Case-insensitive `SRS0=` / `SRS1=` prefix (any libsrs2 separator); returns the rest
/// after the tag, separator included.
fn strip_tag<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let head = local.get(..4)?;
    let sep = local[4..].chars().next()?;
    (head.eq_ignore_ascii_case(tag) && "=-+".contains(sep)).then(|| &local[4..])
}

impl Srs {
    /// `secrets` must not be empty; the first one signs.
    pub fn new(secrets: &[String], domain: &str, max_age: std::time::Duration) -> Srs {
        assert!(!secrets.is_empty(), "SRS needs a secret");
        let keys = secrets.iter().map(|s| hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes())).collect();
        Srs { keys, domain: domain.to_ascii_lowercase(), max_age_days: max_age.as_secs().div_ceil(DAY) }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Is `local` (the part before the @) an SRS0 or SRS1 local part?
    pub fn is_srs_local(local: &str) -> bool {
        strip_tag(local, "SRS0").is_some() || strip_tag(local, "SRS1").is_some()
    }

    fn hash_with(key: &hmac::Key, parts: &[&str]) -> String {
        let mut ctx = hmac::Context::with_key(key);
        for p in parts {
            ctx.update(p.to_ascii_lowercase().as_bytes());
        }
        let tag = ctx.sign();
        let mut b64 = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
        b64.truncate(HASH_LEN);
        b64
    }

    fn hash(&self, parts: &[&str]) -> String {
        Self::hash_with(&self.keys[0], parts)
    }

    fn check_hash(&self, given: &str, parts: &[&str]) -> Result<(), SrsError> {
        if given.len() < HASH_LEN {
            return Err(SrsError::BadHash);
        }
        let given = &given[..HASH_LEN];
        // libsrs2 compares case-insensitively: some MTAs lower-case addresses in transit.
        let ok = self.keys.iter().any(|k| Self::hash_with(k, parts).eq_ignore_ascii_case(given));
        if ok { Ok(()) } else { Err(SrsError::BadHash) }
    }

    /// The rewritten sender for mail forwarded on behalf of `sender`; None when no rewrite
    /// is needed (null sender, no domain, or already our SRS domain).
    pub fn forward(&self, sender: &str, now: u64) -> Option<String> {
        let (local, host) = sender.rsplit_once('@')?;
        if local.is_empty() || host.is_empty() || host.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let d = &self.domain;
        if let Some(rest) = strip_tag(local, "SRS1") {
            // SRS1<sep>HASH=firsthop=<sep>...: keep the first hop, re-sign for us.
            let mut it = rest[1..].splitn(3, '=');
            let (_hash, first_hop, user) = (it.next()?, it.next()?, it.next()?);
            if first_hop.is_empty() || user.is_empty() {
                return None;
            }
            let h = self.hash(&[first_hop, user]);
            return Some(format!("SRS1={h}={first_hop}={user}@{d}"));
        }
        if let Some(user) = strip_tag(local, "SRS0") {
            let h = self.hash(&[host, user]);
            return Some(format!("SRS1={h}={host}={user}@{d}"));
        }
        let stamp = timestamp(now);
        let h = self.hash(&[&stamp, host, local]);
        Some(format!("SRS0={h}={stamp}={host}={local}@{d}"))
    }

    /// The address a bounce to our SRS `address` belongs to: the original sender for SRS0,
    /// the first forwarder's SRS0 address for SRS1.
    pub fn reverse(&self, address: &str, now: u64) -> Result<String, SrsError> {
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        if let Some(rest) = strip_tag(local, "SRS1") {
            let mut it = rest[1..].splitn(3, '=');
            let (hash, host, user) = (it.next(), it.next(), it.next());
            let (Some(hash), Some(host), Some(user)) = (hash, host, user) else { return Err(SrsError::Syntax) };
            if host.is_empty() || user.is_empty() {
                return Err(SrsError::Syntax);
            }
            self.check_hash(hash, &[host, user])?;
            return Ok(format!("SRS0{user}@{host}"));
        }
        let rest = strip_tag(local, "SRS0").ok_or(SrsError::NotSrs)?;
        let mut it = rest[1..].splitn(4, '=');
        let (Some(hash), Some(stamp), Some(host), Some(user)) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(SrsError::Syntax);
        };
        if host.is_empty() || user.is_empty() {
            return Err(SrsError::Syntax);
        }
        check_timestamp(stamp, now, self.max_age_days)?;
        self.check_hash(hash, &[stamp, host, user])?;
        Ok(format!("{user}@{host}"))
    }
}

fn timestamp(now: u64) -> String {
    let days = now / DAY;
    let c = |v: u64| BASE32[(v & 31) as usize] as char;
    format!("{}{}", c(days >> 5), c(days))
}

fn check_timestamp(stamp: &str, now: u64, max_age_days: u64) -> Result<(), SrsError> {
    if stamp.len() != 2 {
        return Err(SrsError::Syntax);
    }
    let mut then = 0u64;
    for b in stamp.bytes() {
        let v = BASE32.iter().position(|c| *c == b.to_ascii_uppercase()).ok_or(SrsError::Syntax)?;
        then = (then << 5) | v as u64;
    }
    let mut today = (now / DAY) % TIME_SLOTS;
    while today < then {
        today += TIME_SLOTS;
    }
    if today <= then + max_age_days { Ok(()) } else { Err(SrsError::Expired) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOW: u64 = 1_780_000_000;

    fn srs() -> Srs {
        Srs::new(&["s3cr3t".into()], "fwd.example", Duration::from_secs(21 * DAY))
    }

    #[test]
    fn srs0_round_trip_and_shape() {
        let s = srs();
        let f = s.forward("Alice@Orig.Example", NOW).unwrap();
        let parts: Vec<&str> = f.split('=').collect();
        assert_eq!(parts[0], "SRS0");
        assert_eq!(parts[1].len(), 4);
        assert_eq!(parts[2], timestamp(NOW));
        assert!(f.ends_with("=Orig.Example=Alice@fwd.example"), "{f}");
        assert_eq!(s.reverse(&f, NOW).unwrap(), "Alice@Orig.Example");
        assert_eq!(s.reverse(&f.to_lowercase(), NOW).unwrap(), "alice@orig.example", "lower-cased in transit");
        assert_eq!(s.reverse(&f, NOW + 21 * DAY).unwrap(), "Alice@Orig.Example");
        assert_eq!(s.reverse(&f, NOW + 23 * DAY), Err(SrsError::Expired));
    }

    #[test]
    fn tampering_and_other_secrets_fail() {
        let s = srs();
        let f = s.forward("alice@orig.example", NOW).unwrap();
        let forged = f.replace("=alice@", "=mallory@");
        assert_eq!(s.reverse(&forged, NOW), Err(SrsError::BadHash));
        let other = Srs::new(&["other".into()], "fwd.example", Duration::from_secs(21 * DAY));
        assert_eq!(other.reverse(&f, NOW), Err(SrsError::BadHash));
        let rotated = Srs::new(&["new".into(), "s3cr3t".into()], "fwd.example", Duration::from_secs(21 * DAY));
        assert_eq!(rotated.reverse(&f, NOW).unwrap(), "alice@orig.example", "old secret still verifies");
        assert_eq!(s.reverse("bob@fwd.example", NOW), Err(SrsError::NotSrs));
        assert_eq!(s.reverse("SRS0=abcd@fwd.example", NOW), Err(SrsError::Syntax));
        assert_eq!(s.reverse("SRS0=abcd=!!=a.b=c@fwd.example", NOW), Err(SrsError::Syntax));
    }

    #[test]
    fn srs1_keeps_the_first_hop() {
        let first = Srs::new(&["one".into()], "hop1.example", Duration::from_secs(21 * DAY));
        let s0 = first.forward("alice@orig.example", NOW).unwrap();
        let s1 = srs().forward(&s0, NOW).unwrap();
        assert!(s1.starts_with("SRS1=") && s1.contains("=hop1.example==") && s1.ends_with("@fwd.example"), "{s1}");
        // Forwarded once more, the first hop stays and only the hash changes.
        let third = Srs::new(&["three".into()], "hop3.example", Duration::from_secs(21 * DAY));
        let s1b = third.forward(&s1, NOW).unwrap();
        assert!(s1b.contains("=hop1.example==") && s1b.ends_with("@hop3.example"), "{s1b}");
        // Reversing SRS1 gives the first hop's SRS0 address, which it can reverse.
        assert_eq!(srs().reverse(&s1, NOW).unwrap(), s0);
        assert_eq!(first.reverse(&srs().reverse(&s1, NOW).unwrap(), NOW).unwrap(), "alice@orig.example");
    }

    #[test]
    fn no_rewrite_for_null_or_own_domain() {
        let s = srs();
        assert_eq!(s.forward("", NOW), None);
        assert_eq!(s.forward("bob@FWD.example", NOW), None);
        assert!(Srs::is_srs_local("srs0=x") && Srs::is_srs_local("SRS1+y") && !Srs::is_srs_local("SRS2=x") && !Srs::is_srs_local("SRS0"));
    }
}
