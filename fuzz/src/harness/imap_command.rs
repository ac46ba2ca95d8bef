//! IMAP command framing and parsing: arbitrary client bytes through `imap::framer::Framer`
//! (split into reads of every size) and each framed command through `imap::command::parse`.
//!
//! Checks: no panic; the same events however the input is split into reads; no command
//! over the framer's limit; a parsed command's tag is the one `tag_of` sees, a refused
//! one carries it too when the line starts with a valid tag; an APPEND announced to the
//! framer parses as an APPEND of the announced size once complete.
//!
//! Input: a flags byte (bits 0-2: read size 1-8, or whole when 0), then the bytes.
use postern::proto::imap::command::{Body, parse};
use postern::proto::imap::framer::{Event, Framer, tag_of};

const MAX: usize = 4096;

/// Feeds `data` in reads of `step` octets (0: all at once); APPEND message literals are
/// skipped as the session would stream them.
fn events(data: &[u8], step: usize) -> Vec<Event> {
    let mut f = Framer::new(MAX);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut skip: u64 = 0;
    while pos < data.len() {
        let end = if step == 0 { data.len() } else { (pos + step).min(data.len()) };
        let mut chunk = &data[pos..end];
        pos = end;
        while !chunk.is_empty() {
            if skip > 0 {
                let n = (skip.min(chunk.len() as u64)) as usize;
                skip -= n as u64;
                chunk = &chunk[n..];
                if skip == 0 {
                    f.appended();
                }
                continue;
            }
            let (n, ev) = f.push(chunk);
            chunk = &chunk[n..];
            match ev {
                Some(Event::AppendLiteral { size, sync, ref tag }) => {
                    assert!(!tag.is_empty());
                    let _ = sync;
                    if size == 0 { f.appended() } else { skip = size }
                    out.push(ev.unwrap());
                }
                Some(e) => out.push(e),
                None => assert!(n > 0 || chunk.is_empty(), "framer stalled"),
            }
        }
    }
    out
}

pub fn run(data: &[u8]) {
    let (flags, input) = super::flags(data);
    let whole = events(input, 0);
    let step = usize::from(flags & 7);
    if step > 0 {
        assert_eq!(events(input, step), whole, "events depend on read size {step}");
    }
    let mut announced: Option<u64> = None;
    for ev in &whole {
        match ev {
            Event::AppendLiteral { size, .. } => announced = Some(*size),
            Event::Command(buf) => {
                assert!(buf.len() <= MAX, "command over the limit");
                match parse(buf) {
                    Ok(c) => {
                        assert_eq!(Some(&c.tag), tag_of(buf).as_ref(), "tag of {:?}", String::from_utf8_lossy(buf));
                        if let (Body::Append { size, .. }, Some(a)) = (&c.body, announced) {
                            assert_eq!(*size, a, "APPEND size");
                        }
                    }
                    Err(e) => {
                        if let Some(t) = &e.tag {
                            assert_eq!(Some(t), tag_of(buf).as_ref());
                        }
                    }
                }
                announced = None;
            }
            _ => {}
        }
    }
}
