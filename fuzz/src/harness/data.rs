//! DATA reader and BDAT line checker: never panic; the result does not depend on how the
//! input is split into reads; content never exceeds the size limit; what `dot_stuff`
//! sends is read back as the original lines; DATA and BDAT judge the same content alike;
//! normalized content never holds a bare CR or LF.
use postern::proto::smtp::data::{BareNewline, DataError, DataReader, Feed, LineChecker, dot_stuff};

/// Size limits the flags byte chooses between (small ones reach the TooBig paths).
const LIMITS: [usize; 4] = [usize::MAX, 64, 1000, 4096];

pub fn run(data: &[u8]) {
    let (f, input) = super::flags(data);
    let max = LIMITS[usize::from(f & 3)];
    let policy = if f & 4 == 0 { BareNewline::Reject } else { BareNewline::Normalize };
    // Split points come from the input itself so the fuzzer explores them.
    let step = usize::from(f >> 3) + 1;
    let whole = read(input, max, policy, &[input.len()]);
    let cuts: Vec<usize> = (step..input.len()).step_by(step).chain([input.len()]).collect();
    let split = read(input, max, policy, &cuts);
    assert_eq!(whole, split, "DATA result depends on read boundaries (step {step})");
    let (content, consumed, done, verdict) = whole;
    assert!(consumed <= input.len());
    assert!(content.len() <= max, "content {} > limit {max}", content.len());
    if done && max == usize::MAX {
        // BDAT sees the unstuffed content directly: same verdict, in one chunk or many;
        // normalized content passes even the strict check.
        let want = if policy == BareNewline::Normalize { Ok(()) } else { verdict };
        assert_eq!(check_bdat(&content, &[content.len()]), want, "BDAT vs DATA on {content:?}");
        let cuts: Vec<usize> = (step..content.len()).step_by(step).chain([content.len()]).collect();
        assert_eq!(check_bdat(&content, &cuts), want, "BDAT depends on chunking");
    }
    stuff_roundtrip(input);
}

type Outcome = (Vec<u8>, usize, bool, Result<(), DataError>);

/// Feeds `input` cut at the (increasing) offsets `cuts`, as successive reads would.
fn read(input: &[u8], max: usize, policy: BareNewline, cuts: &[usize]) -> Outcome {
    let mut r = DataReader::new(max, policy);
    let (mut out, mut consumed, mut start) = (Vec::new(), 0, 0);
    for &end in cuts {
        let Feed { consumed: n, done } = r.feed(&input[start..end], &mut out);
        assert!(n <= end - start);
        consumed += n;
        if done {
            assert!(r.is_done());
            return (out, consumed, true, r.finish());
        }
        assert_eq!(n, end - start, "not done but input left over");
        start = end;
    }
    (out, consumed, false, r.finish())
}

fn check_bdat(content: &[u8], cuts: &[usize]) -> Result<(), DataError> {
    let mut c = LineChecker::new(usize::MAX, BareNewline::Reject);
    let mut start = 0;
    for &end in cuts {
        c.check(&content[start..end]);
        start = end;
    }
    assert_eq!(c.size(), content.len());
    c.finish()
}

/// What the client side sends (`dot_stuff`) the server side reads back line for line.
fn stuff_roundtrip(body: &[u8]) {
    let mut wire = Vec::new();
    dot_stuff(body, &mut wire);
    assert!(wire == b".\r\n" || wire.ends_with(b"\r\n.\r\n"), "{wire:?}");
    let (content, consumed, done, verdict) = read(&wire, usize::MAX, BareNewline::Reject, &[wire.len()]);
    assert!(done, "dot_stuff output not terminated");
    assert_eq!(consumed, wire.len(), "terminator found early in dot_stuff output");
    assert_eq!(content, normalized(body), "dot_stuff round trip");
    assert_ne!(verdict, Err(DataError::BareNewline), "dot_stuff left a bare CR/LF");
}

/// `body` with every CRLF, lone CR and lone LF as CRLF, ending in CRLF unless empty.
fn normalized(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}
