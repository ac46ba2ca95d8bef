//! SMTP command parser: any line either parses or yields an error with a valid reply,
//! and a parsed command re-encodes to a line that parses to the same command.
use postern::proto::smtp::command::{parse, parse_with};

pub fn run(data: &[u8]) {
    let (f, line) = super::flags(data);
    let smtputf8 = f & 1 == 1;
    match parse_with(line, smtputf8) {
        Ok(cmd) => {
            let wire = cmd.encode();
            assert!(wire.ends_with(b"\r\n"), "encode must end in CRLF: {wire:?}");
            let body = &wire[..wire.len() - 2];
            assert!(!body.contains(&b'\n') && !body.contains(&b'\r'), "CR/LF inside encoded {cmd:?}");
            // The encoded form may need SMTPUTF8 when the input did; parse with the same flag.
            let again = parse_with(body, smtputf8);
            assert_eq!(again.as_ref(), Ok(&cmd), "re-parse of {:?}", String::from_utf8_lossy(body));
            // Without SMTPUTF8 a non-ASCII command must be refused or parse the same way.
            if let Ok(c) = parse(line) {
                assert_eq!(c, cmd);
            }
        }
        Err(e) => {
            let r = e.reply();
            assert!((500..=555).contains(&r.code), "{e:?} -> {}", r.code);
        }
    }
}
