//! Password hashes: verifying the schemes other mail software writes, hashing new ones.
//!
//! Owns: the `{SCHEME}` prefixes as Dovecot writes them and the crypt(3) formats behind
//! them (argon2, SHA512/256-CRYPT, BLF-CRYPT, MD5-CRYPT), the LDAP digests ({SHA}, {SSHA},
//! {SSHA256}, {SSHA512}) and PostfixAdmin's PLAIN-MD5. New passwords are always argon2id. Must not touch: where hashes are stored.
//! Verifying is CPU-heavy by design: call it from a blocking thread.
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use subtle::ConstantTimeEq;

/// A stored hash postern can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// argon2id / argon2i PHC strings (`$argon2id$...`).
    Argon2,
    /// `$6$...` SHA512-CRYPT (Dovecot's and PostfixAdmin's default).
    Sha512Crypt,
    /// `$5$...` SHA256-CRYPT.
    Sha256Crypt,
    /// `$2y$`/`$2b$`/`$2a$` BLF-CRYPT (bcrypt).
    Bcrypt,
    /// `$1$...` MD5-CRYPT (PostfixAdmin's old `md5crypt`).
    Md5Crypt,
    /// `{SHA}`/`{SHA256}`/`{SHA512}` and their salted `{SSHA…}` forms: base64 of the digest
    /// (of password + salt, the salt appended after the digest), as LDAP and Dovecot write them.
    Digest(Digest, Salted),
    /// `{PLAIN-MD5}` (hex, PostfixAdmin's `md5`) or `{MD5}`/`{LDAP-MD5}` (base64).
    PlainMd5,
    /// `{PLAIN}` / `{CLEARTEXT}`: compared in constant time.
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Salted {
    No,
    Yes,
}

/// Splits `{SCHEME}rest` into the upper-cased scheme name and the rest.
fn prefix(stored: &str) -> (Option<String>, &str) {
    if let Some(rest) = stored.strip_prefix('{')
        && let Some(end) = rest.find('}')
    {
        return (Some(rest[..end].to_ascii_uppercase()), &rest[end + 1..]);
    }
    (None, stored)
}

/// The scheme of `stored` and the hash without its prefix, or why it is not usable.
pub fn parse(stored: &str) -> Result<(Scheme, &str), String> {
    let (named, hash) = prefix(stored);
    let by_format = || {
        if hash.starts_with("$argon2") {
            Some(Scheme::Argon2)
        } else if hash.starts_with("$6$") {
            Some(Scheme::Sha512Crypt)
        } else if hash.starts_with("$5$") {
            Some(Scheme::Sha256Crypt)
        } else if ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
            Some(Scheme::Bcrypt)
        } else if hash.starts_with("$1$") {
            Some(Scheme::Md5Crypt)
        } else if hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            // PostfixAdmin's `encrypt = 'md5'` stores bare hex MD5 (Dovecot reads it with
            // default_pass_scheme = PLAIN-MD5).
            Some(Scheme::PlainMd5)
        } else {
            None
        }
    };
    let scheme = match named.as_deref() {
        None | Some("CRYPT") => by_format(),
        Some("ARGON2ID" | "ARGON2I") => Some(Scheme::Argon2).filter(|_| hash.starts_with("$argon2")),
        Some("SHA512-CRYPT") => Some(Scheme::Sha512Crypt).filter(|_| hash.starts_with("$6$")),
        Some("SHA256-CRYPT") => Some(Scheme::Sha256Crypt).filter(|_| hash.starts_with("$5$")),
        Some("BLF-CRYPT") => by_format().filter(|s| *s == Scheme::Bcrypt),
        Some("MD5-CRYPT") => Some(Scheme::Md5Crypt).filter(|_| hash.starts_with("$1$")),
        Some("SHA" | "SHA1") => Some(Scheme::Digest(Digest::Sha1, Salted::No)),
        Some("SSHA") => Some(Scheme::Digest(Digest::Sha1, Salted::Yes)),
        Some("SHA256") => Some(Scheme::Digest(Digest::Sha256, Salted::No)),
        Some("SSHA256") => Some(Scheme::Digest(Digest::Sha256, Salted::Yes)),
        Some("SHA512") => Some(Scheme::Digest(Digest::Sha512, Salted::No)),
        Some("SSHA512") => Some(Scheme::Digest(Digest::Sha512, Salted::Yes)),
        Some("PLAIN-MD5" | "MD5" | "LDAP-MD5") => Some(Scheme::PlainMd5),
        Some("PLAIN" | "CLEARTEXT") => Some(Scheme::Plain),
        Some(other) => return Err(format!("password scheme {{{other}}} is not supported")),
    };
    let scheme = scheme.ok_or_else(|| "not a recognised password hash".to_string())?;
    if scheme == Scheme::Argon2 {
        PasswordHash::new(hash).map_err(|e| format!("invalid argon2 hash: {e}"))?;
    }
    Ok((scheme, hash))
}

/// True when `password` matches `stored` (any scheme [`parse`] accepts).
pub fn verify(stored: &str, password: &str) -> bool {
    let Ok((scheme, hash)) = parse(stored) else { return false };
    match scheme {
        Scheme::Argon2 => PasswordHash::new(hash)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()),
        Scheme::Sha512Crypt => sha_crypt::sha512_check(password, hash).is_ok(),
        Scheme::Sha256Crypt => sha_crypt::sha256_check(password, hash).is_ok(),
        Scheme::Bcrypt => bcrypt::verify(password, hash).unwrap_or(false),
        Scheme::Md5Crypt => pwhash::md5_crypt::verify(password, hash),
        Scheme::Digest(d, salted) => verify_digest(d, salted, hash, password),
        Scheme::PlainMd5 => {
            use md5::Digest as _;
            let sum = md5::Md5::digest(password.as_bytes());
            let stored = if hash.len() == 32 { hex(hash) } else { b64(hash) };
            stored.is_some_and(|s| bool::from(sum.as_slice().ct_eq(&s)))
        }
        Scheme::Plain => bool::from(hash.as_bytes().ct_eq(password.as_bytes())),
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    (s.len() % 2 == 0).then_some(())?;
    s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok()).collect()
}

fn b64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// `{SHA…}`/`{SSHA…}`: base64(digest(password [+ salt]) [+ salt]).
fn verify_digest(d: Digest, salted: Salted, hash: &str, password: &str) -> bool {
    use sha2::Digest as _;
    let Some(raw) = b64(hash) else { return false };
    let len = match d {
        Digest::Sha1 => 20,
        Digest::Sha256 => 32,
        Digest::Sha512 => 64,
    };
    let ok_len = match salted {
        Salted::No => raw.len() == len,
        Salted::Yes => raw.len() > len,
    };
    if !ok_len {
        return false;
    }
    let (stored, salt) = raw.split_at(len);
    let input = [password.as_bytes(), salt].concat();
    let sum = match d {
        Digest::Sha1 => sha1::Sha1::digest(&input).to_vec(),
        Digest::Sha256 => sha2::Sha256::digest(&input).to_vec(),
        Digest::Sha512 => sha2::Sha512::digest(&input).to_vec(),
    };
    bool::from(sum.ct_eq(stored))
}

/// Verifying against this when a login is unknown keeps response time from telling which
/// names exist.
pub static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash("not a real password"));

/// A new argon2id PHC string for `password`.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_with_and_without_prefixes() {
        let argon = hash("pw");
        assert!(verify(&argon, "pw") && !verify(&argon, "other"));
        assert!(verify(&format!("{{ARGON2ID}}{argon}"), "pw"));
        // Made with glibc crypt(3) (Python `crypt.crypt("pw", "$6$saltsalt")`, and `$5$`).
        let sha512 = "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/";
        let sha256 = "$5$saltsalt$0rl.MZtoLLPP3X0Rdl8riRnphIcAXJY27/aOAyK2hB5";
        for (stored, scheme) in [
            (sha512.to_string(), Scheme::Sha512Crypt),
            (format!("{{SHA512-CRYPT}}{sha512}"), Scheme::Sha512Crypt),
            (format!("{{sha256-crypt}}{sha256}"), Scheme::Sha256Crypt),
        ] {
            assert_eq!(parse(&stored).unwrap().0, scheme);
            assert!(verify(&stored, "pw"), "{stored}");
            assert!(!verify(&stored, "pW"), "{stored}");
        }
        let blf = bcrypt::hash("pw", 4).unwrap().replacen("$2b$", "$2y$", 1);
        assert!(verify(&format!("{{BLF-CRYPT}}{blf}"), "pw"));
        assert!(verify("{PLAIN}pw", "pw") && !verify("{PLAIN}pw", "pw2"));
        // Python: hashlib.md5(b"pw").hexdigest(); crypt.crypt("pw", "$1$saltsalt");
        // base64(sha1(b"pw" + b"salt") + b"salt"); base64(sha256(b"pw")).
        for stored in [
            "{PLAIN-MD5}8fe4c11451281c094a6578e6ddbf5eed",
            "8fe4c11451281c094a6578e6ddbf5eed",
            "{MD5}j+TBFFEoHAlKZXjm3b9e7Q==",
            "$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1",
            "{MD5-CRYPT}$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1",
            "{SSHA}K/qCHdTzr1rftXNEV4Ob7XsySBlzYWx0",
            "{SHA256}MMlS+rEiw/l1nwKm2Vw3WLJGtP7iOZV7LU/uRuJhcMQ=",
        ] {
            assert!(verify(stored, "pw"), "{stored}");
            assert!(!verify(stored, "pw2"), "{stored}");
        }
    }

    #[test]
    fn unknown_or_mismatched_schemes_are_refused() {
        assert!(parse("{MD4}abc").unwrap_err().contains("MD4"));
        assert!(parse("plaintext").is_err());
        assert!(parse("{SHA512-CRYPT}$5$abc$def").is_err());
        assert!(!verify("{NOPE}x", "x"));
    }
}
