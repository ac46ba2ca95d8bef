//! CONDSTORE (RFC 7162) against the real binary: raw dialogs for every piece (the
//! capability, ENABLE, SELECT/EXAMINE (CONDSTORE) and HIGHESTMODSEQ, FETCH MODSEQ and
//! CHANGEDSINCE, STORE UNCHANGEDSINCE with [MODIFIED], SEARCH MODSEQ, STATUS
//! HIGHESTMODSEQ, MODSEQ in untagged updates), a flag change made by another program
//! (a rename, as Dovecot does it) seen as a higher MODSEQ, a real Dovecot 2.3 serving the
//! same Maildir at the same time changing flags that postern then reports with higher
//! MODSEQs (and refuses an UNCHANGEDSINCE STORE over), and Python's imapclient, a client
//! nobody here wrote, using it.
mod support;

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::dovecot::Dovecot;
use support::imap::{self, Imap, PASSWORD, USER};
use support::peers::{require_python, run};

/// The kernel stamps ctime (our MODSEQ) from a clock that ticks every few ms: changes
/// the test wants ordered are this far apart.
fn tick() {
    std::thread::sleep(Duration::from_millis(25));
}

/// The number after `key ` (or `key (`) in a response line.
fn num(line: &str, key: &str) -> u64 {
    let at = line.find(key).unwrap_or_else(|| panic!("{key} not in {line}")) + key.len();
    let digits: String = line[at..].trim_start_matches([' ', '(']).chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {key} in {line}"))
}

#[test]
fn condstore_dialog_modseqs_rise_and_conflicts_are_reported() {
    let server = imap::server();
    let mut c = imap::login(&server, USER, PASSWORD);
    let caps = c.expect("c", "CAPABILITY", "OK");
    assert!(caps[0].contains(" CONDSTORE"), "{caps:?}");
    imap::append_small(&mut c, 3);
    // Without CONDSTORE: no HIGHESTMODSEQ, no MODSEQ in STORE responses.
    let r = c.expect("s0", "SELECT INBOX", "OK");
    assert!(!r.iter().any(|l| l.contains("HIGHESTMODSEQ")), "{r:?}");
    let r = c.expect("t0", "STORE 1 +FLAGS (\\Answered)", "OK");
    assert!(!r[0].contains("MODSEQ"), "{r:?}");
    // SELECT (CONDSTORE) enables it.
    let r = c.expect("s1", "SELECT INBOX (CONDSTORE)", "OK");
    let highest = num(r.iter().find(|l| l.contains("[HIGHESTMODSEQ ")).unwrap_or_else(|| panic!("{r:?}")), "HIGHESTMODSEQ");
    let r = c.expect("f1", "FETCH 1:* (MODSEQ)", "OK");
    assert_eq!(r.len(), 4, "{r:?}");
    let before: Vec<u64> = r[..3].iter().map(|l| num(l, "MODSEQ")).collect();
    assert!(before.iter().all(|&m| m > 0 && m <= highest), "{before:?} vs {highest}");

    tick();
    let r = c.expect("t1", "STORE 2 +FLAGS (\\Seen)", "OK");
    assert!(r[0].starts_with("* 2 FETCH (FLAGS (\\Seen) MODSEQ ("), "{r:?}");
    let m2 = num(&r[0], "MODSEQ");
    assert!(m2 > highest, "{m2} > {highest}");
    // CHANGEDSINCE: only message 2, with its MODSEQ though the client did not ask.
    let r = c.expect("f3", &format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})"), "OK");
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0], format!("* 2 FETCH (FLAGS (\\Seen) MODSEQ ({m2}))"));
    let r = c.expect("f4", &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {m2})"), "OK");
    assert_eq!(r.len(), 1, "nothing changed since {m2}: {r:?}");

    // UNCHANGEDSINCE the old HIGHESTMODSEQ: message 2 changed since, the others are stored.
    tick();
    let r = c.expect("t2", &format!("STORE 1:3 (UNCHANGEDSINCE {highest}) +FLAGS (\\Flagged)"), "OK");
    assert!(r.last().unwrap().starts_with("t2 OK [MODIFIED 2]"), "{r:?}");
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with("* 1 FETCH (FLAGS (\\Answered \\Flagged) MODSEQ (") && r[1].starts_with("* 3 FETCH (FLAGS (\\Flagged) MODSEQ ("), "{r:?}");
    let m3 = num(&r[1], "MODSEQ");
    assert!(m3 > m2);
    let r = c.expect("f5", "FETCH 2 (FLAGS)", "OK");
    assert!(!r[0].contains("Flagged"), "a conflicting STORE must not change the message: {r:?}");
    // UID STORE UNCHANGEDSINCE 0 always conflicts (RFC 7162 §3.1.3), reported by UID.
    let r = c.expect("t3", "UID STORE 1:* (UNCHANGEDSINCE 0) -FLAGS.SILENT (\\Flagged)", "OK");
    assert_eq!(r, ["t3 OK [MODIFIED 1,2,3] STORE completed"]);
    // .SILENT still reports the new MODSEQ of the messages it changed.
    tick();
    let r = c.expect("t4", &format!("UID STORE 3 (UNCHANGEDSINCE {m3}) -FLAGS.SILENT (\\Flagged)"), "OK");
    assert!(r[0].starts_with("* 3 FETCH (UID 3 MODSEQ (") && !r[0].contains("FLAGS"), "{r:?}");
    let m3b = num(&r[0], "MODSEQ");
    assert!(m3b > m3);

    // SEARCH MODSEQ ends with the highest MODSEQ of the hits.
    let r = c.expect("q1", &format!("SEARCH MODSEQ {}", m2 + 1), "OK");
    assert_eq!(r[0], format!("* SEARCH 1 3 (MODSEQ {m3b})"));
    let r = c.expect("q2", "UID SEARCH MODSEQ \"/flags/\\\\draft\" all 1 UNSEEN", "OK");
    assert!(r[0].starts_with("* SEARCH 1 3 (MODSEQ "), "{r:?}");
    let r = c.expect("q3", "SEARCH SEEN", "OK");
    assert_eq!(r[0], "* SEARCH 2", "no MODSEQ without a MODSEQ key: {r:?}");

    // Another program (Dovecot, a client on the same disk) renames message 1's file to
    // change its flags: the next NOOP reports it with a higher MODSEQ.
    tick();
    let cur = support::routing::maildir(&server, USER).join("cur");
    let f1 = std::fs::read_dir(&cur).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect::<Vec<_>>();
    let f1 = f1.iter().find(|n| n.ends_with(":2,FR")).unwrap_or_else(|| panic!("message 1 with F and R (\\Flagged \\Answered): {f1:?}")).clone();
    std::fs::rename(cur.join(&f1), cur.join(f1.replace(":2,FR", ":2,DFR"))).unwrap();
    let r = c.expect("n1", "NOOP", "OK");
    assert!(r[0].starts_with("* 1 FETCH (UID 1 FLAGS (\\Answered \\Flagged \\Draft) MODSEQ ("), "{r:?}");
    let m1 = num(&r[0], "MODSEQ");
    assert!(m1 > m3b, "{m1} > {m3b}");

    // STATUS HIGHESTMODSEQ, and it does not go down when that message is expunged.
    let r = c.expect("st1", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)", "OK");
    let h1 = num(&r[0], "HIGHESTMODSEQ");
    assert!(h1 >= m1, "{r:?}");
    tick();
    c.expect("t5", "STORE 1 +FLAGS.SILENT (\\Deleted)", "OK");
    c.expect("x", "EXPUNGE", "OK");
    let r = c.expect("st2", "STATUS INBOX (HIGHESTMODSEQ)", "OK");
    assert!(num(&r[0], "HIGHESTMODSEQ") > h1, "{r:?} vs {h1}");

    // COPY hard-links the file, which raises its ctime without touching the folder: a
    // conditional STORE with the MODSEQ read before may conflict, but then FETCH MODSEQ
    // gives the new value and the retry passes (no endless MODIFIED loop).
    tick();
    c.expect("cp", "UID COPY 3 Sent", "OK");
    let mut attempts = Vec::new();
    for round in 0..2 {
        let r = c.expect(&format!("m{round}"), "UID FETCH 3 (MODSEQ)", "OK");
        let seen = num(&r[0], "MODSEQ");
        let r = c.expect(&format!("r{round}"), &format!("UID STORE 3 (UNCHANGEDSINCE {seen}) +FLAGS.SILENT ($Retry)"), "OK");
        attempts.push(r.last().unwrap().clone());
        if !r.last().unwrap().contains("[MODIFIED") {
            break;
        }
    }
    eprintln!("conditional STOREs after COPY: {attempts:?}");
    assert!(!attempts.last().unwrap().contains("[MODIFIED"), "the retry must pass: {attempts:?}");

    // Syntax: unknown modifiers and select parameters are BAD, the session goes on.
    c.expect("b1", "FETCH 1 (FLAGS) (CHANGEDSINCE)", "BAD");
    c.expect("b2", "STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", "BAD");
    c.expect("b3", "EXAMINE INBOX (QRESYNC (1 2))", "BAD");
    c.expect("o", "LOGOUT", "OK");

    // ENABLE CONDSTORE in a new session: EXAMINE then shows HIGHESTMODSEQ.
    let mut d = imap::login(&server, USER, PASSWORD);
    let r = d.expect("e", "ENABLE CONDSTORE", "OK");
    assert_eq!(r[0], "* ENABLED CONDSTORE");
    let r = d.expect("s", "EXAMINE INBOX", "OK");
    assert!(r.iter().any(|l| l.starts_with("* OK [HIGHESTMODSEQ ")), "{r:?}");
    d.expect("t", "STORE 1 +FLAGS (\\Seen)", "NO");
    d.expect("o", "LOGOUT", "OK");
}

#[test]
fn imapclient_sees_modseqs_rise_changedsince_and_unchangedsince_conflicts() {
    let server = imap::server();
    let mut c = imap::login(&server, USER, PASSWORD);
    imap::append_small(&mut c, 3);
    c.expect("o", "LOGOUT", "OK");
    let py = require_python(&["imapclient"]);
    let script = r#"
import json, ssl, sys, time
from imapclient import IMAPClient
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = IMAPClient("localhost", port=int(sys.argv[1]), ssl=True, ssl_context=ctx)
c.login(sys.argv[3], sys.argv[4])
caps = [x.decode() for x in c.capabilities()]
status = c.folder_status("INBOX", ["HIGHESTMODSEQ", "MESSAGES"])
enabled = [x.decode() for x in c.enable("CONDSTORE")]
sel = c.select_folder("INBOX")
highest = sel[b"HIGHESTMODSEQ"]
before = {u: d[b"MODSEQ"][0] for u, d in c.fetch([1, 2, 3], ["MODSEQ"]).items()}
time.sleep(0.05)
c.add_flags([2], [b"\\Flagged"])
after = {u: d[b"MODSEQ"][0] for u, d in c.fetch([1, 2, 3], ["MODSEQ"]).items()}
changed = c.fetch([1, 2, 3], ["FLAGS"], modifiers=["CHANGEDSINCE %d" % highest])
# imapclient has no UNCHANGEDSINCE API: its imaplib connection sends the command, and
# imaplib files the [MODIFIED set] response code under MODIFIED.
typ, _ = c._imap.uid("STORE", "1:3", "(UNCHANGEDSINCE %d)" % highest, "+FLAGS", "(\\Seen)")
conflict = b" ".join(c._imap.untagged_responses.pop("MODIFIED", [b"none"]))
final = c.fetch([1, 2, 3], ["FLAGS", "MODSEQ"])
seen = {u: [f.decode() for f in d[b"FLAGS"]] for u, d in final.items()}
modseqs = {u: d[b"MODSEQ"][0] for u, d in final.items()}
searched = c.search(["MODSEQ", str(highest + 1)])
c.logout()
print(json.dumps({"caps": caps, "status": {k.decode(): v for k, v in status.items()}, "highest": highest,
                  "before": before, "after": after, "changed": {u: d[b"MODSEQ"][0] for u, d in changed.items()},
                  "conflict": typ + " " + conflict.decode(), "enabled": enabled,
                  "seen": seen, "modseqs": modseqs, "searched": list(searched), "search_modseq": getattr(searched, "modseq", None)}))
"#;
    let port = server.addr("imaps").port().to_string();
    let r = run(Command::new(py).args(["-c", script, &port, server.cert_path().to_str().unwrap(), USER, PASSWORD]), b"");
    r.assert_ok();
    let o: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.all()));
    assert!(o["caps"].as_array().unwrap().iter().any(|c| c == "CONDSTORE"), "{o}");
    let highest = o["highest"].as_u64().unwrap();
    assert!(o["status"]["HIGHESTMODSEQ"].as_u64().unwrap() <= highest, "{o}");
    assert_eq!(o["status"]["MESSAGES"], 3);
    let (b, a) = (&o["before"], &o["after"]);
    assert!(a["2"].as_u64().unwrap() > b["2"].as_u64().unwrap(), "MODSEQ of message 2 must rise: {o}");
    assert_eq!(a["1"], b["1"], "{o}");
    assert_eq!(a["3"], b["3"], "{o}");
    assert_eq!(o["changed"], serde_json::json!({"2": a["2"]}), "CHANGEDSINCE returns only the changed message: {o}");
    assert_eq!(o["conflict"], "OK 2", "UID STORE UNCHANGEDSINCE reports [MODIFIED 2]: {o}");
    assert_eq!(o["enabled"], serde_json::json!(["CONDSTORE"]), "{o}");
    let seen = &o["seen"];
    assert!(seen["1"].to_string().contains("Seen") && seen["3"].to_string().contains("Seen"), "{o}");
    assert!(!seen["2"].to_string().contains("Seen"), "the conflicting message must stay unchanged: {o}");
    assert_eq!(o["searched"], serde_json::json!([1, 2, 3]), "{o}");
    // The conflicting STORE raised the MODSEQs of 1 and 3; SEARCH ends with the highest.
    let modseqs = &o["modseqs"];
    assert!(modseqs["1"].as_u64().unwrap() > a["1"].as_u64().unwrap() && modseqs["3"].as_u64().unwrap() > a["3"].as_u64().unwrap(), "{o}");
    assert_eq!(o["search_modseq"], [&modseqs["1"], &modseqs["2"], &modseqs["3"]].iter().map(|v| v.as_u64().unwrap()).max().unwrap(), "{o}");
}

#[test]
fn a_flag_change_made_by_dovecot_on_the_same_maildir_raises_the_modseq() {
    let server = imap::server();
    let mut c = imap::login(&server, USER, PASSWORD);
    imap::append_small(&mut c, 2);
    // Dovecot serves the same Maildir (postern's layout: data/mail/<domain>/<user>). It
    // starts first: it hands the tree to `nobody`, and a chown raises every ctime.
    let mail_root = server.dir().join("data/mail");
    let dovecot = Dovecot::start(&mail_root, &[(USER, PASSWORD)]);
    let r = c.expect("s", "SELECT INBOX (CONDSTORE)", "OK");
    let highest = num(r.iter().find(|l| l.contains("[HIGHESTMODSEQ ")).unwrap_or_else(|| panic!("{r:?}")), "HIGHESTMODSEQ");
    let r = c.expect("f", "FETCH 1:* (MODSEQ)", "OK");
    let m1 = num(&r[0], "MODSEQ");
    let mut d = Imap::connect(dovecot.imap);
    d.expect("l", &format!("LOGIN {USER} \"{PASSWORD}\""), "OK");
    d.expect("s", "SELECT INBOX", "OK");
    tick();
    let r = d.expect("t", "UID STORE 1 +FLAGS (\\Flagged $Dovecot)", "OK");
    assert!(r[0].contains("\\Flagged"), "Dovecot: {r:?}\n{}", dovecot.log());

    let r = c.expect("n", "NOOP", "OK");
    let update = r.iter().find(|l| l.starts_with("* 1 FETCH ")).unwrap_or_else(|| panic!("no update for Dovecot's change: {r:?}"));
    assert!(update.contains("\\Flagged") && update.contains("$Dovecot"), "{r:?}");
    let m1b = num(update, "MODSEQ");
    assert!(m1b > m1 && m1b > highest, "{m1b} > {m1}, {highest}");
    let r = c.expect("c", &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})"), "OK");
    assert_eq!(r.len(), 2, "only Dovecot's message changed: {r:?}");
    assert!(r[0].starts_with("* 1 FETCH (UID 1 FLAGS (\\Flagged $Dovecot) MODSEQ ("), "{r:?}");
    // A client that read the flags before Dovecot's change: its conditional STORE fails.
    let r = c.expect("u", &format!("UID STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)"), "OK");
    assert!(r.last().unwrap().starts_with("u OK [MODIFIED 1]"), "{r:?}");
    // And Dovecot sees postern's change of message 2 (it rescans the Maildir on NOOP).
    d.expect("n", "NOOP", "OK");
    let r = d.expect("f", "UID FETCH 2 (FLAGS)", "OK");
    assert!(r.iter().any(|l| l.contains("\\Seen")), "Dovecot: {r:?}");
    d.expect("o", "LOGOUT", "OK");
    c.expect("o", "LOGOUT", "OK");
}

/// QRESYNC (RFC 7162 §3.2): ENABLE, SELECT (QRESYNC ...) with VANISHED (EARLIER) and the
/// flags changed since the client's mod-sequence, VANISHED instead of EXPUNGE for
/// changes by another session and by EXPUNGE itself, UID FETCH (CHANGEDSINCE n VANISHED)
/// and [CLOSED]; refused with BAD when not enabled.
#[test]
fn qresync_resyncs_a_returning_client_and_reports_vanished_uids() {
    let server = imap::server();
    let mut a = imap::login(&server, USER, PASSWORD);
    let caps = a.expect("c", "CAPABILITY", "OK");
    assert!(caps[0].contains(" QRESYNC"), "{caps:?}");
    imap::append_small(&mut a, 5);
    // Not enabled yet: the QRESYNC parameter and the VANISHED modifier are refused.
    a.expect("b1", "SELECT INBOX (QRESYNC (1 1))", "BAD");
    a.expect("b2", "SELECT INBOX", "OK");
    a.expect("b3", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD");
    let r = a.expect("e", "ENABLE QRESYNC", "OK");
    assert_eq!(r[0], "* ENABLED QRESYNC");
    let r = a.expect("s", "SELECT INBOX", "OK");
    assert_eq!(r[0], "* OK [CLOSED] Previous mailbox closed", "{r:?}");
    let validity = num(r.iter().find(|l| l.contains("[UIDVALIDITY ")).unwrap(), "UIDVALIDITY");
    let highest = num(r.iter().find(|l| l.contains("[HIGHESTMODSEQ ")).unwrap_or_else(|| panic!("{r:?}")), "HIGHESTMODSEQ");

    // Another session (without QRESYNC) expunges UID 2 and flags UID 4.
    tick();
    let mut b = imap::login(&server, USER, PASSWORD);
    b.expect("o1", "SELECT INBOX", "OK");
    b.expect("o2", "STORE 2 +FLAGS.SILENT (\\Deleted)", "OK");
    let r = b.expect("o3", "EXPUNGE", "OK");
    assert!(r.contains(&"* 2 EXPUNGE".to_string()), "{r:?}");
    b.expect("o4", "UID STORE 4 +FLAGS.SILENT (\\Flagged)", "OK");
    let r = a.expect("n", "NOOP", "OK");
    assert!(r.contains(&"* VANISHED 2".to_string()) && !r.iter().any(|l| l.ends_with("EXPUNGE")), "{r:?}");
    assert!(r.iter().any(|l| l.starts_with("* 3 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (")), "{r:?}");

    // A client coming back with what it knew: UIDs 1:5 and the old HIGHESTMODSEQ.
    let mut c = imap::login(&server, USER, PASSWORD);
    c.expect("e", "ENABLE QRESYNC", "OK");
    let r = c.expect("q", &format!("SELECT INBOX (QRESYNC ({validity} {highest} 1:5))"), "OK");
    let vanished: Vec<&String> = r.iter().filter(|l| l.starts_with("* VANISHED")).collect();
    assert_eq!(vanished, ["* VANISHED (EARLIER) 2"], "{r:?}");
    let fetches: Vec<&String> = r.iter().filter(|l| l.contains(" FETCH ")).collect();
    assert_eq!(fetches.len(), 1, "{r:?}");
    assert!(fetches[0].starts_with("* 3 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ ("), "{r:?}");
    // Sequence match data is accepted; a stale UIDVALIDITY is a plain SELECT.
    let r = c.expect("q2", &format!("EXAMINE INBOX (QRESYNC ({validity} {highest} 1:5 (1:3 1:3)))"), "OK");
    assert!(r[0].starts_with("* OK [CLOSED]") && r.iter().any(|l| l == "* VANISHED (EARLIER) 2"), "{r:?}");
    let r = c.expect("q3", &format!("SELECT INBOX (QRESYNC ({} {highest}))", validity + 1), "OK");
    assert!(!r.iter().any(|l| l.starts_with("* VANISHED") || l.contains(" FETCH ")), "{r:?}");
    // UID FETCH with VANISHED: only UIDs below UIDNEXT (6) are reported gone.
    let r = c.expect("f", &format!("UID FETCH 1:10 (FLAGS) (CHANGEDSINCE {highest} VANISHED)"), "OK");
    assert_eq!(r[0], "* VANISHED (EARLIER) 2", "{r:?}");
    assert_eq!(r.iter().filter(|l| l.starts_with("* ") && l.contains(" FETCH ")).count(), 1, "{r:?}");
    // Its own EXPUNGE is reported as VANISHED too.
    c.expect("d", "UID STORE 1,5 +FLAGS.SILENT (\\Deleted)", "OK");
    let r = c.expect("x", "EXPUNGE", "OK");
    assert_eq!(r[0], "* VANISHED 1,5", "{r:?}");
}
