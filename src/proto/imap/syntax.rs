//! RFC 3501's lexical pieces, shared by the command, sequence-set, SEARCH, FETCH-item and
//! RFC 7162 parsers: a cursor over one command's bytes with tags, atoms, keywords,
//! numbers, quoted strings, inline literals, astrings, mailbox names and flags.
//!
//! Owns: that syntax. Must not touch: I/O.

pub(crate) type R<T> = Result<T, &'static str>;

pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !b"(){ %*\"\\]".contains(&b)
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Parser { buf, pos: 0 }
    }
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub(crate) fn eat(&mut self, s: &[u8]) -> bool {
        if self.buf[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }
    pub(crate) fn eat_ci(&mut self, s: &[u8]) -> bool {
        let end = self.pos + s.len();
        if end <= self.buf.len() && self.buf[self.pos..end].eq_ignore_ascii_case(s) {
            self.pos = end;
            true
        } else {
            false
        }
    }
    pub(crate) fn sp(&mut self) -> R<()> {
        if self.eat(b" ") { Ok(()) } else { Err("expected a space") }
    }

    pub(crate) fn tag(&mut self) -> Option<String> {
        let start = self.pos;
        // RFC 3501 tag: ASTRING-CHARs (atom chars and `]`) except `+`.
        while self.peek().is_some_and(|b| (is_atom_char(b) || b == b']') && b != b'+') {
            self.pos += 1;
        }
        (self.pos > start && self.pos - start <= 64).then(|| String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
    }

    /// An atom (including `]`, which RFC 3501 allows in ASTRING-CHAR).
    pub(crate) fn atom(&mut self) -> R<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(|b| is_atom_char(b) || b == b']') {
            self.pos += 1;
        }
        if self.pos == start {
            return Err("expected an atom");
        }
        std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| "invalid atom")
    }

    /// An atom made of letters, digits, `.` and `-` (command names, fetch item names).
    pub(crate) fn word(&mut self) -> R<String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'=') {
            self.pos += 1;
        }
        if self.pos == start {
            return Err("expected a keyword");
        }
        Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).to_ascii_uppercase())
    }

    pub(crate) fn number(&mut self) -> R<u32> {
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| "number too large")
    }

    pub(crate) fn number64(&mut self) -> R<u64> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start || self.pos - start > 19 {
            return Err("expected a number");
        }
        std::str::from_utf8(&self.buf[start..self.pos]).unwrap().parse().map_err(|_| "number too large")
    }

    /// `{n}` or `{n+}` announcement; returns (n, sync).
    pub(crate) fn literal_head(&mut self) -> R<(u64, bool)> {
        if !self.eat(b"{") {
            return Err("expected a literal");
        }
        let n = self.number64()?;
        let sync = !self.eat(b"+");
        if !self.eat(b"}") {
            return Err("bad literal");
        }
        Ok((n, sync))
    }

    pub(crate) fn quoted(&mut self) -> R<Vec<u8>> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return Err("bad escape in quoted string"),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A string: quoted or literal (inline).
    pub(crate) fn string_bytes(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => {
                let (n, _) = self.literal_head()?;
                if !self.eat(b"\r\n") {
                    return Err("literal must end its line");
                }
                let n = usize::try_from(n).map_err(|_| "literal too large")?;
                let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("literal data missing")?;
                let out = self.buf[self.pos..end].to_vec();
                self.pos = end;
                Ok(out)
            }
            _ => Err("expected a string"),
        }
    }

    pub(crate) fn astring_bytes(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string_bytes(),
            _ => Ok(self.atom()?.as_bytes().to_vec()),
        }
    }

    pub(crate) fn astring(&mut self) -> R<String> {
        String::from_utf8(self.astring_bytes()?).map_err(|_| "invalid UTF-8")
    }

    pub(crate) fn nstring_is_nil(&mut self) -> bool {
        self.eat_ci(b"NIL")
    }

    /// A mailbox name; `INBOX` in any case is INBOX.
    pub(crate) fn mailbox(&mut self) -> R<String> {
        let m = self.astring()?;
        Ok(if m.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { m })
    }

    /// A LIST pattern: astring or list-chars with `%` and `*`.
    pub(crate) fn list_mailbox(&mut self) -> R<String> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.astring(),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|b| is_atom_char(b) || b == b']' || b == b'%' || b == b'*') {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err("expected a mailbox pattern");
                }
                Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
            }
        }
    }

    pub(crate) fn flag_list(&mut self) -> R<Vec<String>> {
        let mut flags = Vec::new();
        if !self.eat(b"(") {
            // STORE also takes flags without parentheses.
            loop {
                flags.push(self.flag()?);
                if !self.eat(b" ") {
                    return Ok(flags);
                }
            }
        }
        if self.eat(b")") {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b")") {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    pub(crate) fn flag(&mut self) -> R<String> {
        let backslash = self.eat(b"\\");
        let a = self.atom()?;
        if a.contains(']') {
            return Err("invalid flag");
        }
        if backslash {
            let known = ["Seen", "Answered", "Flagged", "Deleted", "Draft", "Recent"];
            let canon = known.iter().find(|k| k.eq_ignore_ascii_case(a)).ok_or("unknown system flag")?;
            Ok(format!("\\{canon}"))
        } else {
            Ok(a.to_string())
        }
    }
}
