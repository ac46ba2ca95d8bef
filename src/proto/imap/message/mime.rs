//! The MIME tree of a message as Dovecot 2.3's message-parser sees it: byte ranges of every
//! part's header and body, found by a boundary walker over the whole buffer.
//!
//! Owns: part boundaries (which `--boundary` line ends which part, where the [CR]LF before a
//! boundary goes), header field splitting, nesting limits. Must not touch: how fields are
//! interpreted for the wire (`data.rs`, `envelope.rs`) or written (`bodystructure.rs`).
//!
//! Why not mail-parser's offsets: mail-parser decides boundaries its own way (and panics on
//! some nested message/rfc822 input, see fuzz/regressions/dsn), while BODYSTRUCTURE sizes,
//! line counts and BODY[n] must match what Dovecot serves for the same Maildir file byte for
//! byte. Dovecot's rules, reproduced here: boundaries match by prefix (longest, innermost
//! first), the [CR]LF before a boundary line belongs to the boundary, a boundary line inside
//! a header ends that header, the boundary is armed only when the header ended with a blank
//! line, Content-* counts only with Mime-Version or Content-Type (or inside a multipart).

use std::ops::Range;

use super::rfc822::{self, Cursor};

/// Dovecot's `BOUNDARY_STRING_MAX_LEN`: longer boundaries are truncated.
const BOUNDARY_MAX: usize = 80;
/// Dovecot's defaults for `max_nested_mime_parts` / `max_total_mime_parts`: deeper or
/// further parts are left unparsed (a leaf), which also bounds recursion.
const MAX_NESTED: usize = 100;
const MAX_PARTS: usize = 10_000;

/// One header field: its name and the whole raw lines (continuations and newline included).
#[derive(Debug, Clone)]
pub struct Field {
    pub name: Range<usize>,
    pub lines: Range<usize>,
    /// Where the value starts (after the colon); `lines.end` when there is no colon.
    pub value_start: usize,
}

#[derive(Debug)]
pub enum Kind {
    Leaf,
    /// `multipart/*` (children empty when it had no usable boundary).
    Multipart(Vec<Part>),
    /// `message/rfc822`: the encapsulated message spans this part's body.
    Message(Box<Part>),
}

#[derive(Debug)]
pub struct Part {
    pub header: Range<usize>,
    pub body: Range<usize>,
    pub fields: Vec<Field>,
    /// Content-* fields apply (Mime-Version or Content-Type seen, or child of a multipart).
    pub is_mime: bool,
    pub kind: Kind,
}

impl Part {
    pub fn fields_named<'a>(
        &'a self,
        msg: &'a [u8],
        name: &'a str,
    ) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields
            .iter()
            .filter(move |f| msg[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// The value of a field as Dovecot's header parser hands it over (`full_value` with
/// SKIP_INITIAL_LWSP and DROP_CR): leading blanks of the first line skipped, line ends
/// removed, continuation lines joined with "\n" (their leading whitespace kept).
pub fn field_value(msg: &[u8], field: &Field) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = field.value_start;
    while pos < field.lines.end && matches!(msg[pos], b' ' | b'\t') {
        pos += 1;
    }
    let mut first = true;
    while pos < field.lines.end {
        let line_end = memchr::memchr(b'\n', &msg[pos..field.lines.end])
            .map(|i| pos + i)
            .unwrap_or(field.lines.end);
        let mut content_end = line_end;
        if content_end > pos && line_end < field.lines.end && msg[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        if !first {
            out.push(b'\n');
        }
        out.extend_from_slice(&msg[pos..content_end]);
        first = false;
        pos = line_end + 1;
    }
    out
}

/// Parses the whole message into its part tree.
pub fn parse(msg: &[u8]) -> Part {
    let mut parser = Parser {
        msg,
        stack: Vec::new(),
        parts: 0,
    };
    parser.part(0, 0, false, false).0
}

struct Boundary {
    text: Vec<u8>,
}

/// A boundary line found at `line`: it belongs to `stack[idx]`; the part before it ends at
/// `prefix` (the [CR]LF before the line belongs to the boundary).
#[derive(Clone, Copy)]
struct Hit {
    idx: usize,
    prefix: usize,
    line: usize,
    epilogue: bool,
}

struct Parser<'a> {
    msg: &'a [u8],
    stack: Vec<Boundary>,
    parts: usize,
}

/// What the header of a part says about its body.
struct HeaderFacts {
    is_mime: bool,
    seen_content_type: bool,
    multipart: bool,
    digest: bool,
    rfc822: bool,
    boundary: Option<Vec<u8>>,
}

impl<'a> Parser<'a> {
    /// Parses one part starting at `start`; returns it and the boundary hit that ended it
    /// (None: it ran to the end of the message).
    fn part(
        &mut self,
        start: usize,
        depth: usize,
        mime_child: bool,
        digest_parent: bool,
    ) -> (Part, Option<Hit>) {
        self.parts += 1;
        let (fields, header_end, eoh, header_hit) = self.header(start);
        let facts = self.facts(&fields, mime_child);
        let is_mime = facts.is_mime;
        let mut part = Part {
            header: start..header_end,
            body: header_end..header_end,
            fields,
            is_mime,
            kind: Kind::Leaf,
        };
        let overflow = depth >= MAX_NESTED || self.parts >= MAX_PARTS;
        // Without MIME or without Content-Type: text/plain, or message/rfc822 in a digest.
        let (multipart, rfc822) = if !is_mime || !facts.seen_content_type {
            (false, digest_parent)
        } else {
            (facts.multipart, facts.rfc822)
        };
        if let Some(hit) = header_hit {
            if multipart && !overflow {
                part.kind = Kind::Multipart(Vec::new());
            } else if rfc822 && !overflow {
                // The encapsulated message is empty: Dovecot still has the child part.
                let child = Part {
                    header: header_end..header_end,
                    body: header_end..header_end,
                    fields: Vec::new(),
                    is_mime: false,
                    kind: Kind::Leaf,
                };
                part.kind = Kind::Message(Box::new(child));
            }
            return (part, Some(hit));
        }
        let body_start = header_end;
        let (kind, end, hit) = if overflow {
            let hit = self.scan(body_start);
            (Kind::Leaf, hit.map_or(self.msg.len(), |h| h.prefix), hit)
        } else if multipart {
            match facts.boundary.filter(|_| eoh) {
                Some(boundary) => {
                    self.stack.push(Boundary { text: boundary });
                    let idx = self.stack.len() - 1;
                    let (children, end, hit) = self.multipart(body_start, idx, depth, facts.digest);
                    (Kind::Multipart(children), end, hit)
                }
                None => {
                    let hit = self.scan(body_start);
                    (
                        Kind::Multipart(Vec::new()),
                        hit.map_or(self.msg.len(), |h| h.prefix),
                        hit,
                    )
                }
            }
        } else if rfc822 {
            let (child, hit) = self.part(body_start, depth + 1, false, false);
            let end = hit.map_or(self.msg.len(), |h| h.prefix);
            (Kind::Message(Box::new(child)), end, hit)
        } else {
            let hit = self.scan(body_start);
            (Kind::Leaf, hit.map_or(self.msg.len(), |h| h.prefix), hit)
        };
        part.kind = kind;
        part.body = body_start..end;
        (part, hit)
    }

    /// The children of a multipart whose boundary is `stack[idx]`, its body end and the
    /// outer boundary hit that ended it.
    fn multipart(
        &mut self,
        body_start: usize,
        idx: usize,
        depth: usize,
        digest: bool,
    ) -> (Vec<Part>, usize, Option<Hit>) {
        let mut children = Vec::new();
        let mut next = self.scan(body_start);
        loop {
            let hit = match next {
                None => return (children, self.msg.len(), None),
                Some(hit) if hit.idx != idx => return (children, hit.prefix, Some(hit)),
                Some(hit) => hit,
            };
            let after = self.line_end(hit.line);
            if hit.epilogue {
                self.stack.truncate(idx);
                let outer = self.scan(after);
                return (children, outer.map_or(self.msg.len(), |h| h.prefix), outer);
            }
            self.stack.truncate(idx + 1);
            let (child, child_hit) = self.part(after, depth + 1, true, digest);
            children.push(child);
            next = child_hit;
        }
    }

    /// Header lines from `start`: the fields, where the header ends, whether it ended with
    /// a blank line, and the boundary line that cut it short.
    fn header(&self, start: usize) -> (Vec<Field>, usize, bool, Option<Hit>) {
        let msg = self.msg;
        let mut fields: Vec<Field> = Vec::new();
        let mut pos = start;
        loop {
            if pos >= msg.len() {
                return (fields, msg.len(), false, None);
            }
            if let Some(hit) = self.boundary_at(pos, start) {
                return (fields, hit.prefix, false, Some(hit));
            }
            if msg[pos] == b'\n' {
                return (fields, pos + 1, true, None);
            }
            if msg[pos] == b'\r' && msg.get(pos + 1) == Some(&b'\n') {
                return (fields, pos + 2, true, None);
            }
            let line_end = self.line_end(pos);
            match fields.last_mut() {
                Some(last) if matches!(msg[pos], b' ' | b'\t') => last.lines.end = line_end,
                _ => fields.push(new_field(msg, pos, line_end)),
            }
            pos = line_end;
        }
    }

    fn facts(&self, fields: &[Field], mime_child: bool) -> HeaderFacts {
        let msg = self.msg;
        let mut facts = HeaderFacts {
            is_mime: mime_child,
            seen_content_type: false,
            multipart: false,
            digest: false,
            rfc822: false,
            boundary: None,
        };
        for field in fields {
            let name = &msg[field.name.clone()];
            if name.eq_ignore_ascii_case(b"Mime-Version") {
                facts.is_mime = true;
            } else if name.eq_ignore_ascii_case(b"Content-Type") {
                facts.is_mime = true;
                if !facts.seen_content_type {
                    facts.seen_content_type = true;
                    content_type_facts(&field_value(msg, field), &mut facts);
                }
            }
        }
        facts
    }

    /// Past the LF ending the line at `pos` (or the end of the message).
    fn line_end(&self, pos: usize) -> usize {
        memchr::memchr(b'\n', &self.msg[pos..]).map_or(self.msg.len(), |i| pos + i + 1)
    }

    /// The first boundary line at or after `from` (line starts only; `from` is one).
    fn scan(&self, from: usize) -> Option<Hit> {
        if self.stack.is_empty() {
            return None;
        }
        let mut pos = from;
        while pos < self.msg.len() {
            if let Some(hit) = self.boundary_at(pos, from) {
                return Some(hit);
            }
            pos = self.line_end(pos);
        }
        None
    }

    /// Is the line at `line` a `--boundary` line of an armed boundary? `section_start` is
    /// where the current part began: no [CR]LF before it belongs to the boundary.
    fn boundary_at(&self, line: usize, section_start: usize) -> Option<Hit> {
        let msg = self.msg;
        if self.stack.is_empty() || !msg[line..].starts_with(b"--") {
            return None;
        }
        let data = &msg[line + 2..];
        let mut find_size = match memchr::memchr(b'\n', data) {
            Some(lf) => {
                let mut n = lf;
                if n > 0 && data[n - 1] == b'\r' {
                    n -= 1;
                }
                if n > 2 && data[n - 1] == b'-' && data[n - 2] == b'-' {
                    n -= 2;
                }
                n
            }
            None => data.len().min(BOUNDARY_MAX + 4),
        };
        find_size = find_size.min(data.len());
        let idx = boundary_find(&self.stack, &data[..find_size])?;
        let len = self.stack[idx].text.len();
        let epilogue = data.len() >= len + 2 && &data[len..len + 2] == b"--";
        let prefix = if line == section_start {
            line
        } else if line >= 2 && line - 2 >= section_start && msg[line - 2] == b'\r' {
            line - 2
        } else {
            line - 1
        };
        Some(Hit {
            idx,
            prefix,
            line,
            epilogue,
        })
    }
}

/// Dovecot's boundary_find: innermost first, prefix match, the longest wins.
fn boundary_find(stack: &[Boundary], data: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (idx, b) in stack.iter().enumerate().rev() {
        let len = b.text.len();
        if len <= data.len()
            && data[..len] == b.text[..]
            && best.is_none_or(|best| stack[best].text.len() < len)
        {
            best = Some(idx);
            if len == data.len() {
                break;
            }
        }
    }
    best
}

fn new_field(msg: &[u8], pos: usize, line_end: usize) -> Field {
    let line = &msg[pos..line_end];
    match memchr::memchr(b':', line) {
        Some(colon) => {
            let mut name_end = pos + colon;
            while name_end > pos && matches!(msg[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            Field {
                name: pos..name_end,
                lines: pos..line_end,
                value_start: pos + colon + 1,
            }
        }
        None => {
            let mut end = line_end;
            while end > pos && matches!(msg[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            Field {
                name: pos..end,
                lines: pos..line_end,
                value_start: line_end,
            }
        }
    }
}

/// message-parser's parse_content_type: the flags and the boundary parameter.
fn content_type_facts(value: &[u8], facts: &mut HeaderFacts) {
    let mut cur = Cursor::new(value);
    cur.skip_lwsp();
    let (ctype, ok) = rfc822::content_type(&mut cur);
    if ctype.eq_ignore_ascii_case(b"message/rfc822") {
        facts.rfc822 = true;
    } else if ctype.len() >= 4
        && ctype[..4].eq_ignore_ascii_case(b"text")
        && (ctype.len() == 4 || ctype[4] == b'/')
    {
    } else if ctype.len() >= 10 && ctype[..10].eq_ignore_ascii_case(b"multipart/") {
        facts.multipart = true;
        facts.digest = ctype[10..].eq_ignore_ascii_case(b"digest");
    }
    if !ok || !facts.multipart {
        return;
    }
    for (key, value) in rfc822::rfc2231_params(&mut cur) {
        if key.eq_ignore_ascii_case(b"boundary") {
            let mut value = value;
            value.truncate(BOUNDARY_MAX);
            facts.boundary = Some(value);
            break;
        }
    }
}

/// Octets of `range` once every bare LF is a CRLF, and its number of lines (LFs).
pub fn crlf_size(msg: &[u8], range: Range<usize>) -> (u64, u64) {
    let slice = &msg[range];
    let mut lines = 0u64;
    let mut missing_cr = 0u64;
    for i in memchr::memchr_iter(b'\n', slice) {
        lines += 1;
        if i == 0 || slice[i - 1] != b'\r' {
            missing_cr += 1;
        }
    }
    (slice.len() as u64 + missing_cr, lines)
}

/// Only the top-level header (SEARCH on header fields needs no MIME tree).
pub fn parse_header_only(msg: &[u8]) -> Part {
    let parser = Parser {
        msg,
        stack: Vec::new(),
        parts: 0,
    };
    let (fields, header_end, _, _) = parser.header(0);
    Part {
        header: 0..header_end,
        body: header_end..msg.len(),
        fields,
        is_mime: false,
        kind: Kind::Leaf,
    }
}
