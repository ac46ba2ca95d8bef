//! IMAP raw dialogs against the real binary: what a client may do before login, and bad
//! input. Port 143 (`imap`) refuses passwords before STARTTLS (LOGINDISABLED); pipelined
//! bytes after STARTTLS close the connection; overlong lines and literals, unknown
//! commands, commands in the wrong state and syntax errors get a tagged BAD (or a BYE and
//! a clean close), never a crash; 20 wrong passwords are throttled with a clean close.
mod support;

use support::imap::{self, Imap, PASSWORD, USER};

#[test]
fn port_143_offers_starttls_and_refuses_passwords_in_clear() {
    let mut server = imap::server();
    let mut c = Imap::connect(server.addr("imap"));
    assert!(c.greeting.contains("STARTTLS") && c.greeting.contains("LOGINDISABLED"), "{}", c.greeting);
    assert!(!c.greeting.contains("AUTH=PLAIN"), "{}", c.greeting);
    let r = c.expect("a1", &format!("LOGIN {USER} \"{PASSWORD}\""), "NO");
    assert!(r.last().unwrap().contains("PRIVACYREQUIRED"), "{r:?}");
    c.expect("a2", "AUTHENTICATE PLAIN AGFsaWNlAHB3", "NO");
    c.starttls(&server.cert_path());
    let caps = c.expect("a3", "CAPABILITY", "OK");
    assert!(caps[0].contains("AUTH=PLAIN") && !caps[0].contains("STARTTLS") && !caps[0].contains("LOGINDISABLED"), "{caps:?}");
    c.expect("a4", &format!("LOGIN {USER} \"{PASSWORD}\""), "OK");
    c.expect("a5", "LOGOUT", "OK");
    assert!(server.is_running());
}

#[test]
fn pipelined_bytes_after_starttls_close_the_connection() {
    let server = imap::server();
    let mut c = Imap::connect(server.addr("imap"));
    c.send(b"a STARTTLS\r\nb LOGIN alice pw\r\n");
    let rest = c.read_until_close();
    assert!(rest.iter().any(|l| l.starts_with("a BAD")), "{rest:?}");
    assert!(!rest.iter().any(|l| l.starts_with("b ")), "{rest:?}");
}

#[test]
fn bad_input_gets_bad_and_the_session_survives() {
    let server = imap::server();
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    assert!(c.greeting.contains("AUTH=PLAIN"), "{}", c.greeting);
    c.expect("a1", "FROBNICATE", "BAD");
    c.expect("a2", "SELECT INBOX", "BAD");
    c.expect("a3", "FETCH 1 FLAGS", "BAD");
    c.expect("a4", "LOGIN", "BAD");
    c.expect("a5", "LOGIN \"unterminated", "BAD");
    // An untagged line cannot be answered with a tag.
    c.send(b"(\r\n");
    assert!(c.line().unwrap().starts_with("* BAD"));
    // A synchronizing literal over the limit is refused before the client sends it.
    let r = c.cmd("a6", "LOGIN {10000000}");
    assert!(r.last().unwrap().starts_with("a6 BAD"), "{r:?}");
    // Literals that fit are collected with a continuation.
    c.send(b"a7 ID {4}\r\n");
    assert!(c.line().unwrap().starts_with("+ "));
    c.send(b"name NIL)\r\n");
    c.until_tagged("a7");
    c.send(b"a8 ID (\"name\" {7+}\r\npostern)\r\n");
    let r = c.until_tagged("a8");
    assert!(r.last().unwrap().starts_with("a8 OK"), "{r:?}");
    c.expect("a9", "NOOP", "OK");
    c.expect("a10", &format!("LOGIN {USER} \"{PASSWORD}\""), "OK");
    c.expect("a11", &format!("LOGIN {USER} \"{PASSWORD}\""), "BAD");
    c.expect("a12", "FETCH 1 FLAGS", "BAD");
    c.expect("a13", "LOGOUT", "OK");
}

#[test]
fn overlong_lines_and_literal_plus_floods_end_the_connection() {
    let server = imap::server();
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    let mut long = b"a1 NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 200_000));
    long.extend_from_slice(b"\r\n");
    c.send(&long);
    let rest = c.read_until_close();
    assert!(rest.iter().any(|l| l.starts_with("* BAD")) && rest.iter().any(|l| l.starts_with("* BYE")), "{rest:?}");

    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    c.send(b"a1 LOGIN {900000+}\r\n");
    let rest = c.read_until_close();
    assert!(rest.iter().any(|l| l.starts_with("a1 BAD")), "{rest:?}");
    // The server is still there.
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    c.expect("z", "LOGOUT", "OK");
}

#[test]
fn twenty_wrong_passwords_are_throttled_and_disconnected_cleanly() {
    let server = imap::server_with(|b| b.set("limits.auth_failure_delay", "1s"));
    let mut refused = 0;
    let mut closed = false;
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    for i in 0..20 {
        c.send(format!("t{i} LOGIN {USER} wrong{i}\r\n").as_bytes());
        let mut lines = Vec::new();
        let done = loop {
            match c.line() {
                Some(l) if l.starts_with(&format!("t{i} ")) => break Some(l),
                Some(l) => lines.push(l),
                None => break None,
            }
        };
        match done {
            Some(l) if l.contains("[AUTHENTICATIONFAILED]") => refused += 1,
            Some(l) if l.contains("[UNAVAILABLE]") => {
                assert!(c.read_until_close().iter().any(|l| l.starts_with("* BYE")));
                closed = true;
                break;
            }
            other => panic!("login {i}: {other:?} after {lines:?}"),
        }
    }
    assert!(closed, "never throttled after {refused} failures");
    assert!(refused >= 1 && refused < 20, "{refused}");
    // Throttled: even the right password is refused from this address for now.
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    c.send(format!("r LOGIN {USER} \"{PASSWORD}\"\r\n").as_bytes());
    let rest = c.read_until_close();
    assert!(rest.iter().any(|l| l.starts_with("r NO")), "{rest:?}");
    let log = server.log_text();
    assert!(!log.contains("wrong1"), "a password reached the log");
}
