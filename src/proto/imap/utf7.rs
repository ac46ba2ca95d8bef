//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3), as IMAP clients and Dovecot's
//! Maildir folder names use them.
//!
//! Decoding is strict like Dovecot's imap_utf7_to_utf8: printable ASCII outside shifts,
//! "&-" for '&', shifts non-empty, properly terminated, no printable ASCII encoded inside a
//! shift, zero padding bits, valid surrogate pairs, no two shifts in a row. Anything else
//! is None, so a name has exactly one encoded form (Dovecot is laxer on padding and on
//! ASCII inside shifts; names it accepts that we refuse are not ones clients produce).

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    B64.iter().position(|&b| b == c).map(|p| p as u32)
}

/// UTF-8 → modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut acc = 0u32;
    let mut bits = 0;
    for unit in units.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(B64[((acc >> bits) & 0x3f) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(B64[((acc << (6 - bits)) & 0x3f) as usize] as char);
    }
    out.push('-');
}

/// Modified UTF-7 → UTF-8; None when it is not valid modified UTF-7.
pub fn decode(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !(0x20..=0x7e).contains(&c) {
            return None;
        }
        if c != b'&' {
            out.push(c as char);
            i += 1;
            continue;
        }
        i += 1;
        if bytes.get(i) == Some(&b'-') {
            out.push('&');
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'-' {
            i += 1;
        }
        if i >= bytes.len() || i == start {
            return None;
        }
        decode_shift(&bytes[start..i], &mut out)?;
        i += 1;
        // "&...-&...-": two shifts in a row are one shift (Dovecot refuses them too).
        if bytes.get(i) == Some(&b'&') && bytes.get(i + 1) != Some(&b'-') {
            return None;
        }
    }
    Some(out)
}

fn decode_shift(data: &[u8], out: &mut String) -> Option<()> {
    let mut units = Vec::with_capacity(data.len() * 6 / 16);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in data {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push((acc >> bits) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits are padding: fewer than 6 would have formed no character, and they
    // must be zero.
    if bits >= 6 || acc != 0 || units.is_empty() {
        return None;
    }
    for ch in char::decode_utf16(units.iter().copied()) {
        let ch = ch.ok()?;
        if (' '..='~').contains(&ch) {
            return None;
        }
        out.push(ch);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some(name)
        );
    }

    #[test]
    fn ampersand_and_ascii() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode("Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(encode("INBOX.Sent"), "INBOX.Sent");
    }

    #[test]
    fn european_and_astral() {
        for name in [
            "Entwürfe",
            "Gelöschte Elemente",
            "Корзина",
            "😀 mail",
            "a\u{10000}b",
            "ü",
        ] {
            let enc = encode(name);
            assert!(enc.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{enc}");
            assert_eq!(decode(&enc).as_deref(), Some(name), "{enc}");
        }
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
    }

    #[test]
    fn invalid_forms_rejected() {
        for bad in [
            "&",         // unterminated
            "&AGE",      // unterminated shift
            "&-&",       // trailing '&'
            "&AGE-",     // encodes 'a' (printable ASCII)
            "&APw",      // no '-'
            "&AP-",      // incomplete unit
            "&APx-",     // non-zero padding bits
            "&2D0-",     // lone high surrogate
            "&3AE-",     // lone low surrogate
            "caf\u{e9}", // 8-bit outside a shift
            "&AP/-",     // '/' is not in the modified alphabet
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn roundtrip_property() {
        use proptest::prelude::*;
        proptest!(|(s in "\\PC{0,20}")| {
            prop_assert_eq!(decode(&encode(&s)), Some(s.clone()));
        });
    }
}
