//! The few fields of an X.509 certificate the renewal schedule and `acme status` need
//! (serial, issuer common name, validity), read from DER without a parser dependency.
//!
//! Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial
//! INTEGER, signature AlgorithmIdentifier, issuer Name, validity SEQUENCE { notBefore,
//! notAfter }, subject Name, ... }, ... } (RFC 5280 §4.1).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Hex, without leading zero bytes.
    pub serial: String,
    /// The issuer's CN (or the whole issuer name as hex when it has none).
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// One DER element: tag and contents; returns the rest after it.
fn element(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = d.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize), &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (0x30, cert, _) = element(der)? else { return None };
    let (0x30, tbs, _) = element(cert)? else { return None };
    let (mut tag, mut body, mut rest) = element(tbs)?;
    if tag == 0xa0 {
        (tag, body, rest) = element(rest)?;
    }
    if tag != 0x02 {
        return None;
    }
    let serial = hex(body.iter().skip_while(|&&b| b == 0).copied());
    let (_, _sig, rest) = element(rest)?;
    let (0x30, issuer, rest) = element(rest)? else { return None };
    let (0x30, validity, _) = element(rest)? else { return None };
    let (t1, nb, after) = element(validity)?;
    let (t2, na, _) = element(after)?;
    Some(CertInfo { serial, issuer: common_name(issuer).unwrap_or_else(|| hex(issuer.iter().copied())), not_before: time(t1, nb)?, not_after: time(t2, na)? })
}

/// Reads the first certificate of a PEM chain.
pub fn parse_pem(pem: &[u8]) -> Option<CertInfo> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem).ok()?;
    parse(&der)
}

fn hex(bytes: impl Iterator<Item = u8>) -> String {
    bytes.map(|b| format!("{b:02X}")).collect()
}

/// The commonName (2.5.4.3) of a Name: SEQUENCE OF SET OF SEQUENCE { OID, value }.
fn common_name(mut name: &[u8]) -> Option<String> {
    while let Some((_, set, rest)) = element(name) {
        let mut atvs = set;
        while let Some((_, atv, more)) = element(atvs) {
            let (0x06, oid, value) = element(atv)? else { return None };
            if oid == [0x55, 0x04, 0x03] {
                let (_, v, _) = element(value)?;
                return Some(String::from_utf8_lossy(v).into_owned());
            }
            atvs = more;
        }
        name = rest;
    }
    None
}

/// UTCTime (0x17, YYMMDDHHMMSSZ) or GeneralizedTime (0x18, YYYYMMDDHHMMSSZ) → Unix seconds.
fn time(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if s.len() == 12 => {
            let yy: i64 = s[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        0x18 if s.len() == 14 => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (month, day, h, m, sec) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_rcgen_wrote() {
        let mut params = rcgen::CertificateParams::new(vec!["mail.example.test".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 3, 1);
        params.not_after = rcgen::date_time_ymd(2051, 7, 15);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0x12, 0xab]));
        params.distinguished_name.push(rcgen::DnType::CommonName, "Test Issuer CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = parse_pem(cert.pem().as_bytes()).expect("parses");
        assert_eq!(info.serial, "12AB");
        assert_eq!(info.issuer, "Test Issuer CA");
        assert_eq!(info.not_before, 1772323200); // 2026-03-01T00:00:00Z
        assert_eq!(info.not_after, 2572992000); // 2051-07-15T00:00:00Z (GeneralizedTime)
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        for bad in [&b""[..], b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x03\x30\x01\x02", b"\x30\x80"] {
            assert_eq!(parse(bad), None);
        }
    }
}
