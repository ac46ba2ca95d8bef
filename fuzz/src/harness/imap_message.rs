//! What an IMAP server computes from a stored message (`proto::imap::message`) on arbitrary
//! bytes: never panics; ENVELOPE and BODYSTRUCTURE are well-formed IMAP (balanced lists,
//! exact literal lengths); every size in BODYSTRUCTURE equals the length of the section it
//! describes and every line count its number of lines; BODY[] is `to_crlf(msg)` and
//! RFC822.SIZE its length; no section has a bare LF; modified UTF-7 decodes only what it
//! encodes back identically.
//!
//! Input: a flags byte (bit 0: LF-only line ends, so both stored forms are exercised),
//! then the message.
use postern::proto::imap::message::{self, Section, SectionText};
use postern::proto::imap::utf7;

pub fn run(data: &[u8]) {
    let (flags, rest) = super::flags(data);
    let owned;
    let msg = if flags & 1 != 0 {
        owned = strip_cr(rest);
        &owned[..]
    } else {
        rest
    };

    let whole = message::section(msg, &Section::default());
    assert_eq!(whole, message::to_crlf(msg).as_ref(), "BODY[] is the CRLF message");
    assert_eq!(message::crlf_size(msg), whole.len() as u64, "RFC822.SIZE");
    assert_no_bare_lf(&whole, "BODY[]");

    let env = message::envelope(msg);
    let env = parse_value(env.as_bytes()).unwrap_or_else(|e| panic!("ENVELOPE {e}: {env:?}"));
    assert!(matches!(&env, Value::List(items) if items.len() == 10), "ENVELOPE has 10 fields");

    for extended in [false, true] {
        let text = message::body_structure(msg, extended);
        let tree = parse_value(text.as_bytes()).unwrap_or_else(|e| panic!("BODYSTRUCTURE {e}: {text:?}"));
        check_sizes(msg, &tree, &[], None, &text);
    }

    for spec in sections() {
        let bytes = message::section(msg, &spec);
        assert_no_bare_lf(&bytes, &format!("{spec:?}"));
    }

    let needle = String::from_utf8_lossy(rest.get(..rest.len().min(6)).unwrap_or_default());
    let _ = message::header_contains(msg, "Subject", &needle);
    let _ = message::text_contains(msg, &needle, flags & 2 != 0);
    let _ = message::sent_date(msg);

    let name = String::from_utf8_lossy(rest);
    assert_eq!(utf7::decode(&utf7::encode(&name)).as_deref(), Some(&*name), "utf7 round trip");
    if let Some(decoded) = utf7::decode(&name) {
        assert_eq!(utf7::encode(&decoded), name, "utf7 decodes only its own encoding");
    }
}

fn strip_cr(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (i, &b) in data.iter().enumerate() {
        if !(b == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

fn sections() -> Vec<Section> {
    let fields = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    for part in [vec![], vec![1], vec![2], vec![1, 1], vec![2, 1], vec![1, 2, 1]] {
        for text in [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
            Some(SectionText::HeaderFields(fields(&["Subject", "from"]))),
            Some(SectionText::HeaderFieldsNot(fields(&["SUBJECT"]))),
        ] {
            out.push(Section { part: part.clone(), text });
        }
    }
    out
}

fn assert_no_bare_lf(bytes: &[u8], what: &str) {
    for (i, &b) in bytes.iter().enumerate() {
        assert!(b != b'\n' || (i > 0 && bytes[i - 1] == b'\r'), "bare LF in {what} at {i}");
    }
}

/// Walks a BODYSTRUCTURE: `container` is the section path of the enclosing multipart or
/// message, `body` the path whose bytes this node's size counts (None: container + [1]).
fn check_sizes(msg: &[u8], node: &Value, container: &[u32], body: Option<Vec<u32>>, text: &str) {
    let Value::List(items) = node else { panic!("body is not a list: {text}") };
    if matches!(items.first(), Some(Value::List(_))) {
        let mut n = 0;
        for child in items.iter().take_while(|v| matches!(v, Value::List(_))) {
            n += 1;
            let path = [container, &[n]].concat();
            check_sizes(msg, child, &path, Some(path.clone()), text);
        }
        return;
    }
    let path = body.unwrap_or_else(|| [container, &[1]].concat());
    let bytes = message::section(msg, &Section { part: path.clone(), text: None });
    let field = |i: usize| items.get(i).unwrap_or_else(|| panic!("field {i} missing: {text}"));
    let number = |v: &Value| match v {
        Value::Atom(a) => String::from_utf8_lossy(a).parse::<u64>().unwrap_or_else(|_| panic!("not a number: {text}")),
        _ => panic!("not a number: {text}"),
    };
    assert_eq!(number(field(6)), bytes.len() as u64, "size of BODY[{path:?}] in {text}");
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    let kind = |i: usize| match field(i) {
        Value::Str(s) => s.to_ascii_lowercase(),
        _ => Vec::new(),
    };
    if kind(0) == b"message" && kind(1) == b"rfc822" && matches!(items.get(8), Some(Value::List(_))) {
        assert_eq!(number(field(9)), lines, "lines of BODY[{path:?}] in {text}");
        check_sizes(msg, field(8), &path, None, text);
    } else if kind(0) == b"text" {
        assert_eq!(number(field(7)), lines, "lines of BODY[{path:?}] in {text}");
    }
}

#[derive(Debug)]
enum Value {
    Nil,
    Atom(Vec<u8>),
    Str(Vec<u8>),
    List(Vec<Value>),
}

/// One IMAP value that must span the whole input.
fn parse_value(input: &[u8]) -> Result<Value, String> {
    let mut pos = 0;
    let value = value(input, &mut pos, 0)?;
    if pos != input.len() {
        return Err(format!("trailing data at {pos}"));
    }
    Ok(value)
}

fn value(input: &[u8], pos: &mut usize, depth: usize) -> Result<Value, String> {
    if depth > 300 {
        return Err("too deep".into());
    }
    match input.get(*pos) {
        Some(b'(') => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                match input.get(*pos) {
                    Some(b')') => {
                        *pos += 1;
                        return Ok(Value::List(items));
                    }
                    Some(b' ') if !items.is_empty() => *pos += 1,
                    None => return Err("unclosed list".into()),
                    _ if items.is_empty() => {}
                    // Lists of lists (addresses, multipart bodies) are written without spaces.
                    Some(b'(') if matches!(items.last(), Some(Value::List(_))) => {}
                    _ => return Err(format!("expected space at {pos}")),
                }
                items.push(value(input, pos, depth + 1)?);
            }
        }
        Some(b'"') => {
            *pos += 1;
            let mut s = Vec::new();
            loop {
                match input.get(*pos) {
                    Some(b'"') => {
                        *pos += 1;
                        return Ok(Value::Str(s));
                    }
                    Some(b'\\') => match input.get(*pos + 1) {
                        Some(&c @ (b'"' | b'\\')) => {
                            s.push(c);
                            *pos += 2;
                        }
                        _ => return Err(format!("bad escape at {pos}")),
                    },
                    Some(b'\r' | b'\n') | None => return Err(format!("bad quoted string at {pos}")),
                    Some(&c) if c >= 0x80 => return Err(format!("8-bit in quoted string at {pos}")),
                    Some(&c) => {
                        s.push(c);
                        *pos += 1;
                    }
                }
            }
        }
        Some(b'{') => {
            let close = input[*pos..].iter().position(|&b| b == b'}').ok_or("bad literal")? + *pos;
            let len: usize = std::str::from_utf8(&input[*pos + 1..close])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("bad literal length")?;
            if input.get(close + 1..close + 3) != Some(b"\r\n") {
                return Err("literal without CRLF".into());
            }
            let start = close + 3;
            let s = input.get(start..start + len).ok_or("literal past the end")?.to_vec();
            *pos = start + len;
            Ok(Value::Str(s))
        }
        Some(_) => {
            let start = *pos;
            while let Some(&c) = input.get(*pos) {
                if c == b' ' || c == b')' || c == b'(' {
                    break;
                }
                if !c.is_ascii_alphanumeric() {
                    return Err(format!("bad atom byte {c} at {pos}"));
                }
                *pos += 1;
            }
            let atom = input[start..*pos].to_vec();
            if atom.is_empty() {
                return Err(format!("empty atom at {pos}"));
            }
            Ok(if atom == b"NIL" { Value::Nil } else { Value::Atom(atom) })
        }
        None => Err("empty value".into()),
    }
}
