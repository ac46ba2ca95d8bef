//! SMTP protocol types with no I/O: command parser, addresses, replies, DATA reader, SASL.
//!
//! Owns: everything that turns bytes into typed protocol values and back.
//! Must not touch: sockets, tokio, config, the queue. It is fuzzed and benched alone.
pub mod address;
pub mod command;
pub mod data;
pub mod reply;
pub mod sasl;

pub use address::{Address, AddressError, ForwardPath, ReversePath};
pub use command::{Body, Command, MailParams, Notify, ParseError, RcptParams, Ret};
pub use data::{CrlfNormalizer, DataError, DataReader, DotStuffer, Feed, LineChecker, dot_stuff};
pub use reply::{Reply, ReplyError, Status, parse_reply};
pub use sasl::{PlainCredentials, SaslError};

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub const MAX_TEXT_LINE: usize = 1000;

/// RFC 3461 §4 xtext, used by ENVID, ORCPT and AUTH= (and by DSNs that echo them).
pub mod xtext {
    use std::fmt::Write as _;

    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b).to_digit(16).map(|d| d as u8)
    }

    /// RFC 3461 §4 xtext: `+XX` escapes; other bytes verbatim (UTF-8 allowed, RFC 6533).
    pub fn decode(v: &str) -> Option<String> {
        if !v.contains('+') {
            return Some(v.to_owned());
        }
        let b = v.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'+' {
                let (hi, lo) = (hex_digit(*b.get(i + 1)?)?, hex_digit(*b.get(i + 2)?)?);
                out.push(hi << 4 | lo);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    /// Length of `v` as xtext (what the RFC 3461 length limits apply to when we relay it).
    pub fn encoded_len(v: &str) -> usize {
        v.bytes().map(|b| if (33..=126).contains(&b) && b != b'+' && b != b'=' { 1 } else { 3 }).sum()
    }

    /// Appends `v` as xtext: bytes outside `!`..`~`, `+` and `=` become `+XX`.
    pub fn encode(v: &str, out: &mut String) {
        for &b in v.as_bytes() {
            if (33..=126).contains(&b) && b != b'+' && b != b'=' {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "+{b:02X}");
            }
        }
    }
}

/// Properties that span modules: commands built from generated addresses and
/// parameters survive encode then parse.
#[cfg(test)]
mod tests {
    use super::address::tests::arb_address;
    use super::command::{Body, Notify, Ret, parse};
    use super::*;
    use proptest::prelude::*;

    fn arb_mail_params() -> impl Strategy<Value = MailParams> {
        let body = prop::sample::select(vec![Body::SevenBit, Body::EightBitMime, Body::BinaryMime]);
        let ret = prop::sample::select(vec![Ret::Full, Ret::Hdrs]);
        let xtext = "[ -~]{1,30}";
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(body),
            any::<bool>(),
            proptest::option::of(ret),
            proptest::option::of(xtext),
            proptest::option::of(prop_oneof![Just("<>".to_string()), "[ -~é]{1,30}"]),
        )
            .prop_map(|(size, body, smtputf8, ret, envid, auth)| MailParams {
                size,
                body,
                smtputf8,
                ret,
                envid,
                auth,
            })
    }

    fn arb_rcpt_params() -> impl Strategy<Value = RcptParams> {
        let notify = any::<(bool, bool, bool)>().prop_map(|(success, failure, delay)| Notify {
            success,
            failure,
            delay,
        });
        let orcpt = ("[a-zA-Z0-9-]{1,8}", "[ -~]{0,40}").prop_map(|(t, a)| format!("{t};{a}"));
        (proptest::option::of(notify), proptest::option::of(orcpt))
            .prop_map(|(notify, orcpt)| RcptParams { notify, orcpt })
    }

    fn arb_forward_path() -> impl Strategy<Value = ForwardPath> {
        let route = proptest::collection::vec("[a-z0-9]{1,8}(\\.[a-z]{2,4})?", 0..3);
        let postmaster = Address {
            local: "postmaster".into(),
            domain: String::new(),
        };
        prop_oneof![
            (arb_address(), route).prop_map(|(address, source_route)| ForwardPath {
                address,
                source_route
            }),
            Just(ForwardPath {
                address: postmaster,
                source_route: Vec::new()
            }),
        ]
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        let word = "[!-~]([ -~]{0,20}[!-~])?";
        let from = prop_oneof![
            Just(ReversePath::Null),
            arb_address().prop_map(ReversePath::Path)
        ];
        let mail = (from, arb_mail_params()).prop_map(|(from, mut params)| {
            // A non-ASCII sender is only valid with SMTPUTF8 declared.
            params.smtputf8 |= from.address().is_some_and(|a| !a.is_ascii());
            Command::Mail { from, params }
        });
        let auth = (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of("([A-Za-z0-9+/]{1,20}={0,2})?"),
        )
            .prop_map(|(mechanism, initial)| Command::Auth { mechanism, initial });
        prop_oneof![
            word.prop_map(Command::Ehlo),
            word.prop_map(Command::Helo),
            mail,
            (arb_forward_path(), arb_rcpt_params())
                .prop_map(|(to, params)| Command::Rcpt { to, params }),
            prop::sample::select(vec![
                Command::Data,
                Command::Rset,
                Command::Noop,
                Command::Quit,
                Command::StartTls
            ]),
            (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
            word.prop_map(Command::Vrfy),
            word.prop_map(Command::Expn),
            proptest::option::of(word).prop_map(Command::Help),
            auth,
        ]
    }

    proptest! {
        #[test]
        fn parse_encode_roundtrip(c in arb_command()) {
            let wire = c.encode();
            prop_assert!(wire.ends_with(b"\r\n"));
            prop_assert_eq!(parse(&wire[..wire.len() - 2]), Ok(c));
        }

        #[test]
        fn parse_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&line).map_err(|e| e.reply());
        }

        #[test]
        fn parse_smtp_alphabet(line in "(MAIL FROM:|RCPT TO:|EHLO |AUTH |BDAT )?[<>@\":,.\\\\ a-z0-9=+;\\[\\]é]{0,60}") {
            let _ = parse(line.as_bytes()).map_err(|e| e.reply());
        }
    }
}

/// Unit tests of the command parser (kept here so command.rs stays small).
#[cfg(test)]
mod command_tests {
    use super::command::*;
    use super::{Address, ReversePath};

    fn addr(local: &str, domain: &str) -> Address {
        Address {
            local: local.into(),
            domain: domain.into(),
        }
    }

    fn code(line: &str) -> (u16, Option<(u8, u16, u16)>) {
        let r = parse(line.as_bytes()).unwrap_err().reply();
        (r.code, r.status.map(|s| (s.0, s.1, s.2)))
    }

    #[test]
    fn simple_verbs_case_insensitive() {
        let cases = [
            ("ehlo mx.example", Command::Ehlo("mx.example".into())),
            ("HeLo [1.2.3.4]", Command::Helo("[1.2.3.4]".into())),
            ("data", Command::Data),
            ("RSET  ", Command::Rset),
            ("noop whatever", Command::Noop),
            ("QUIT", Command::Quit),
            ("VRFY John Smith", Command::Vrfy("John Smith".into())),
            ("expn list", Command::Expn("list".into())),
            ("HELP", Command::Help(None)),
            ("help mail", Command::Help(Some("mail".into()))),
            ("starttls", Command::StartTls),
            (
                "BDAT 100",
                Command::Bdat {
                    size: 100,
                    last: false,
                },
            ),
            (
                "bdat 0 last",
                Command::Bdat {
                    size: 0,
                    last: true,
                },
            ),
            (
                "auth plain",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: None,
                },
            ),
            (
                "AUTH PLAIN =",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: Some(String::new()),
                },
            ),
            (
                "AUTH login dXNlcg==",
                Command::Auth {
                    mechanism: "LOGIN".into(),
                    initial: Some("dXNlcg==".into()),
                },
            ),
        ];
        for (line, cmd) in cases {
            assert_eq!(parse(line.as_bytes()), Ok(cmd), "{line}");
        }
    }

    #[test]
    fn error_codes() {
        let cases = [
            ("FOO bar", (500, Some((5, 5, 1)))),
            ("", (500, Some((5, 5, 1)))),
            ("EHLO", (501, Some((5, 5, 4)))),
            ("DATA now", (501, Some((5, 5, 4)))),
            ("STARTTLS x", (501, Some((5, 5, 4)))),
            ("BDAT x", (501, Some((5, 5, 4)))),
            ("BDAT 1 LAST more", (501, Some((5, 5, 4)))),
            ("MAIL TO:<a@b.c>", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a..b@c.d>", (501, Some((5, 1, 7)))),
            ("RCPT TO:<@x>", (501, Some((5, 1, 3)))),
            ("MAIL FROM:<a@b.c> FOO=1", (555, Some((5, 5, 4)))),
            ("RCPT TO:<a@b.c> SIZE=1", (555, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c> SIZE=1 size=2", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c> SIZE=x", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c> BODY=9BIT", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c> SMTPUTF8=yes", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c>SIZE=1", (501, Some((5, 5, 4)))),
            ("RCPT TO:<a@b.c> NOTIFY=NEVER,DELAY", (501, Some((5, 5, 4)))),
            ("RCPT TO:<a@b.c> NOTIFY=DELAY,DELAY", (501, Some((5, 5, 4)))),
            ("RCPT TO:<a@b.c> ORCPT=rfc822", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<a@b.c> ENVID=+4", (501, Some((5, 5, 4)))),
            ("MAIL FROM:<jörg@b.c>", (553, Some((5, 6, 7)))),
            ("NOOP \0", (501, Some((5, 5, 4)))),
        ];
        for (line, expected) in cases {
            assert_eq!(code(line), expected, "{line}");
        }
        assert_eq!(parse(b"EHLO \xff"), Err(ParseError::InvalidUtf8));
    }

    #[test]
    fn mail_liberal_forms_and_params() {
        let from = ReversePath::Path(addr("a", "b.example"));
        for line in [
            "MAIL FROM:<a@b.example>",
            "mail from: <a@B.example>",
            "MAIL FROM:a@b.example",
        ] {
            assert_eq!(
                parse(line.as_bytes()),
                Ok(Command::Mail {
                    from: from.clone(),
                    params: MailParams::default()
                })
            );
        }
        let line = "MAIL FROM:<> size=1000 body=8bitmime ret=hdrs envid=QQ+2B1 AUTH=<> SMTPUTF8";
        let Ok(Command::Mail { from, params }) = parse(line.as_bytes()) else {
            panic!("{line}")
        };
        assert_eq!(from, ReversePath::Null);
        assert_eq!(
            params,
            MailParams {
                size: Some(1000),
                body: Some(Body::EightBitMime),
                smtputf8: true,
                ret: Some(Ret::Hdrs),
                envid: Some("QQ+1".into()),
                auth: Some("<>".into()),
            }
        );
        let quoted = parse(br#"MAIL FROM:<"a> b"@c.d> SIZE=5"#).unwrap();
        assert!(
            matches!(quoted, Command::Mail { from: ReversePath::Path(a), .. } if a.local == "a> b")
        );
        assert!(matches!(
            parse("MAIL FROM:<jörg@b.c> SMTPUTF8".as_bytes()),
            Ok(Command::Mail { .. })
        ));
    }

    #[test]
    fn rcpt_params_and_utf8_flag() {
        let line =
            "RCPT TO:<@r.example:u@d.example> NOTIFY=success,delay ORCPT=rfc822;u+2Bx@d.example";
        let Ok(Command::Rcpt { to, params }) = parse(line.as_bytes()) else {
            panic!("{line}")
        };
        assert_eq!(
            (to.address, to.source_route),
            (addr("u", "d.example"), vec!["r.example".to_string()])
        );
        assert_eq!(
            params.notify,
            Some(Notify {
                success: true,
                failure: false,
                delay: true
            })
        );
        assert_eq!(params.orcpt.as_deref(), Some("rfc822;u+x@d.example"));
        let never = parse(b"RCPT TO:<a@b.c> NOTIFY=never").unwrap();
        assert!(
            matches!(never, Command::Rcpt { params: RcptParams { notify: Some(n), .. }, .. } if n == Notify::default())
        );
        let utf8 = "RCPT TO:<jörg@bücher.de>".as_bytes();
        assert!(parse_with(utf8, true).is_ok());
        assert_eq!(parse_with(utf8, false), Err(ParseError::NeedsSmtputf8));
        let pm = parse(b"RCPT TO:<Postmaster>").unwrap();
        assert!(matches!(pm, Command::Rcpt { to, .. } if to.address == addr("postmaster", "")));
    }

    #[test]
    fn encode_examples() {
        let c = parse(b"MAIL FROM:<a@b.c> ENVID=x+20y AUTH=+3Cme+3E").unwrap();
        assert_eq!(c.encode(), b"MAIL FROM:<a@b.c> ENVID=x+20y AUTH=<me>\r\n");
        let c = Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some(String::new()),
        };
        assert_eq!(c.encode(), b"AUTH PLAIN =\r\n");
    }
}
