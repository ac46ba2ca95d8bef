//! A stored message turned into its RETR/TOP wire form (RFC 1939 §3, §7): line ends made
//! CRLF (Maildir files may hold bare LF), lines starting with `.` stuffed with another
//! `.`, TOP cut after the header and `n` body lines, and the terminating `.` line.
//!
//! Fed in chunks of any size: the output does not depend on how the file was read.

/// Streams one message; `push` every chunk of the file, then `finish`.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// The last input byte passed through (`\n` before the first: a line starts there).
    last: u8,
    /// Bytes of the current line so far (CR included).
    line_len: usize,
    /// Past the empty line that ends the header.
    in_body: bool,
    /// TOP: body lines still to send; `None` for RETR.
    body_lines: Option<u64>,
    /// TOP has sent all it should; further input is ignored.
    done: bool,
}

impl Encoder {
    /// The whole message (RETR).
    pub fn retr() -> Encoder {
        Encoder { last: b'\n', line_len: 0, in_body: false, body_lines: None, done: false }
    }

    /// The header, the empty line after it, and the first `lines` body lines (TOP).
    pub fn top(lines: u64) -> Encoder {
        Encoder { body_lines: Some(lines), ..Encoder::retr() }
    }

    /// Whether more input would still be sent (false once TOP has its lines).
    pub fn wants_more(&self) -> bool {
        !self.done
    }

    /// Appends the wire form of `input` to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32 + 8);
        let mut start = 0;
        for (i, &b) in input.iter().enumerate() {
            if self.done {
                out.extend_from_slice(&input[start..i]);
                return;
            }
            if self.last == b'\n' && b == b'.' {
                out.extend_from_slice(&input[start..i]);
                out.push(b'.');
                start = i;
            } else if b == b'\n' && self.last != b'\r' {
                out.extend_from_slice(&input[start..i]);
                out.push(b'\r');
                start = i;
            }
            if b == b'\n' {
                self.end_of_line();
            } else {
                self.line_len += 1;
            }
            self.last = b;
        }
        out.extend_from_slice(&input[start..]);
    }

    /// A line ended: notes the end of the header and counts TOP's body lines.
    fn end_of_line(&mut self) {
        let empty = self.line_len == 0 || (self.line_len == 1 && self.last == b'\r');
        self.line_len = 0;
        if !self.in_body {
            if empty {
                self.in_body = true;
                self.done = self.body_lines == Some(0);
            }
            return;
        }
        if let Some(n) = self.body_lines.as_mut() {
            *n -= 1;
            self.done = *n == 0;
        }
    }

    /// Ends the last line if the file did not, and appends the terminating `.` line.
    pub fn finish(self, out: &mut Vec<u8>) {
        match self.last {
            b'\n' => {}
            b'\r' => out.push(b'\n'),
            _ => out.extend_from_slice(b"\r\n"),
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// The whole wire form of `message` at once (tests, fuzzing).
pub fn encode(message: &[u8], top: Option<u64>) -> Vec<u8> {
    let mut e = match top {
        Some(n) => Encoder::top(n),
        None => Encoder::retr(),
    };
    let mut out = Vec::new();
    e.push(message, &mut out);
    e.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_dot_stuffing() {
        assert_eq!(encode(b"A: b\n\n.hidden\n..two\nend", None), b"A: b\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n");
        assert_eq!(encode(b"A: b\r\n\r\nbody\r\n", None), b"A: b\r\n\r\nbody\r\n.\r\n");
        assert_eq!(encode(b"", None), b".\r\n");
        assert_eq!(encode(b"x\r", None), b"x\r\n.\r\n");
    }

    #[test]
    fn top_counts_body_lines() {
        let m = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(encode(m, Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(encode(m, Some(2)), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n.\r\n");
        assert_eq!(encode(m, Some(10)), [&m[..], b".\r\n"].concat());
        // A header without body: all of it.
        assert_eq!(encode(b"A: 1\n", Some(0)), b"A: 1\r\n.\r\n");
    }

    #[test]
    fn chunking_does_not_matter() {
        let m = b"A: 1\n\n.a\r\n.\n\r\nb\rc\n..\n";
        for top in [None, Some(0), Some(1), Some(3)] {
            let whole = encode(m, top);
            for split in 0..m.len() {
                let mut e = match top { Some(n) => Encoder::top(n), None => Encoder::retr() };
                let mut out = Vec::new();
                e.push(&m[..split], &mut out);
                e.push(&m[split..], &mut out);
                e.finish(&mut out);
                assert_eq!(out, whole, "split at {split}, top {top:?}");
            }
        }
    }
}
