//! RFC 822/2045/2231 lexical rules as Dovecot's rfc822-parser and rfc2231-parser apply them
//! (atoms, quoted strings, comments, phrases, domains, MIME tokens, content parameters).
//!
//! Owns: tokenizing header values. Must not touch: what the tokens mean (address lists in
//! `address.rs`, Content-* in `data.rs`). Return values follow Dovecot's convention so the
//! callers can be ported rule for rule: `1` more input follows, `0` end of input, `-1` error.

/// Dovecot's rfc822_atext_chars: bit 1 atext, 2 alpha/digit/8-bit, 4 atext but MIME tspecial.
fn atext_class(c: u8) -> u8 {
    match c {
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'^' | b'_' | b'`'
        | b'{' | b'|' | b'}' | b'~' => 1,
        b'/' | b'=' | b'?' => 4,
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | 0x80..=0xff => 2,
        _ => 0,
    }
}

pub fn is_atext(c: u8) -> bool {
    atext_class(c) != 0
}

fn is_atext_non_tspecial(c: u8) -> bool {
    matches!(atext_class(c), 1 | 2)
}

/// A position in a header value; reading past the end yields NUL like Dovecot's
/// NUL-terminated buffers do.
pub struct Cursor<'a> {
    data: &'a [u8],
    pub pos: usize,
    /// The text of the last comment skipped, when the caller wants it (address parsing).
    pub last_comment: Option<Vec<u8>>,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor {
            data,
            pos: 0,
            last_comment: None,
        }
    }

    pub fn with_comments(data: &'a [u8]) -> Self {
        Cursor {
            data,
            pos: 0,
            last_comment: Some(Vec::new()),
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn peek(&self) -> u8 {
        self.data.get(self.pos).copied().unwrap_or(0)
    }

    fn more(&self) -> i32 {
        if self.at_end() { 0 } else { 1 }
    }

    pub fn skip_comment(&mut self) -> i32 {
        if let Some(c) = self.last_comment.as_mut() {
            c.clear();
        }
        self.pos += 1;
        let mut start = self.pos;
        let mut level = 1;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b'(' => level += 1,
                b')' => {
                    level -= 1;
                    if level == 0 {
                        if let Some(c) = self.last_comment.as_mut() {
                            c.extend_from_slice(&self.data[start..self.pos]);
                        }
                        self.pos += 1;
                        return self.more();
                    }
                }
                b'\\' => {
                    if let Some(c) = self.last_comment.as_mut() {
                        c.extend_from_slice(&self.data[start..self.pos]);
                    }
                    start = self.pos + 1;
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        return -1;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    pub fn skip_lwsp(&mut self) -> i32 {
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    if self.skip_comment() < 0 {
                        return -1;
                    }
                }
                _ => break,
            }
        }
        self.more()
    }

    pub fn atom(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() || !is_atext(self.peek()) {
            return -1;
        }
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() && is_atext(self.data[self.pos]) {
            self.pos += 1;
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        if self.at_end() { 0 } else { self.skip_lwsp() }
    }

    pub fn dot_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() || !is_atext(self.peek()) {
            return -1;
        }
        let mut start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            if is_atext(self.data[self.pos]) {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            let ret = self.skip_lwsp();
            if ret <= 0 {
                return ret;
            }
            if self.peek() != b'.' {
                return 1;
            }
            self.pos += 1;
            out.push(b'.');
            let ret = self.skip_lwsp();
            if ret <= 0 {
                return ret;
            }
            start = self.pos;
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        0
    }

    pub fn mime_token(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            if is_atext_non_tspecial(c) || c == b'.' {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            return self.skip_lwsp();
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        0
    }

    pub fn quoted_string(&mut self, out: &mut Vec<u8>) -> i32 {
        self.pos += 1;
        let mut start = self.pos;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b'"' => {
                    out.extend_from_slice(&self.data[start..self.pos]);
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => {
                    let mut end = self.pos;
                    if end > start && self.data[end - 1] == b'\r' {
                        end -= 1;
                    }
                    out.extend_from_slice(&self.data[start..end]);
                    start = self.pos + 1;
                }
                b'\\' => {
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        return -1;
                    }
                    out.extend_from_slice(&self.data[start..self.pos - 1]);
                    start = self.pos;
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    fn atom_or_dot(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            if is_atext(c) || c == b'.' {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            return self.skip_lwsp();
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        0
    }

    pub fn phrase(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() {
            return 0;
        }
        if self.peek() == b'.' {
            return -1;
        }
        loop {
            let ret = if self.peek() == b'"' {
                self.quoted_string(out)
            } else {
                self.atom_or_dot(out)
            };
            if ret <= 0 {
                return ret;
            }
            let c = self.peek();
            if !is_atext(c) && c != b'"' && c != b'.' {
                break;
            }
            out.push(b' ');
        }
        self.skip_lwsp()
    }

    fn domain_literal(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b'\\' => {
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        break;
                    }
                }
                b']' => {
                    self.pos += 1;
                    out.extend_from_slice(&self.data[start..self.pos]);
                    return self.skip_lwsp();
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// At '@': the domain after it.
    pub fn domain(&mut self, out: &mut Vec<u8>) -> i32 {
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return -1;
        }
        if self.peek() == b'[' {
            self.domain_literal(out)
        } else {
            self.dot_atom(out)
        }
    }

    /// `;` key `=` value; `Ok(None)` at the end of input, `Err(())` on broken input.
    fn content_param(&mut self) -> Result<Option<Param>, ()> {
        if self.at_end() {
            return Ok(None);
        }
        if self.peek() != b';' {
            return Err(());
        }
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return Err(());
        }
        let mut key = Vec::new();
        if self.mime_token(&mut key) <= 0 {
            return Err(());
        }
        if self.peek() != b'=' {
            return Err(());
        }
        self.pos += 1;
        let mut value = Vec::new();
        let mut ret = self.skip_lwsp();
        if ret <= 0 {
            // broken / no value
        } else if self.peek() == b'"' {
            ret = self.quoted_string(&mut value);
        } else if self.peek() == b'=' {
            // broken input: name==?utf-8?b?...?=
            while self.pos < self.data.len()
                && !matches!(self.data[self.pos], b';' | b' ' | b'\t' | b'\r' | b'\n')
            {
                value.push(self.data[self.pos]);
                self.pos += 1;
            }
        } else {
            ret = self.mime_token(&mut value);
        }
        if ret < 0 {
            return Err(());
        }
        Ok(Some((key, value)))
    }
}

/// rfc822_parse_content_type: "type/subtype" as far as it parsed, and whether it parsed.
pub fn content_type(cur: &mut Cursor) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    if cur.skip_lwsp() <= 0 {
        return (out, false);
    }
    if cur.mime_token(&mut out) <= 0 {
        return (out, false);
    }
    if cur.peek() != b'/' {
        return (out, false);
    }
    cur.pos += 1;
    if cur.skip_lwsp() <= 0 {
        return (out, false);
    }
    out.push(b'/');
    let ret = cur.mime_token(&mut out);
    (out, ret >= 0)
}

/// A content parameter: name and (unquoted) value.
pub type Param = (Vec<u8>, Vec<u8>);

struct Rfc2231Param {
    key: Vec<u8>,
    value: Vec<u8>,
    idx: u32,
    extended: bool,
}

/// rfc2231_parse: the parameters in order, RFC 2231 continuations merged (`key*` when any
/// piece was extended; charset'language' left encoded, as Dovecot does).
pub fn rfc2231_params(cur: &mut Cursor) -> Vec<Param> {
    let mut result = Vec::new();
    let mut pieces: Vec<Rfc2231Param> = Vec::new();
    // Dovecot reuses one struct: an index survives into a later "key*" without digits.
    let mut idx = 0u32;
    loop {
        let (key, value) = match cur.content_param() {
            Ok(None) => break,
            Ok(Some(kv)) => kv,
            Err(()) => {
                if cur.at_end() {
                    break;
                }
                cur.pos += 1;
                continue;
            }
        };
        match memchr::memchr(b'*', &key) {
            Some(star) => {
                let mut p = star;
                if p + 1 < key.len() {
                    p += 1;
                    idx = 0;
                    while p < key.len() && key[p].is_ascii_digit() {
                        idx = idx.wrapping_mul(10).wrapping_add(u32::from(key[p] - b'0'));
                        p += 1;
                    }
                }
                let extended = p < key.len() && key[p] == b'*';
                if extended {
                    p += 1;
                }
                if p >= key.len() {
                    pieces.push(Rfc2231Param {
                        key: key[..star].to_vec(),
                        value,
                        idx,
                        extended,
                    });
                } else {
                    result.push((key, value));
                }
            }
            None => result.push((key, value)),
        }
    }
    if pieces.is_empty() {
        return result;
    }
    pieces.sort_by(|a, b| a.key.cmp(&b.key).then(a.idx.cmp(&b.idx)));
    let mut i = 0;
    while i < pieces.len() {
        let mut ok = true;
        let mut have_extended = false;
        let mut next_idx = 0u32;
        let mut j = i;
        while j < pieces.len() && pieces[i].key.eq_ignore_ascii_case(&pieces[j].key) {
            if pieces[j].idx != next_idx {
                ok = false;
            }
            have_extended |= pieces[j].extended;
            next_idx = next_idx.wrapping_add(1);
            j += 1;
        }
        if !ok {
            for p in &pieces[i..j] {
                let mut key = p.key.clone();
                key.extend_from_slice(format!("*{}", p.idx).as_bytes());
                if p.extended {
                    key.push(b'*');
                }
                result.push((key, p.value.clone()));
            }
        } else {
            let mut value = Vec::new();
            if !pieces[i].extended && have_extended {
                value.extend_from_slice(b"''");
            }
            for p in &pieces[i..j] {
                if !p.extended && have_extended {
                    for &c in &p.value {
                        if c == b'%' {
                            value.extend_from_slice(b"%25");
                        } else {
                            value.push(c);
                        }
                    }
                } else {
                    value.extend_from_slice(&p.value);
                }
            }
            let mut key = pieces[i].key.clone();
            if have_extended {
                key.push(b'*');
            }
            result.push((key, value));
        }
        i = j;
    }
    result
}
