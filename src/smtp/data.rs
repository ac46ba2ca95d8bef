//! DATA reader (dot-unstuffing, strict CRLF.CRLF end) and the line checks shared with BDAT.
//!
//! Owns: turning the bytes after `354` into message content, the SMTP smuggling defence
//! (only `<CRLF>.<CRLF>` ends DATA; bare CR/LF are errors, never line ends), the 1000-octet
//! line and message size checks, and dot-stuffing for the outbound client.
//! Must not touch: I/O. The reader is fed byte slices and reports how many it consumed;
//! results never depend on how the input was split.
use memchr::memchr2;

use super::MAX_TEXT_LINE;
use super::reply::Reply;

/// Why a message body is refused (checked after the whole body was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("message contains a bare CR or LF")]
    BareNewline,
    #[error("message line longer than {MAX_TEXT_LINE} octets")]
    LineTooLong,
    #[error("message exceeds the size limit")]
    TooBig,
}

impl DataError {
    pub fn reply(&self) -> Reply {
        match self {
            DataError::BareNewline => Reply::bare_newline(),
            DataError::LineTooLong => Reply::text_line_too_long(),
            DataError::TooBig => Reply::message_too_big(),
        }
    }
}

/// Outcome of one [`DataReader::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// Bytes of `input` used; after the terminator the rest belongs to the next command.
    pub consumed: usize,
    /// The `<CRLF>.<CRLF>` terminator has been read.
    pub done: bool,
}

/// Sticky verdicts shared by the DATA reader and the BDAT checker.
#[derive(Debug, Clone, Default)]
struct Checks {
    max_size: usize,
    size: usize,
    /// Octets of the current line so far, without CRLF and without a stuffed dot.
    line_len: usize,
    bare: bool,
    long: bool,
}

impl Checks {
    fn new(max_size: usize) -> Checks {
        Checks {
            max_size,
            ..Checks::default()
        }
    }

    /// Counts `n` octets of line text.
    fn text(&mut self, n: usize) {
        self.line_len += n;
        // A complete line is line_len + CRLF octets.
        self.long |= self.line_len > MAX_TEXT_LINE - 2;
    }

    /// A CR or LF that is not part of a CRLF pair: an error, and ordinary text for length.
    fn bare(&mut self) {
        self.bare = true;
        self.text(1);
    }

    fn end_line(&mut self) {
        self.line_len = 0;
    }

    fn result(&self) -> Result<(), DataError> {
        if self.size > self.max_size {
            Err(DataError::TooBig)
        } else if self.bare {
            Err(DataError::BareNewline)
        } else if self.long {
            Err(DataError::LineTooLong)
        } else {
            Ok(())
        }
    }

    /// Appends content, never growing `out` past `max_size` bytes of this message.
    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        let room = self.max_size.saturating_sub(self.size);
        out.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.size = self.size.saturating_add(bytes.len());
    }
}

/// Where the reader is relative to line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just after CRLF (or at the very start).
    LineStart,
    /// Line start, then `.`.
    Dot,
    /// Line start, `.`, CR: a LF now ends the message.
    DotCr,
    /// Inside a line.
    Text,
    /// Inside a line, just after CR.
    Cr,
}

/// I/O-free DATA reader. Feed it what arrived after the 354 reply.
#[derive(Debug, Clone)]
pub struct DataReader {
    checks: Checks,
    state: State,
    /// The CR of a `.CR` at the end of the previous input, not yet emitted.
    held_cr: bool,
    done: bool,
}

impl DataReader {
    /// `max_size`: content octets kept; beyond it the message is read but not stored.
    pub fn new(max_size: usize) -> DataReader {
        DataReader {
            checks: Checks::new(max_size),
            state: State::LineStart,
            held_cr: false,
            done: false,
        }
    }

    /// Consumes `input` up to and including the terminator, appending content to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Feed {
        if self.done {
            return Feed {
                consumed: 0,
                done: true,
            };
        }
        // Content is copied in runs: `run..i` is verbatim content not yet emitted.
        let (mut i, mut run) = (0, 0);
        while i < input.len() {
            match self.state {
                State::Text => i = self.scan_text(input, i),
                State::Cr if input[i] == b'\n' => {
                    self.checks.end_line();
                    self.state = State::LineStart;
                    i += 1;
                }
                State::Cr => {
                    // Bare CR; the current byte is re-examined as text.
                    self.checks.bare();
                    self.state = State::Text;
                }
                State::LineStart if input[i] == b'.' => {
                    // Either stuffing or the terminator: the dot is never content.
                    self.checks.emit(out, &input[run..i]);
                    run = i + 1;
                    self.state = State::Dot;
                    i += 1;
                }
                State::LineStart => self.state = State::Text,
                State::Dot if input[i] == b'\r' => {
                    self.state = State::DotCr;
                    i += 1;
                }
                State::Dot => self.state = State::Text,
                State::DotCr if input[i] == b'\n' => {
                    // `run..i` holds at most the terminator's CR: not content.
                    self.done = true;
                    self.checks.end_line();
                    return Feed {
                        consumed: i + 1,
                        done: true,
                    };
                }
                State::DotCr => {
                    // `.CR` then not LF: stuffed dot, then a bare CR that is content.
                    if std::mem::take(&mut self.held_cr) {
                        self.checks.emit(out, b"\r");
                    }
                    self.checks.bare();
                    self.state = State::Text;
                }
            }
        }
        let mut end = input.len();
        if self.state == State::DotCr && !self.held_cr {
            // The CR just read may be part of the terminator: hold it back.
            end -= 1;
            self.held_cr = true;
        }
        self.checks.emit(out, &input[run.min(end)..end]);
        Feed {
            consumed: input.len(),
            done: false,
        }
    }

    /// Skips line text from `i` up to and including the next CR or LF; returns the index after.
    fn scan_text(&mut self, input: &[u8], i: usize) -> usize {
        let Some(k) = memchr2(b'\r', b'\n', &input[i..]) else {
            self.checks.text(input.len() - i);
            return input.len();
        };
        self.checks.text(k);
        if input[i + k] == b'\r' {
            self.state = State::Cr;
        } else {
            self.checks.bare();
        }
        i + k + 1
    }

    /// True once the terminator was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Message octets seen so far (including any beyond `max_size`).
    pub fn size(&self) -> usize {
        self.checks.size
    }

    /// The verdict; call after `feed` reported `done`. Size is reported before format.
    pub fn finish(&self) -> Result<(), DataError> {
        self.checks.result()
    }
}

/// The DATA checks (bare CR/LF, line length, size) for BDAT chunks, which are not
/// dot-stuffed. Chunk boundaries may fall anywhere, even inside CRLF.
#[derive(Debug, Clone)]
pub struct LineChecker {
    checks: Checks,
    /// The previous chunk ended in CR.
    cr: bool,
}

impl LineChecker {
    pub fn new(max_size: usize) -> LineChecker {
        LineChecker {
            checks: Checks::new(max_size),
            cr: false,
        }
    }

    /// Checks the next piece of message content.
    pub fn check(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        let c = &mut self.checks;
        c.size = c.size.saturating_add(chunk.len());
        let mut i = 0;
        if std::mem::take(&mut self.cr) {
            if chunk[0] == b'\n' {
                c.end_line();
                i = 1;
            } else {
                c.bare();
            }
        }
        while i < chunk.len() {
            let Some(k) = memchr2(b'\r', b'\n', &chunk[i..]) else {
                c.text(chunk.len() - i);
                return;
            };
            c.text(k);
            let j = i + k;
            match (chunk[j], chunk.get(j + 1)) {
                (b'\r', Some(b'\n')) => {
                    c.end_line();
                    i = j + 2;
                }
                (b'\r', None) => {
                    self.cr = true;
                    return;
                }
                _ => {
                    c.bare();
                    i = j + 1;
                }
            }
        }
    }

    /// Message octets seen so far.
    pub fn size(&self) -> usize {
        self.checks.size
    }

    /// The verdict once the last chunk was checked; a trailing lone CR counts as bare.
    pub fn finish(&self) -> Result<(), DataError> {
        let mut checks = self.checks.clone();
        if self.cr {
            checks.bare();
        }
        checks.result()
    }
}

/// Dot-stuffs `body` for DATA and appends the terminator (client side).
///
/// Lines are normalised to CRLF: a bare CR or LF becomes CRLF, so no receiver can see a
/// different end of message than we meant. A final CRLF is added when missing.
pub fn dot_stuff(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + body.len() / 64 + 5);
    let mut i = 0;
    while i < body.len() {
        // Here `i` is at a line start.
        if body[i] == b'.' {
            out.push(b'.');
        }
        let Some(k) = memchr2(b'\r', b'\n', &body[i..]) else {
            out.extend_from_slice(&body[i..]);
            out.extend_from_slice(b"\r\n");
            break;
        };
        let j = i + k;
        out.extend_from_slice(&body[i..j]);
        out.extend_from_slice(b"\r\n");
        i = if body[j] == b'\r' && body.get(j + 1) == Some(&b'\n') {
            j + 2
        } else {
            j + 1
        };
    }
    out.extend_from_slice(b".\r\n");
}


/// Every CRLF, lone CR and lone LF becomes CRLF: what the queue may hold (no bare CR/LF).
pub fn to_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `input` in pieces cut at `cuts`; returns (content, consumed, done, verdict).
    fn read(
        input: &[u8],
        cuts: &[usize],
        max: usize,
    ) -> (Vec<u8>, usize, bool, Result<(), DataError>) {
        let mut r = DataReader::new(max);
        let (mut out, mut pos) = (Vec::new(), 0);
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.push(input.len());
        for b in bounds {
            if b < pos {
                continue;
            }
            let f = r.feed(&input[pos..b], &mut out);
            pos += f.consumed;
            if f.done {
                return (out, pos, true, r.finish());
            }
            assert_eq!(pos, b, "consumes everything until done");
        }
        (out, pos, false, r.finish())
    }

    /// Obviously-correct reference: find CRLF.CRLF, split lines, unstuff, check.
    fn model(input: &[u8], max: usize) -> Option<(Vec<u8>, usize, Result<(), DataError>)> {
        let framed = [b"\r\n", input].concat();
        let pos = framed.windows(5).position(|w| w == b"\r\n.\r\n")?;
        let body = &input[..pos];
        let (mut content, mut bare, mut long) = (Vec::new(), false, false);
        let mut rest = body;
        while !rest.is_empty() {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let line = rest[..end].strip_prefix(b".").unwrap_or(&rest[..end]);
            bare |= line.iter().any(|&b| b == b'\r' || b == b'\n');
            long |= line.len() + 2 > MAX_TEXT_LINE;
            content.extend_from_slice(line);
            content.extend_from_slice(b"\r\n");
            rest = &rest[end + 2..];
        }
        let verdict = if content.len() > max {
            Err(DataError::TooBig)
        } else if bare {
            Err(DataError::BareNewline)
        } else if long {
            Err(DataError::LineTooLong)
        } else {
            Ok(())
        };
        content.truncate(max);
        Some((content, pos + 3, verdict))
    }

    fn whole(input: &[u8]) -> (Vec<u8>, usize, bool, Result<(), DataError>) {
        read(input, &[], usize::MAX)
    }

    #[test]
    fn simple_message_and_pipelined_tail() {
        let (out, used, done, ok) = whole(b"Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n");
        assert_eq!(out, b"Subject: x\r\n\r\n.dot\r\nbody\r\n");
        assert_eq!((used, done, ok), (30, true, Ok(())));
    }

    #[test]
    fn immediate_terminator_is_empty_message() {
        assert_eq!(whole(b".\r\nNOOP"), (Vec::new(), 3, true, Ok(())));
    }

    #[test]
    fn smuggling_variants_never_end_data() {
        for fake in [
            &b"\n.\n"[..],
            b"\r.\r",
            b"\n.\r\n",
            b"\r\n.\n",
            b"\r\n.\r",
            b"\r.\r\n",
        ] {
            let input = [b"a", fake, b"MAIL FROM:<x@y>\r\n.\r\n"].concat();
            let (_, used, done, verdict) = whole(&input);
            assert!(done, "{fake:?}");
            assert_eq!(used, input.len(), "{fake:?}");
            assert_eq!(verdict, Err(DataError::BareNewline), "{fake:?}");
        }
        let (_, _, done, _) = whole(b"a\n.\n");
        assert!(!done);
    }

    #[test]
    fn long_line_and_size() {
        let ok_line = [vec![b'x'; 998], b"\r\n.\r\n".to_vec()].concat();
        assert_eq!(whole(&ok_line).3, Ok(()));
        let long = [vec![b'x'; 999], b"\r\n.\r\n".to_vec()].concat();
        assert_eq!(whole(&long).3, Err(DataError::LineTooLong));
        // A stuffed dot does not count towards the line length.
        let stuffed = [b".".to_vec(), vec![b'.'; 998], b"\r\n.\r\n".to_vec()].concat();
        assert_eq!(whole(&stuffed).3, Ok(()));
        let (out, _, done, verdict) = read(b"0123456789\r\n.\r\n", &[3, 7], 5);
        assert_eq!(
            (out.as_slice(), done, verdict),
            (&b"01234"[..], true, Err(DataError::TooBig))
        );
        assert_eq!(
            DataError::TooBig.reply().to_string(),
            "552 5.3.4 Message size exceeds fixed limit"
        );
    }

    #[test]
    fn line_checker() {
        let mut c = LineChecker::new(100);
        c.check(b"a\r");
        c.check(b"\nb\r\n");
        assert_eq!(c.finish(), Ok(()));
        c.check(b"x\r");
        assert_eq!(c.finish(), Err(DataError::BareNewline));
        let mut c = LineChecker::new(100);
        c.check(b"a\nb\r\n");
        assert_eq!(c.finish(), Err(DataError::BareNewline));
        let mut c = LineChecker::new(5000);
        c.check(&[b'y'; 1001]);
        assert_eq!(c.finish(), Err(DataError::LineTooLong));
        let mut c = LineChecker::new(3);
        c.check(b"abcd");
        assert_eq!((c.finish(), c.size()), (Err(DataError::TooBig), 4));
    }

    #[test]
    fn dot_stuff_examples() {
        let mut out = Vec::new();
        dot_stuff(b".a\r\nb\r\n.\r\n", &mut out);
        assert_eq!(out, b"..a\r\nb\r\n..\r\n.\r\n");
        out.clear();
        dot_stuff(b"no newline", &mut out);
        assert_eq!(out, b"no newline\r\n.\r\n");
        out.clear();
        dot_stuff(b"", &mut out);
        assert_eq!(out, b".\r\n");
        out.clear();
        dot_stuff(b"a\n.\nb\r", &mut out);
        assert_eq!(out, b"a\r\n..\r\nb\r\n.\r\n");
    }

    fn arb_input() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => prop::sample::select(vec![&b"\r\n"[..], b"\r", b"\n", b".", b"a", b"\r\n.\r\n", b"\r\n."]),
            1 => Just(&[b'z'; 999][..]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn matches_model_however_split(
            input in arb_input(),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            max in prop_oneof![Just(usize::MAX), 0usize..64],
        ) {
            let (out, used, done, verdict) = read(&input, &cuts, max);
            match model(&input, max) {
                Some(expected) => prop_assert_eq!((out, used, done, verdict), (expected.0, expected.1, true, expected.2)),
                None => prop_assert_eq!((used, done), (input.len(), false)),
            }
        }

        #[test]
        fn dot_stuff_roundtrip(lines in proptest::collection::vec("[.a-z ]{0,12}", 0..12), cuts in proptest::collection::vec(any::<usize>(), 0..5)) {
            let body: Vec<u8> = lines.iter().flat_map(|l| [l.as_bytes(), b"\r\n"].concat()).collect();
            let mut wire = Vec::new();
            dot_stuff(&body, &mut wire);
            prop_assert_eq!(read(&wire, &cuts, usize::MAX), (body, wire.len(), true, Ok(())));
        }

        #[test]
        fn line_checker_matches_reader(input in arb_input(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            // Without dots on line starts the checker and the reader agree on the verdict.
            let body: Vec<u8> = input.iter().map(|&b| if b == b'.' { b'x' } else { b }).collect();
            let mut c = LineChecker::new(usize::MAX);
            let mut pos = 0;
            let mut bounds: Vec<usize> = cuts.iter().map(|x| x % (body.len() + 1)).collect();
            bounds.sort_unstable();
            for b in bounds.into_iter().chain([body.len()]) {
                c.check(&body[pos..b]);
                pos = b;
            }
            let mut wire = body.clone();
            wire.extend_from_slice(if body.is_empty() || body.ends_with(b"\r\n") { b".\r\n" } else { b"\r\n.\r\n" });
            prop_assert_eq!(c.finish(), whole(&wire).3);
        }
    }
}
