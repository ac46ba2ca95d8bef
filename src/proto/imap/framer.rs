//! Cuts the client's byte stream into commands, I/O-free: a command is a line, or lines
//! joined by literals (`{n}` answered with a continuation, `{n+}` LITERAL+). Bounded: a
//! command (its lines plus small literals) is at most `max_command` octets, else the
//! session says BAD and closes. An APPEND message literal is not collected: the framer
//! stops and the session streams it to a file (`Event::AppendLiteral`), then resumes.
//!
//! Owns: command framing. Must not touch: I/O, command syntax beyond the APPEND test.
use super::command::append_literal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete command (lines joined by CRLF, small literals inline, no final CRLF).
    Command(Vec<u8>),
    /// A synchronizing literal fits: send `+ Ready for literal data`.
    Continue,
    /// The command so far is an APPEND whose message literal comes next: the session
    /// checks the size, then either streams `size` octets and calls `appended` (the rest of the line then completes the
    /// `Command`), or refuses
    /// (`refuse_literal`).
    AppendLiteral { tag: String, size: u64, sync: bool },
    /// A literal over the limit for a non-APPEND command. After a synchronizing one the
    /// framer is ready for the next command (answer BAD); after LITERAL+ the client is
    /// already sending it: close.
    LiteralTooLarge { tag: Option<String>, sync: bool },
    /// A line or command over the limit: answer BAD and close.
    TooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Literal(usize),
    AwaitAppend(u64),
    /// Skipping a refused LITERAL+ APPEND message, then the rest of its line.
    Skip(u64),
    Discard,
}

#[derive(Debug)]
pub struct Framer {
    cmd: Vec<u8>,
    /// Where the current line starts in `cmd`.
    line_start: usize,
    state: State,
    max_command: usize,
}

/// The tag of a command buffer, when it starts with one.
pub fn tag_of(cmd: &[u8]) -> Option<String> {
    let end = cmd.iter().position(|&b| b == b' ').unwrap_or(cmd.len());
    let t = &cmd[..end];
    (!t.is_empty() && t.len() <= 64 && t.iter().all(|&b| b > 0x20 && b < 0x7f && !b"(){%*\"\\+".contains(&b)))
        .then(|| String::from_utf8_lossy(t).into_owned())
}

/// `{n}` or `{n+}` at the end of a line: (n, sync).
fn literal_at_end(line: &[u8]) -> Option<(u64, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let inner = &inner[open + 1..];
    let (digits, sync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (inner, true),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((std::str::from_utf8(digits).ok()?.parse().ok()?, sync))
}

impl Framer {
    pub fn new(max_command: usize) -> Framer {
        Framer { cmd: Vec::new(), line_start: 0, state: State::Line, max_command }
    }

    /// Whether the framer is between commands (nothing partial buffered).
    pub fn is_idle(&self) -> bool {
        self.state == State::Line && self.cmd.is_empty()
    }

    /// Feeds input; returns how many octets were consumed and at most one event. Call
    /// again with the rest while it consumes something or returns an event.
    pub fn push(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        match self.state {
            State::Line => self.line(input),
            State::Literal(n) => {
                let k = n.min(input.len());
                self.cmd.extend_from_slice(&input[..k]);
                self.state = if k == n { State::Line } else { State::Literal(n - k) };
                self.line_start = self.cmd.len();
                (k, None)
            }
            State::AwaitAppend(_) => (0, None),
            State::Skip(n) => {
                let k = (n.min(input.len() as u64)) as usize;
                self.state = if k as u64 == n { State::Discard } else { State::Skip(n - k as u64) };
                (k, None)
            }
            State::Discard => match memchr::memchr(b'\n', input) {
                Some(i) => {
                    self.reset();
                    (i + 1, None)
                }
                None => (input.len(), None),
            },
        }
    }

    fn reset(&mut self) {
        self.cmd = Vec::new();
        self.line_start = 0;
        self.state = State::Line;
    }

    fn line(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let Some(i) = memchr::memchr(b'\n', input) else {
            self.cmd.extend_from_slice(input);
            if self.cmd.len() > self.max_command {
                self.reset();
                return (input.len(), Some(Event::TooLong));
            }
            return (input.len(), None);
        };
        self.cmd.extend_from_slice(&input[..i]);
        if self.cmd.len() > self.line_start && self.cmd.last() == Some(&b'\r') {
            self.cmd.pop();
        }
        if self.cmd.len() > self.max_command {
            self.reset();
            return (i + 1, Some(Event::TooLong));
        }
        let Some((n, sync)) = literal_at_end(&self.cmd[self.line_start..]) else {
            let cmd = std::mem::take(&mut self.cmd);
            self.reset();
            return (i + 1, Some(Event::Command(cmd)));
        };
        if let Some((size, sync)) = append_literal(&self.cmd) {
            let tag = tag_of(&self.cmd).unwrap_or_default();
            self.cmd.extend_from_slice(b"\r\n");
            self.line_start = self.cmd.len();
            self.state = State::AwaitAppend(size);
            return (i + 1, Some(Event::AppendLiteral { tag, size, sync }));
        }
        if n > (self.max_command - self.cmd.len()) as u64 {
            let tag = tag_of(&self.cmd);
            self.reset();
            if !sync {
                self.state = State::Skip(n);
            }
            return (i + 1, Some(Event::LiteralTooLarge { tag, sync }));
        }
        self.cmd.extend_from_slice(b"\r\n");
        self.line_start = self.cmd.len();
        self.state = State::Literal(n as usize);
        if n == 0 {
            self.state = State::Line;
        }
        (i + 1, sync.then_some(Event::Continue))
    }

    /// The session streamed the APPEND message: the rest of the command line follows.
    pub fn appended(&mut self) {
        self.state = State::Line;
    }

    /// The session refused the APPEND message: a synchronizing literal is never sent; a
    /// LITERAL+ one is skipped with the rest of its line.
    pub fn refuse_literal(&mut self) {
        let state = self.state;
        self.reset();
        if let State::AwaitAppend(n) = state {
            self.state = State::Skip(n);
        }
    }

}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(f: &mut Framer, mut input: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let (n, ev) = f.push(input);
            input = &input[n..];
            if let Some(e) = ev {
                out.push(e);
            } else if n == 0 {
                return out;
            }
        }
    }

    #[test]
    fn lines_and_literals() {
        let mut f = Framer::new(1000);
        let ev = events(&mut f, b"a NOOP\r\nb LOGIN {3}\r\njoe {2+}\r\npw\r\nc LOGOUT\n");
        assert_eq!(
            ev,
            [
                Event::Command(b"a NOOP".to_vec()),
                Event::Continue,
                Event::Command(b"b LOGIN {3}\r\njoe {2+}\r\npw".to_vec()),
                Event::Command(b"c LOGOUT".to_vec()),
            ]
        );
    }

    #[test]
    fn byte_by_byte_is_the_same() {
        let input = b"b LOGIN {3}\r\njoe pw\r\n";
        let mut f = Framer::new(1000);
        let mut out = Vec::new();
        for b in input.chunks(1) {
            out.extend(events(&mut f, b));
        }
        assert_eq!(out, [Event::Continue, Event::Command(b"b LOGIN {3}\r\njoe pw".to_vec())]);
    }

    #[test]
    fn limits_and_append() {
        let mut f = Framer::new(100);
        assert_eq!(events(&mut f, &[b'x'; 200]), [Event::TooLong]);
        let mut f = Framer::new(100);
        assert_eq!(events(&mut f, b"a LOGIN {1000}\r\n"), [Event::LiteralTooLarge { tag: Some("a".into()), sync: true }]);
        assert!(f.is_idle());
        assert_eq!(events(&mut f, b"a APPEND INBOX {5000}\r\nxx"), [Event::AppendLiteral { tag: "a".into(), size: 5000, sync: true }]);
        f.appended();
        assert_eq!(events(&mut f, b"\r\n"), [Event::Command(b"a APPEND INBOX {5000}\r\n".to_vec())]);
    }
}
