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
    c.expect("a13", "SELECT INBOX", "OK");
    // A charset postern does not search in is refused with NO, as RFC 3501 §6.4.4 says.
    let r = c.expect("a14", "SEARCH CHARSET KOI8-R TEXT x", "NO");
    assert!(r.last().unwrap().contains("[BADCHARSET (UTF-8 US-ASCII)]"), "{r:?}");
    c.expect("a15", "SEARCH CHARSET us-ascii ALL", "OK");
    c.expect("a16", "LOGOUT", "OK");
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
    assert!((1..20).contains(&refused), "{refused}");
    // Throttled: even the right password is refused from this address for now.
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    c.send(format!("r LOGIN {USER} \"{PASSWORD}\"\r\n").as_bytes());
    let rest = c.read_until_close();
    assert!(rest.iter().any(|l| l.starts_with("r NO")), "{rest:?}");
    let log = server.log_text();
    assert!(!log.contains("wrong1"), "a password reached the log");
}

#[test]
fn append_streams_its_literal_and_checks_size_quota_and_folder() {
    let server = imap::server_setup(
        |b| b.set("limits.message_size", 10_000),
        |s| {
            s.cli_ok(&["mailbox", "add", "bob@example.org", "--quota", "3000"], "bob pw\n");
        },
    );
    let mut c = imap::login(&server, "bob@example.org", "bob pw");
    let r = c.cmd("a1", "APPEND INBOX {20000}");
    assert!(r.last().unwrap().starts_with("a1 NO [TOOBIG]"), "{r:?}");
    // A LITERAL+ message over the quota is refused and skipped: the session goes on.
    let mut big = b"a2 APPEND INBOX {4000+}\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 4000));
    big.extend_from_slice(b"\r\n");
    c.send(&big);
    let r = c.until_tagged("a2");
    assert!(r.last().unwrap().starts_with("a2 NO [OVERQUOTA]"), "{r:?}");
    c.send(b"a3 APPEND Nope {7}\r\n");
    assert!(c.line().unwrap().starts_with("+ "));
    c.send(b"Hi\r\n\r\nx\r\n");
    let r = c.until_tagged("a3");
    assert!(r.last().unwrap().starts_with("a3 NO [TRYCREATE]"), "{r:?}");
    // LF-only message: stored as sent, served with CRLF and a CRLF size.
    let msg = b"From: bob@example.org\nSubject: lf only\n\nline one\nline two\n";
    let mut append = format!("a4 APPEND INBOX (\\Flagged $Work) \"01-Feb-2026 10:00:00 +0100\" {{{}+}}\r\n", msg.len()).into_bytes();
    append.extend_from_slice(msg);
    append.extend_from_slice(b"\r\n");
    c.send(&append);
    let r = c.until_tagged("a4");
    assert!(r.last().unwrap().contains("[APPENDUID ") && r.last().unwrap().ends_with("APPEND completed"), "{r:?}");
    c.expect("a5", "SELECT INBOX", "OK");
    let r = c.expect("a6", "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)", "OK");
    assert!(r[0].contains("\\Flagged") && r[0].contains("$Work") && r[0].contains("\"01-Feb-2026 09:00:00 +0000\""), "{r:?}");
    let crlf_len = msg.len() + msg.iter().filter(|&&b| b == b'\n').count();
    assert!(r[0].contains(&format!("RFC822.SIZE {crlf_len}")), "{r:?}");
    let r = c.expect("a7", "FETCH 1 BODY.PEEK[]", "OK");
    assert!(r[0].ends_with(&format!("BODY[] {{{crlf_len}}}")), "{r:?}");
    assert_eq!(r[1..5], ["From: bob@example.org", "Subject: lf only", "", "line one"], "{r:?}");
    let r = c.expect("a8", "GETQUOTAROOT INBOX", "OK");
    assert!(r.iter().any(|l| l.starts_with("* QUOTA \"\" (STORAGE ") && l.ends_with(" 2)")), "{r:?}");
    c.expect("a9", "LOGOUT", "OK");
}

#[test]
fn idle_sees_mail_dropped_in_by_another_program_and_expunge_rules_hold() {
    let server = imap::server();
    let mut c = imap::login(&server, USER, PASSWORD);
    imap::append_small(&mut c, 3);
    c.expect("s", "SELECT INBOX", "OK");
    // Another session deletes message 2 while this one is in a FETCH: no EXPUNGE then.
    let mut other = imap::login(&server, USER, PASSWORD);
    other.expect("o1", "SELECT INBOX", "OK");
    other.expect("o2", "STORE 2 +FLAGS.SILENT (\\Deleted)", "OK");
    other.expect("o3", "UID EXPUNGE 1:*", "OK");
    let r = c.expect("f", "FETCH 1:* (UID FLAGS)", "OK");
    assert!(!r.iter().any(|l| l.contains("EXPUNGE")), "{r:?}");
    let r = c.expect("n", "NOOP", "OK");
    assert!(r.contains(&"* 2 EXPUNGE".to_string()), "{r:?}");
    // A file dropped into new/ by another program (as Dovecot's LDA would, LF line ends).
    c.send(b"i IDLE\r\n");
    assert!(c.line().unwrap().starts_with("+ "));
    let new = support::routing::maildir(&server, USER).join("new/1700000000.M1P1.elsewhere");
    let dropped = b"Subject: dropped\n\nfrom outside\n";
    std::fs::write(&new, dropped).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(c.line().unwrap(), "* 3 EXISTS");
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());
    c.send(b"DONE\r\n");
    c.until_tagged("i");
    let r = c.expect("b", "FETCH 3 (RFC822.SIZE BODY.PEEK[])", "OK");
    let n = dropped.len() + 3;
    assert!(r[0].contains(&format!("RFC822.SIZE {n} BODY[] {{{n}}}")), "{r:?}");
    c.expect("x", "CLOSE", "OK");
    c.expect("y", "FETCH 1 FLAGS", "BAD");
}

#[test]
fn mailbox_management_list_extended_and_utf8_names() {
    let server = imap::server();
    let mut c = imap::login(&server, USER, PASSWORD);
    let r = c.expect("n", "NAMESPACE", "OK");
    assert_eq!(r[0], "* NAMESPACE ((\"\" \".\")) NIL NIL");
    c.expect("c1", "CREATE Projects.2026", "OK");
    c.expect("c2", "CREATE Projects", "NO");
    c.expect("c3", "CREATE &ANw-ber", "OK");
    let r = c.expect("l1", "LIST \"\" %", "OK");
    assert!(r.iter().any(|l| l == "* LIST (\\HasChildren) \".\" \"Projects\""), "{r:?}");
    assert!(r.iter().any(|l| l == "* LIST (\\HasNoChildren) \".\" \"&ANw-ber\""), "{r:?}");
    assert!(!r.iter().any(|l| l.contains("Projects.2026")), "{r:?}");
    let r = c.expect("l2", "LIST \"\" Projects.*", "OK");
    assert_eq!(r.len(), 2, "{r:?}");
    c.expect("s1", "SUBSCRIBE Projects.2026", "OK");
    let r = c.expect("l3", "LIST (SUBSCRIBED) \"\" \"*\" RETURN (STATUS (MESSAGES UIDNEXT) SPECIAL-USE)", "OK");
    assert!(r.iter().any(|l| l.contains("\\Subscribed") && l.contains("\"Projects.2026\"")), "{r:?}");
    assert!(r.iter().any(|l| l.starts_with("* STATUS \"Projects.2026\" (MESSAGES 0 UIDNEXT ")), "{r:?}");
    assert!(r.iter().any(|l| l.contains("\\Sent")), "special-use folders are subscribed at first login: {r:?}");
    let r = c.expect("l4", "LSUB \"\" Projects.%", "OK");
    assert_eq!(r[0], "* LSUB () \".\" \"Projects.2026\"");
    c.expect("r1", "RENAME Projects.2026 Archive2026", "OK");
    c.expect("st", "STATUS Projects.2026 (MESSAGES)", "NO");
    c.expect("st2", "STATUS Archive2026 (MESSAGES UNSEEN)", "OK");
    c.expect("d1", "DELETE Archive2026", "OK");
    c.expect("d2", "DELETE INBOX", "NO");
    // UTF8=ACCEPT: names are UTF-8 on the wire, modified UTF-7 on disk.
    let r = c.expect("e", "ENABLE UTF8=ACCEPT", "OK");
    assert_eq!(r[0], "* ENABLED UTF8=ACCEPT");
    let r = c.expect("l5", "LIST \"\" \"*ber\"", "OK");
    assert!(r.iter().any(|l| l.ends_with("\"Über\"")), "{r:?}");
    c.expect("c4", "CREATE \"Grüße\"", "OK");
    assert!(support::routing::maildir(&server, USER).join(".Gr&APwA3w-e").is_dir());
    c.expect("x", "SELECT \"Grüße\"", "OK");
    let r = c.expect("q", "GETQUOTAROOT INBOX", "OK");
    assert_eq!(r[0], "* QUOTAROOT \"INBOX\" \"\"");
    c.expect("o", "LOGOUT", "OK");
}

/// Sessions on one folder share its view until one changes it: each still gets exactly
/// the updates it has not seen, with sequence numbers of its own view.
#[test]
fn three_sessions_on_one_folder_each_see_the_others_changes() {
    let server = imap::server();
    let mut a = imap::login(&server, USER, PASSWORD);
    imap::append_small(&mut a, 5);
    let mut b = imap::login(&server, USER, PASSWORD);
    let mut c = imap::login(&server, USER, PASSWORD);
    for (s, t) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
        let r = s.expect(t, "SELECT INBOX", "OK");
        assert!(r.contains(&"* 5 EXISTS".to_string()), "{r:?}");
    }
    // a flags 2 and 4; b adds \Seen to 4 without having heard of a's change: +FLAGS
    // keeps a's \Flagged, and b's copy of the view learns it from the STORE.
    a.expect("a1", "STORE 2,4 +FLAGS.SILENT (\\Flagged)", "OK");
    let r = b.expect("b1", "STORE 4 +FLAGS (\\Seen)", "OK");
    assert!(r.contains(&"* 4 FETCH (FLAGS (\\Seen \\Flagged))".to_string()), "{r:?}");
    let r = b.expect("b2", "NOOP", "OK");
    assert_eq!(r, ["* 2 FETCH (UID 2 FLAGS (\\Flagged))", "b2 OK NOOP completed"]);
    let r = c.expect("c0", "NOOP", "OK");
    assert!(r.contains(&"* 4 FETCH (UID 4 FLAGS (\\Seen \\Flagged))".to_string()), "{r:?}");
    // c expunges 1 and 3 while a delivery arrives over SMTP.
    c.expect("c1", "STORE 1,3 +FLAGS.SILENT (\\Deleted)", "OK");
    let r = c.expect("c2", "EXPUNGE", "OK");
    assert_eq!(r.iter().filter(|l| l.ends_with("EXPUNGE")).cloned().collect::<Vec<_>>(), ["* 3 EXPUNGE", "* 1 EXPUNGE"], "{r:?}");
    let mut smtp = support::dialog::Dialog::connect(server.smtp());
    smtp.ehlo();
    smtp.send_mail("x@remote.test", &[USER], "Subject: new\r\n\r\nhi\r\n");
    for (s, t) in [(&mut a, "a2"), (&mut b, "b3")] {
        let r = s.expect(t, "NOOP", "OK");
        let updates: Vec<&String> = r.iter().filter(|l| l.ends_with("EXPUNGE") || l.ends_with("EXISTS")).collect();
        // Within 1 s of each other the delivery may or may not have landed yet.
        assert_eq!(&updates[..2], ["* 3 EXPUNGE", "* 1 EXPUNGE"], "{r:?}");
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut views = Vec::new();
    for (s, t) in [(&mut a, "a3"), (&mut b, "b4"), (&mut c, "c3")] {
        s.expect(&format!("{t}n"), "NOOP", "OK");
        let r = s.expect(t, "FETCH 1:* (UID FLAGS)", "OK");
        views.push(r.into_iter().filter(|l| l.starts_with("* ")).collect::<Vec<_>>());
    }
    assert_eq!(views[0].len(), 4, "{views:?}");
    assert!(views[0][0].contains("UID 2 FLAGS (\\Flagged)") && views[0][3].contains("UID 6"), "{views:?}");
    assert!(views.iter().all(|v| v == &views[0]), "{views:?}");
}
