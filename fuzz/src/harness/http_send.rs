//! HTTP send API: JSON body -> validated `Mail` -> MIME message. Never panics; whatever
//! JSON gets through validation builds a message that is safe to queue: CRLF line ends
//! only (no header injection, nothing our own DATA reader would refuse), lines within
//! 998 octets, 7-bit unless an address needs SMTPUTF8, one From, no Bcc, and parseable.
use postern::http::mime::build;
use postern::http::request::parse;

const HOST: &str = "fuzz.example";

pub fn run(data: &[u8]) {
    let Ok(req) = parse(data) else { return };
    let Ok(mail) = req.validate(100) else { return };
    let utf8 = mail.needs_smtputf8();
    let raw = build(mail, HOST);
    check_lines(&raw);
    assert!(utf8 || raw.is_ascii(), "8-bit message without an SMTPUTF8 address");
    let header_end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header/body separator");
    let head = String::from_utf8_lossy(&raw[..header_end + 2]);
    let field = |name: &str| {
        let prefix = format!("{name}:");
        head.split("\r\n").filter(|l| l.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(&prefix))).count()
    };
    assert_eq!(field("From"), 1, "From fields:\n{head}");
    assert_eq!(field("Bcc"), 0, "Bcc written:\n{head}");
    assert!(field("Message-ID") == 1 && field("Date") == 1, "\n{head}");
    for l in head.split("\r\n").filter(|l| !l.is_empty()) {
        let folded = l.starts_with([' ', '\t']);
        assert!(folded || l.split_once(':').is_some_and(|(n, _)| !n.is_empty() && !n.contains(' ')), "not a header field: {l:?}");
    }
    mail_parser::MessageParser::default().parse(&raw).expect("built message parses");
}

/// Every CR is followed by LF and every LF preceded by CR; no line over 998 octets (the
/// last line may lack its CRLF, as RFC 5322 allows).
fn check_lines(raw: &[u8]) {
    let mut start = 0;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(raw.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => {
                assert!(i > 0 && raw[i - 1] == b'\r', "bare LF at {i}");
                let len = i - 1 - start;
                assert!(len <= 998, "line of {len} octets at {start}: {:?}", String::from_utf8_lossy(&raw[start..(start + 80).min(raw.len())]));
                start = i + 1;
            }
            _ => {}
        }
    }
}
