//! Password hashes made by independent tools, for checking that postern verifies what real
//! deployments store: Dovecot's `doveadm pw` (with the `{SCHEME}` prefix), `mkpasswd` from
//! Debian's whois package (a bare crypt string, as PostfixAdmin keeps md5crypt/sha512crypt
//! passwords) and Python's passlib. Each call makes a new salt.
use std::process::Command;

use super::peers::{require_python, require_tool, run};

/// `doveadm pw -s SCHEME -p PASSWORD`, e.g. SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, ARGON2ID,
/// MD5-CRYPT, SSHA, SSHA512, PLAIN-MD5, CRAM-MD5: `{SHA512-CRYPT}$6$...`.
/// Runs with an empty configuration (`-c /dev/null`): doveadm does not need the system's
/// /etc/dovecot for `pw`, and a broken or absent one must not matter.
#[track_caller]
pub fn doveadm(scheme: &str, password: &str) -> String {
    let doveadm = require_tool("doveadm");
    let out = run(
        Command::new(doveadm).args(["-c", "/dev/null", "pw", "-s", scheme, "-p", password]),
        b"",
    );
    out.assert_ok();
    let hash = out.stdout.trim().to_string();
    assert!(
        hash.starts_with(&format!("{{{scheme}}}")),
        "doveadm pw -s {scheme}: unexpected output {:?}",
        out.all()
    );
    hash
}

/// `mkpasswd -m METHOD PASSWORD` with METHOD sha-512, sha-256, md5, bcrypt, yescrypt, ...:
/// the bare crypt string (`$6$salt$...`, `$5$`, `$1$`, `$2b$`, `$y$`).
#[track_caller]
pub fn mkpasswd(method: &str, password: &str) -> String {
    let mkpasswd = require_tool("mkpasswd");
    let out = run(Command::new(mkpasswd).args(["-m", method, password]), b"");
    out.assert_ok();
    let hash = out.stdout.trim().to_string();
    assert!(
        hash.starts_with('$'),
        "mkpasswd -m {method}: unexpected output {:?}",
        out.all()
    );
    hash
}

/// `passlib.hash.<expr>.hash(password)`. `expr` is a passlib handler name, optionally
/// configured: `ldap_salted_sha1` (`{SSHA}...`), `ldap_md5` (`{MD5}`, base64),
/// `ldap_salted_md5` (`{SMD5}`), `ldap_sha1` (`{SHA}`), `hex_md5` (bare md5 hex, PostfixAdmin's
/// PLAIN-MD5 / `md5` storage), `md5_crypt` (`$1$`), `sha256_crypt` / `sha512_crypt` (`$5$` /
/// `$6$`, passlib writes `rounds=` explicitly), `bcrypt` (`$2b$`), `argon2` (`$argon2id$`),
/// or e.g. `sha512_crypt.using(rounds=5000)`, `bcrypt.using(ident="2y")`.
#[track_caller]
pub fn passlib(expr: &str, password: &str) -> String {
    let py = require_python(&["passlib.hash"]);
    let code = "import sys, warnings\n\
                warnings.simplefilter('ignore')\n\
                import passlib.hash\n\
                print(eval('passlib.hash.' + sys.argv[1]).hash(sys.argv[2]))";
    let out = run(Command::new(py).args(["-c", code, expr, password]), b"");
    out.assert_ok();
    let hash = out.stdout.trim().to_string();
    assert!(
        !hash.is_empty() && !hash.contains('\n'),
        "passlib {expr}: unexpected output {:?}",
        out.all()
    );
    hash
}
