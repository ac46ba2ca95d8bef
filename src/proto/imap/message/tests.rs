//! Unit tests of the message layer. The fixture answers were recorded from Dovecot 2.3.19
//! serving the same files (tests/fixtures/imap_messages/README.md); tests/imap_dovecot.rs
//! repeats that comparison live.

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/imap_messages");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn dovecot_answers() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/dovecot-2.3.19.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn envelope_and_bodystructure_match_dovecot() {
    let answers = dovecot_answers();
    assert_eq!(answers.len(), 20);
    let mut checked = 0;
    for (name, want) in &answers {
        let msg = fixture(name);
        assert_eq!(
            envelope(&msg),
            want["ENVELOPE"].as_str().unwrap(),
            "ENVELOPE of {name}"
        );
        assert_eq!(
            body_structure(&msg, true),
            want["BODYSTRUCTURE"].as_str().unwrap(),
            "BODYSTRUCTURE of {name}"
        );
        assert_eq!(
            body_structure(&msg, false),
            want["BODY"].as_str().unwrap(),
            "BODY of {name}"
        );
        checked += 3;
    }
    assert_eq!(checked, 60);
}

#[test]
fn sections_match_dovecot() {
    let mut checked = 0;
    for (name, want) in &dovecot_answers() {
        let msg = fixture(name);
        for (spec, value) in want["sections"].as_object().unwrap() {
            let want: Vec<u8> = value.as_str().unwrap().chars().map(|c| c as u8).collect();
            let got = section(&msg, &sec(spec));
            assert!(
                got == want,
                "BODY[{spec}] of {name}:\n got {:?}\nwant {:?}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 20 * 25);
}

/// Dumps ENVELOPE/BODYSTRUCTURE/BODY for every file in $IMAPMSG_CORPUS as JSON (used to
/// diff against a Dovecot by hand: `cargo test --lib imap::message::tests::dump -- --ignored`).
#[test]
#[ignore]
fn dump_corpus() {
    let Ok(dir) = std::env::var("IMAPMSG_CORPUS") else {
        return;
    };
    let mut out = serde_json::Map::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let msg = std::fs::read(&path).unwrap();
        let mut item = serde_json::Map::new();
        item.insert("ENVELOPE".into(), envelope(&msg).into());
        item.insert("BODYSTRUCTURE".into(), body_structure(&msg, true).into());
        item.insert("BODY".into(), body_structure(&msg, false).into());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, item.into());
    }
    std::fs::write(
        std::env::var("IMAPMSG_OUT").unwrap(),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}

/// "2.1.HEADER.FIELDS (From To)" → Section (test helper; the real parser is the server's).
fn sec(spec: &str) -> Section {
    let mut part = Vec::new();
    let mut rest = spec;
    while let Some(first) = rest.split('.').next() {
        match first.parse::<u32>() {
            Ok(n) => {
                part.push(n);
                rest = rest.get(first.len() + 1..).unwrap_or("");
            }
            Err(_) => break,
        }
    }
    let names = |s: &str| -> Vec<String> {
        s.trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(' ')
            .map(String::from)
            .collect()
    };
    let text = if rest.is_empty() {
        None
    } else if let Some(list) = rest.strip_prefix("HEADER.FIELDS.NOT ") {
        Some(SectionText::HeaderFieldsNot(names(list)))
    } else if let Some(list) = rest.strip_prefix("HEADER.FIELDS ") {
        Some(SectionText::HeaderFields(names(list)))
    } else {
        Some(match rest {
            "HEADER" => SectionText::Header,
            "TEXT" => SectionText::Text,
            "MIME" => SectionText::Mime,
            other => panic!("section {other}"),
        })
    };
    Section { part, text }
}

#[test]
#[ignore]
fn dump_corpus_sections() {
    let Ok(dir) = std::env::var("IMAPMSG_CORPUS") else {
        return;
    };
    let specs: Vec<String> =
        serde_json::from_str(&std::env::var("IMAPMSG_SECTIONS").unwrap()).unwrap();
    let mut out = serde_json::Map::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let msg = std::fs::read(&path).unwrap();
        let mut item = serde_json::Map::new();
        for spec in &specs {
            let bytes = section(&msg, &sec(spec));
            let latin1: String = bytes.iter().map(|&b| b as char).collect();
            item.insert(spec.clone(), latin1.into());
        }
        out.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            item.into(),
        );
    }
    std::fs::write(
        std::env::var("IMAPMSG_OUT").unwrap(),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}

#[test]
fn lf_and_crlf_files_give_the_same_answers() {
    let crlf = fixture("01-plain.eml");
    let lf: Vec<u8> = String::from_utf8(crlf.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert_eq!(body_structure(&lf, true), body_structure(&crlf, true));
    assert_eq!(envelope(&lf), envelope(&crlf));
    assert_eq!(section(&lf, &sec("TEXT")), section(&crlf, &sec("TEXT")));
    assert_eq!(crlf_size(&lf), crlf.len() as u64);
    assert_eq!(to_crlf(&lf).as_ref(), crlf.as_slice());
    assert!(matches!(to_crlf(&crlf), std::borrow::Cow::Borrowed(_)));
    // A bare CR stays; a LF at the very start gets its CR.
    assert_eq!(to_crlf(b"\na\rb\n").as_ref(), b"\r\na\rb\r\n");
}

#[test]
fn whole_message_section_is_the_crlf_message() {
    for (name, _) in &dovecot_answers() {
        let msg = fixture(name);
        assert_eq!(
            section(&msg, &Section::default()),
            to_crlf(&msg).as_ref(),
            "{name}"
        );
    }
}

#[test]
fn header_fields_match_case_insensitively_with_continuations() {
    let msg = b"subject: one\r\n two\r\nX-A: 1\r\nFROM: a@b\r\n\r\nbody";
    let got = section(msg, &sec("HEADER.FIELDS (Subject from)"));
    assert_eq!(got, b"subject: one\r\n two\r\nFROM: a@b\r\n\r\n");
    let got = section(msg, &sec("HEADER.FIELDS.NOT (SUBJECT)"));
    assert_eq!(got, b"X-A: 1\r\nFROM: a@b\r\n\r\n");
    assert_eq!(section(msg, &sec("HEADER.FIELDS (None)")), b"\r\n");
}

#[test]
fn missing_parts_are_empty() {
    let msg = fixture("05-rfc822.eml");
    for spec in ["9", "1.2", "1.HEADER", "2.1.2", "0", "MIME"] {
        assert_eq!(section(&msg, &sec(spec)), b"", "BODY[{spec}]");
    }
}

#[test]
fn deep_nesting_is_bounded_and_does_not_overflow_the_stack() {
    let mut msg = Vec::new();
    for i in 0..500 {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=x{i}y\r\n\r\n--x{i}y\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\nleaf\r\n");
    let bs = body_structure(&msg, true);
    assert!(bs.starts_with("(((("));
    // Dovecot's max_nested_mime_parts (100) stops the descent.
    // The part at the limit is written as a leaf ("multipart" "mixed" without children).
    assert_eq!(bs.matches("\"mixed\"").count(), 101);
    let mut rfc822 = Vec::new();
    for _ in 0..500 {
        rfc822.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    let bs = body_structure(&rfc822, false);
    assert_eq!(bs.matches("\"rfc822\"").count(), 101);
}

#[test]
fn garbage_does_not_panic() {
    let inputs: [&[u8]; 9] = [
        b"",
        b"\n",
        b"\r",
        b":",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a",
        b"To: (((\r\nFrom: \"\\\r\nCc: <@\r\nBcc: a:b:c;;;,,,<>\r\n\r\n",
        b"Content-Type: text/plain; a*=x; a*0=y; a*2*=z; b*1=q\r\nMime-Version: 1\r\n\r\n",
        b"\xff\xfe: \x00\x80\r\n Subject: \x00\r\n\r\n\x00",
    ];
    for msg in inputs {
        let _ = envelope(msg);
        let _ = body_structure(msg, true);
        let _ = section(msg, &sec("1.HEADER.FIELDS (To)"));
        let _ = header_contains(msg, "To", "x");
        let _ = text_contains(msg, "x", true);
        let _ = sent_date(msg);
    }
}

#[test]
fn envelope_strings_quote_literal_and_nil() {
    let msg = b"Subject: a \"b\" c\r\nMessage-ID: <a\\\"b\"c\"d\"e@x>\r\nDate: Mon,\r\n 1 Jan 2024\r\n\r\n";
    let env = envelope(msg);
    // Subject with quotes: a literal (Dovecot's "for humans" never escapes).
    assert!(env.contains(" {7}\r\na \"b\" c NIL "), "{env}");
    // Message-ID with more than four quoted-specials: a literal too.
    assert!(env.ends_with(" NIL {14}\r\n<a\\\"b\"c\"d\"e@x>)"), "{env}");
    // Folded Date: unfolded.
    assert!(env.starts_with("(\"Mon, 1 Jan 2024\" "), "{env}");
    // No From: every address list NIL (Sender/Reply-To default to the missing From).
    assert!(env.contains(" NIL NIL NIL NIL NIL NIL NIL "), "{env}");
}

#[test]
fn search_decodes_encoded_words_and_transfer_encodings() {
    let alt = fixture("03-alt.eml");
    assert!(header_contains(&alt, "subject", "grüße aus münchen"));
    assert!(header_contains(&alt, "SUBJECT", "MÜNCHEN"));
    assert!(!header_contains(&alt, "subject", "berlin"));
    assert!(header_contains(&alt, "cc", ""));
    assert!(!header_contains(&alt, "bcc", ""));
    // Quoted-printable body with a soft line break, UTF-8.
    assert!(text_contains(&alt, "café and softbreak", false));
    assert!(text_contains(&alt, "GRÜßE", false));
    // Diacritics do not count (Dovecot's i;unicode-casemap): "cafe" finds "café".
    assert!(text_contains(&alt, "cafe", false));
    // ...but an accent inside the word does (checked against Dovecot 2.3.19).
    assert!(!header_contains(&alt, "subject", "munchen"));
    assert!(header_contains(&alt, "subject", "GRÜßE AUS MÜNCHEN"));
    // TEXT covers the header too, BODY does not.
    assert!(text_contains(&alt, "carol@example.com", true));
    assert!(!text_contains(&alt, "carol@example.com", false));
    // ISO-8859-1 quoted-printable inside a message/rfc822 part.
    let nested = fixture("05-rfc822.eml");
    assert!(text_contains(&nested, "café original", false));
    assert!(
        text_contains(&nested, "the original", false),
        "nested header is body text"
    );
    // Base64 text part.
    let b64 = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gV8O2cmxk\r\n";
    assert!(text_contains(b64, "hello wörld", false));
    // Attachments (non-text) are not searched.
    let attach = fixture("04-attach.eml");
    assert!(text_contains(&attach, "see attached", false));
    assert!(!text_contains(&attach, "JVBERi0", false));
}

#[test]
fn sent_date_reads_the_first_date_header() {
    let msg = fixture("01-plain.eml");
    // Mon, 7 Dec 2026 10:00:00 +0100
    assert_eq!(sent_date_zone(&msg), Some((1_796_634_000, 3600)));
    // No usable Date: the epoch, as Dovecot dates such messages.
    assert_eq!(sent_date(b"Date: garbage\r\n\r\n"), Some(0));
    assert_eq!(sent_date(b"Subject: none\r\n\r\n"), Some(0));
}

#[test]
fn eight_bit_headers_become_literals() {
    let msg = fixture("06-8bit.eml");
    let env = envelope(&msg);
    assert!(
        env.contains("(({13}\r\nJörg Müller NIL \"joerg\" \"example.de\"))"),
        "{env}"
    );
}
