//! POP3 command parser and RETR/TOP message encoder (`proto::pop3`). Flags bit 0 picks
//! the mode. Commands: any line parses or yields a `-ERR` reply, and a parsed command
//! re-encodes to a line that parses to the same command. Messages (next byte: TOP line
//! count, 255 = RETR; then a split point): the wire form has CRLF line ends only, one
//! terminating `.` line, does not depend on how the file was split into reads, reads
//! back (un-stuffed) as the CRLF-normalised message, and TOP's is a prefix of RETR's.
use postern::proto::pop3::command::parse;
use postern::proto::pop3::message::{Encoder, encode};

pub fn run(data: &[u8]) {
    let (f, rest) = super::flags(data);
    if f & 1 == 0 { command(rest) } else { message(rest) }
}

fn command(line: &[u8]) {
    match parse(line) {
        Ok(cmd) => {
            let wire = cmd.encode();
            assert!(!wire.contains(['\r', '\n']), "CR/LF inside encoded {cmd:?}");
            assert_eq!(parse(wire.as_bytes()).as_ref(), Ok(&cmd), "re-parse of {wire:?}");
        }
        Err(e) => {
            let wire = e.reply().to_wire();
            assert!(wire.starts_with(b"-ERR ") && wire.ends_with(b"\r\n"), "{e:?}");
            assert_eq!(wire.iter().filter(|&&b| b == b'\n' || b == b'\r').count(), 2, "{e:?}");
        }
    }
}

fn message(data: &[u8]) {
    let (top, data) = super::flags(data);
    let (split, msg) = super::flags(data);
    let top = (top != 255).then_some(u64::from(top));
    let whole = encode(msg, top);
    // Chunking independence.
    let at = usize::from(split).min(msg.len());
    let mut e = match top {
        Some(n) => Encoder::top(n),
        None => Encoder::retr(),
    };
    let mut split_out = Vec::new();
    e.push(&msg[..at], &mut split_out);
    e.push(&msg[at..], &mut split_out);
    e.finish(&mut split_out);
    assert_eq!(split_out, whole, "split at {at}");
    // Framing: CRLF only, and the only `.` line is the last one.
    for (i, &b) in whole.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {i}");
        }
    }
    assert!(whole.ends_with(b".\r\n") && (whole.len() == 3 || whole.ends_with(b"\r\n.\r\n")));
    let body = &whole[..whole.len() - 3];
    let mut unstuffed = Vec::new();
    for l in body.split_inclusive(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r\n").expect("every line ends with CRLF");
        assert_ne!(l, b".", "a lone dot before the end");
        unstuffed.extend_from_slice(l.strip_prefix(b".").unwrap_or(l));
        unstuffed.extend_from_slice(b"\r\n");
    }
    let retr = encode(msg, None);
    match top {
        None => assert_eq!(unstuffed, crlf(msg), "RETR must carry the message unchanged"),
        Some(_) => assert!(retr.starts_with(body), "TOP must be a prefix of RETR"),
    }
}

/// The message with every line ended by CRLF (what RETR must carry, before stuffing).
fn crlf(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    match out.last() {
        None | Some(b'\n') => {}
        Some(b'\r') => out.push(b'\n'),
        Some(_) => out.extend_from_slice(b"\r\n"),
    }
    out
}
