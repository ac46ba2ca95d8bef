//! DATA reader (dot-unstuffing, strict CRLF.CRLF end) and the checks shared with BDAT.
//!
//! Owns: turning the bytes after `354` into message content, the SMTP smuggling defence
//! (only `<CRLF>.<CRLF>` ends DATA; a bare CR/LF is never part of an end of data), the
//! bare-newline policy (normalize to CRLF like Postfix 3.9, or reject), the message size
//! check, and dot-stuffing for the outbound client. Text lines may be of any length
//! (Postfix, Exim and Stalwart accept them too); only command lines are bounded.
//! Must not touch: I/O. The reader is fed byte slices and reports how many it consumed;
//! results never depend on how the input was split.
use memchr::memchr2;

use super::reply::Reply;

/// What to do with a CR or LF that is not part of a CRLF pair in message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BareNewline {
    /// Take it as a line end and store CRLF (Postfix 3.9 `smtpd_forbid_bare_newline =
    /// normalize`). It still never ends DATA, and a dot after it is content, not stuffing.
    #[default]
    Normalize,
    /// Refuse the message with 550 5.6.0 (RFC 5321 §2.3.8).
    Reject,
}

/// Why a message body is refused (checked after the whole body was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("message contains a bare CR or LF")]
    BareNewline,
    #[error("message exceeds the size limit")]
    TooBig,
}

impl DataError {
    pub fn reply(&self) -> Reply {
        match self {
            DataError::BareNewline => Reply::bare_newline(),
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
#[derive(Debug, Clone)]
struct Checks {
    max_size: usize,
    size: usize,
    policy: BareNewline,
    /// A bare CR or LF was seen.
    bare: bool,
}

impl Checks {
    fn new(max_size: usize, policy: BareNewline) -> Checks {
        Checks {
            max_size,
            size: 0,
            policy,
            bare: false,
        }
    }

    /// A CR or LF that is not part of a CRLF pair.
    fn bare(&mut self) {
        self.bare = true;
    }

    fn normalizes(&self) -> bool {
        self.policy == BareNewline::Normalize
    }

    fn result(&self) -> Result<(), DataError> {
        if self.size > self.max_size {
            Err(DataError::TooBig)
        } else if self.bare && self.policy == BareNewline::Reject {
            Err(DataError::BareNewline)
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
    pub fn new(max_size: usize, policy: BareNewline) -> DataReader {
        DataReader {
            checks: Checks::new(max_size, policy),
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
                State::Text => i = self.scan_text(input, i, &mut run, out),
                State::Cr if input[i] == b'\n' => {
                    self.state = State::LineStart;
                    i += 1;
                }
                State::Cr => {
                    // Bare CR (already in the run); the current byte is re-examined as text.
                    self.bare_cr(input, i, &mut run, out);
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
                    self.bare_cr(input, i, &mut run, out);
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

    /// A bare CR was emitted just before `input[i]`: normalizing completes it to CRLF.
    fn bare_cr(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut Vec<u8>) {
        self.checks.bare();
        if self.checks.normalizes() {
            self.checks.emit(out, &input[*run..i]);
            self.checks.emit(out, b"\n");
            *run = i;
        }
    }

    /// Skips line text from `i` up to and including the next CR or LF; returns the index after.
    /// A bare LF stays inside the line (state `Text`): a dot after it is content, so a
    /// `\n.\n` or `\n.\r\n` can never end DATA, whatever the policy.
    fn scan_text(&mut self, input: &[u8], i: usize, run: &mut usize, out: &mut Vec<u8>) -> usize {
        let Some(k) = memchr2(b'\r', b'\n', &input[i..]) else {
            return input.len();
        };
        let j = i + k;
        if input[j] == b'\r' {
            self.state = State::Cr;
        } else {
            self.checks.bare();
            if self.checks.normalizes() {
                self.checks.emit(out, &input[*run..j]);
                self.checks.emit(out, b"\r\n");
                *run = j + 1;
            }
        }
        j + 1
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

/// The DATA checks (bare CR/LF, size) for BDAT chunks, which are not dot-stuffed.
/// Chunk boundaries may fall anywhere, even inside CRLF. Under
/// [`BareNewline::Normalize`] the caller passes the whole message through [`to_crlf`]
/// when [`LineChecker::saw_bare`] says so.
#[derive(Debug, Clone)]
pub struct LineChecker {
    checks: Checks,
    /// The previous chunk ended in CR.
    cr: bool,
}

impl LineChecker {
    pub fn new(max_size: usize, policy: BareNewline) -> LineChecker {
        LineChecker {
            checks: Checks::new(max_size, policy),
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
                i = 1;
            } else {
                c.bare();
            }
        }
        while i < chunk.len() {
            let Some(k) = memchr2(b'\r', b'\n', &chunk[i..]) else {
                return;
            };
            let j = i + k;
            match (chunk[j], chunk.get(j + 1)) {
                (b'\r', Some(b'\n')) => {
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

    /// A bare CR or LF was seen (a trailing lone CR counts): the content needs [`to_crlf`].
    pub fn saw_bare(&self) -> bool {
        self.checks.bare || self.cr
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

/// Dot-stuffs `body` for DATA and appends the terminator (client side); the whole-buffer
/// form of [`DotStuffer`].
///
/// Lines are normalised to CRLF: a bare CR or LF becomes CRLF, so no receiver can see a
/// different end of message than we meant. A final CRLF is added when missing.
pub fn dot_stuff(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + body.len() / 64 + 5);
    let mut stuffer = DotStuffer::default();
    stuffer.push(body, out);
    stuffer.finish(out);
}

/// Dot-stuffing for a message sent in chunks cut anywhere (even inside CRLF); the output
/// is the same as [`dot_stuff`] of the whole message.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    line_start: bool,
    /// The previous chunk ended in CR (already sent as CRLF): a LF now is part of it.
    after_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer { line_start: true, after_cr: false }
    }
}

impl DotStuffer {
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        push_crlf(&mut self.after_cr, Some(&mut self.line_start), chunk, out);
    }

    /// Ends the last line if needed and appends the terminator.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = DotStuffer::default();
    }
}

/// Every CRLF, lone CR and lone LF becomes CRLF: what the queue may hold (no bare CR/LF).
pub fn to_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    CrlfNormalizer::default().push(input, &mut out);
    out
}

/// [`to_crlf`] for content that arrives in chunks cut anywhere (BDAT).
#[derive(Debug, Clone, Default)]
pub struct CrlfNormalizer {
    /// The previous chunk ended in CR (already written as CRLF).
    after_cr: bool,
}

impl CrlfNormalizer {
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        push_crlf(&mut self.after_cr, None, chunk, out);
    }
}

/// Appends `chunk` with every line end as CRLF. `after_cr`: the previous chunk ended in a
/// CR (already written as CRLF), so a LF first is part of it. With `line_start`, a dot at
/// the start of a line is doubled (dot-stuffing) and the flag says where the chunk ended.
fn push_crlf(after_cr: &mut bool, mut line_start: Option<&mut bool>, chunk: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    if std::mem::take(after_cr) && chunk.first() == Some(&b'\n') {
        i = 1;
    }
    while i < chunk.len() {
        if let Some(start) = line_start.as_deref_mut()
            && std::mem::take(start)
            && chunk[i] == b'.'
        {
            out.push(b'.');
        }
        let Some(k) = memchr2(b'\r', b'\n', &chunk[i..]) else {
            out.extend_from_slice(&chunk[i..]);
            return;
        };
        let j = i + k;
        out.extend_from_slice(&chunk[i..j]);
        out.extend_from_slice(b"\r\n");
        if let Some(start) = line_start.as_deref_mut() {
            *start = true;
        }
        i = match (chunk[j], chunk.get(j + 1)) {
            (b'\r', Some(b'\n')) => j + 2,
            (b'\r', None) => {
                *after_cr = true;
                j + 1
            }
            _ => j + 1,
        };
    }
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
        policy: BareNewline,
    ) -> (Vec<u8>, usize, bool, Result<(), DataError>) {
        let mut r = DataReader::new(max, policy);
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

    /// Obviously-correct reference: find CRLF.CRLF, split lines at CRLF, unstuff, then
    /// (normalize) turn each lone CR or LF into CRLF.
    fn model(
        input: &[u8],
        max: usize,
        policy: BareNewline,
    ) -> Option<(Vec<u8>, usize, Result<(), DataError>)> {
        let framed = [b"\r\n", input].concat();
        let pos = framed.windows(5).position(|w| w == b"\r\n.\r\n")?;
        let body = &input[..pos];
        let (mut content, mut bare) = (Vec::new(), false);
        let mut rest = body;
        while !rest.is_empty() {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let line = rest[..end].strip_prefix(b".").unwrap_or(&rest[..end]);
            bare |= line.iter().any(|&b| b == b'\r' || b == b'\n');
            match policy {
                BareNewline::Normalize => content.extend_from_slice(&to_crlf(line)),
                BareNewline::Reject => content.extend_from_slice(line),
            }
            content.extend_from_slice(b"\r\n");
            rest = &rest[end + 2..];
        }
        let verdict = if content.len() > max {
            Err(DataError::TooBig)
        } else if bare && policy == BareNewline::Reject {
            Err(DataError::BareNewline)
        } else {
            Ok(())
        };
        content.truncate(max);
        Some((content, pos + 3, verdict))
    }

    fn whole(input: &[u8]) -> (Vec<u8>, usize, bool, Result<(), DataError>) {
        read(input, &[], usize::MAX, BareNewline::Reject)
    }

    fn normalized(input: &[u8]) -> (Vec<u8>, usize, bool, Result<(), DataError>) {
        read(input, &[], usize::MAX, BareNewline::Normalize)
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
    fn smuggling_variants_stay_content_when_normalized() {
        for (fake, stored) in [
            (&b"\n.\n"[..], &b"\r\n.\r\n"[..]),
            (b"\r.\r", b"\r\n.\r\n"),
            (b"\n.\r\n", b"\r\n.\r\n"),
            (b"\r\n.\n", b"\r\n\r\n"),
            (b"\r\n.\r", b"\r\n\r\n"),
            (b"\r.\r\n", b"\r\n.\r\n"),
        ] {
            let input = [b"a", fake, b"MAIL FROM:<x@y>\r\n.\r\n"].concat();
            let (out, used, done, verdict) = normalized(&input);
            assert!(done && verdict.is_ok(), "{fake:?}");
            assert_eq!(used, input.len(), "{fake:?}");
            assert_eq!(out, [b"a", stored, b"MAIL FROM:<x@y>\r\n"].concat(), "{fake:?}");
        }
        assert!(!normalized(b"a\n.\n").2);
    }

    #[test]
    fn bare_lf_message_is_stored_with_crlf() {
        let (out, _, done, verdict) = normalized(b"Subject: x\n\nline 1\nline 2\r\n.\r\n");
        assert_eq!((done, verdict), (true, Ok(())));
        assert_eq!(out, b"Subject: x\r\n\r\nline 1\r\nline 2\r\n");
        let (_, _, _, verdict) = whole(b"Subject: x\n\r\n.\r\n");
        assert_eq!(verdict, Err(DataError::BareNewline));
        assert_eq!(
            DataError::BareNewline.reply().to_string(),
            "550 5.6.0 Message contains bare CR or LF (see RFC 5321 section 2.3.8)"
        );
    }

    #[test]
    fn long_lines_are_content_and_size_is_bounded() {
        for n in [998, 999, 1500, 20_000] {
            let body = [vec![b'x'; n], b"\r\n".to_vec()].concat();
            let (out, _, done, verdict) = whole(&[&body[..], b".\r\n"].concat());
            assert_eq!((out, done, verdict), (body, true, Ok(())), "{n}");
        }
        let (out, _, done, verdict) = read(b"0123456789\r\n.\r\n", &[3, 7], 5, BareNewline::Reject);
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
        let mut c = LineChecker::new(100, BareNewline::Reject);
        c.check(b"a\r");
        c.check(b"\nb\r\n");
        assert_eq!((c.finish(), c.saw_bare()), (Ok(()), false));
        c.check(b"x\r");
        assert_eq!((c.finish(), c.saw_bare()), (Err(DataError::BareNewline), true));
        let mut c = LineChecker::new(100, BareNewline::Reject);
        c.check(b"a\nb\r\n");
        assert_eq!(c.finish(), Err(DataError::BareNewline));
        let mut c = LineChecker::new(100, BareNewline::Normalize);
        c.check(b"a\nb\r\n");
        assert_eq!((c.finish(), c.saw_bare()), (Ok(()), true));
        let mut c = LineChecker::new(5000, BareNewline::Reject);
        c.check(&[b'y'; 1001]);
        assert_eq!(c.finish(), Ok(()));
        let mut c = LineChecker::new(3, BareNewline::Reject);
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
            normalize in any::<bool>(),
        ) {
            let policy = if normalize { BareNewline::Normalize } else { BareNewline::Reject };
            let (out, used, done, verdict) = read(&input, &cuts, max, policy);
            match model(&input, max, policy) {
                Some(expected) => prop_assert_eq!((out, used, done, verdict), (expected.0, expected.1, true, expected.2)),
                None => prop_assert_eq!((used, done), (input.len(), false)),
            }
        }

        #[test]
        fn dot_stuff_roundtrip(lines in proptest::collection::vec("[.a-z ]{0,12}", 0..12), cuts in proptest::collection::vec(any::<usize>(), 0..5)) {
            let body: Vec<u8> = lines.iter().flat_map(|l| [l.as_bytes(), b"\r\n"].concat()).collect();
            let mut wire = Vec::new();
            dot_stuff(&body, &mut wire);
            prop_assert_eq!(read(&wire, &cuts, usize::MAX, BareNewline::Reject), (body, wire.len(), true, Ok(())));
        }

        #[test]
        fn line_checker_matches_reader(input in arb_input(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            // Without dots on line starts the checker and the reader agree on the verdict.
            let body: Vec<u8> = input.iter().map(|&b| if b == b'.' { b'x' } else { b }).collect();
            let mut c = LineChecker::new(usize::MAX, BareNewline::Reject);
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

    proptest! {
        #[test]
        fn chunked_stuffing_and_normalizing_match_the_whole_buffer_forms(
            body in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..64),
            cut in 0usize..64,
        ) {
            let cut = cut.min(body.len());
            let mut whole = Vec::new();
            dot_stuff(&body, &mut whole);
            let (mut chunked, mut s) = (Vec::new(), DotStuffer::default());
            s.push(&body[..cut], &mut chunked);
            s.push(&body[cut..], &mut chunked);
            s.finish(&mut chunked);
            prop_assert_eq!(&chunked, &whole);
            let (mut norm, mut n) = (Vec::new(), CrlfNormalizer::default());
            n.push(&body[..cut], &mut norm);
            n.push(&body[cut..], &mut norm);
            prop_assert_eq!(norm, to_crlf(&body));
        }
    }
}
