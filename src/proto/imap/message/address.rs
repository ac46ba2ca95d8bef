//! Address lists (From/To/Cc/...) parsed the way Dovecot's message-address does for
//! ENVELOPE (`MESSAGE_ADDRESS_PARSE_FLAG_FILL_MISSING`): groups become a start entry
//! (mailbox = group name, no domain) and an end entry (all NIL); broken addresses get
//! `MISSING_MAILBOX` / `MISSING_DOMAIN` / `SYNTAX_ERROR` / `INVALID_ROUTE` placeholders.
//!
//! Owns: address syntax. Must not touch: wire quoting (`quote.rs`).

use super::rfc822::Cursor;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub route: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub domain: Option<Vec<u8>>,
    invalid_syntax: bool,
}

struct Ctx<'a> {
    cur: Cursor<'a>,
    addr: Address,
    out: Vec<Address>,
    str: Vec<u8>,
}

/// At most this many addresses per header (Dovecot passes UINT_MAX; a bound keeps a
/// hostile header from costing more than its own size in entries anyway).
const MAX_ADDRESSES: usize = 10_000;

pub fn parse_list(value: &[u8]) -> Vec<Address> {
    let mut ctx = Ctx {
        cur: Cursor::with_comments(value),
        addr: Address::default(),
        out: Vec::new(),
        str: Vec::new(),
    };
    if ctx.cur.skip_lwsp() > 0 {
        ctx.address_list();
    }
    ctx.out
}

impl Ctx<'_> {
    fn add_address(&mut self) {
        self.out.push(std::mem::take(&mut self.addr));
    }

    fn local_part(&mut self) -> i32 {
        self.str.clear();
        let mut s = Vec::new();
        let ret = if self.cur.peek() == b'"' {
            self.cur.quoted_string(&mut s)
        } else {
            self.cur.dot_atom(&mut s)
        };
        self.str = s.clone();
        if ret < 0 {
            return -1;
        }
        self.addr.mailbox = Some(s);
        ret
    }

    fn domain(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = self.cur.domain(&mut s);
        if ret < 0 {
            return -1;
        }
        self.addr.domain = Some(s);
        ret
    }

    fn domain_list(&mut self) -> i32 {
        let mut s: Vec<u8> = Vec::new();
        loop {
            if self.cur.at_end() {
                return 0;
            }
            if self.cur.peek() != b'@' {
                break;
            }
            if !s.is_empty() {
                s.push(b',');
            }
            s.push(b'@');
            let ret = self.cur.domain(&mut s);
            if ret <= 0 {
                return ret;
            }
            while self.cur.skip_lwsp() > 0 && self.cur.peek() == b',' {
                self.cur.pos += 1;
            }
        }
        self.addr.route = Some(s);
        1
    }

    fn angle_addr(&mut self) -> i32 {
        self.cur.pos += 1;
        if self.cur.skip_lwsp() <= 0 {
            return -1;
        }
        if self.cur.peek() == b'@' {
            if self.domain_list() > 0 && self.cur.peek() == b':' {
                self.cur.pos += 1;
            } else {
                self.addr.route = Some(b"INVALID_ROUTE".to_vec());
                if self.cur.at_end() {
                    return -1;
                }
            }
            if self.cur.skip_lwsp() <= 0 {
                return -1;
            }
        }
        if self.cur.peek() != b'>' {
            if self.local_part() <= 0 {
                return -1;
            }
            if self.cur.peek() == b'@' && self.domain() <= 0 {
                return -1;
            }
        }
        if self.cur.peek() != b'>' {
            return -1;
        }
        self.cur.pos += 1;
        self.cur.skip_lwsp()
    }

    fn name_addr(&mut self) -> i32 {
        let mut s = Vec::new();
        if self.cur.phrase(&mut s) <= 0 || self.cur.peek() != b'<' {
            return -1;
        }
        self.addr.name = if s.is_empty() { None } else { Some(s) };
        if self.angle_addr() < 0 {
            self.addr.domain = Some(b"SYNTAX_ERROR".to_vec());
            self.addr.invalid_syntax = true;
        }
        if self.cur.at_end() { 0 } else { 1 }
    }

    fn addr_spec(&mut self) -> i32 {
        let mut ret2 = -2;
        if let Some(c) = self.cur.last_comment.as_mut() {
            c.clear();
        }
        let quoted_string = self.cur.peek() == b'"';
        let mut ret = self.local_part();
        if ret <= 0 {
            self.addr.invalid_syntax = true;
        }
        if ret != 0 && !self.cur.at_end() && self.cur.peek() == b'@' {
            ret2 = self.domain();
            if ret2 <= 0 {
                ret = ret2;
            }
        }
        let comment = self.cur.last_comment.clone().unwrap_or_default();
        if !comment.is_empty() {
            self.addr.name = Some(comment);
        } else if ret2 == -2 {
            // "user" alone is a mailbox; "user more words" is a display name.
            let mut s = std::mem::take(&mut self.str);
            s.push(b' ');
            let orig = s.len();
            let _ = self.cur.phrase(&mut s);
            if s.len() != orig {
                self.addr.mailbox = None;
                self.addr.name = Some(s);
            } else if !quoted_string {
                self.addr.domain = Some(Vec::new());
            }
            self.addr.invalid_syntax = true;
            ret = -1;
        }
        ret
    }

    fn add_fixed_address(&mut self) {
        if self.addr.mailbox.is_none() {
            self.addr.mailbox = Some(b"MISSING_MAILBOX".to_vec());
            self.addr.invalid_syntax = true;
        }
        if self.addr.domain.as_ref().is_none_or(|d| d.is_empty()) {
            self.addr.domain = Some(b"MISSING_DOMAIN".to_vec());
            self.addr.invalid_syntax = true;
        }
        self.add_address();
    }

    fn mailbox(&mut self) -> i32 {
        let start = self.cur.pos;
        let mut ret = self.name_addr();
        if ret < 0 {
            self.cur.pos = start;
            ret = self.addr_spec();
            if self.addr.invalid_syntax
                && self.addr.name.is_none()
                && self.addr.mailbox.is_some()
                && self.addr.domain.is_none()
            {
                self.addr.name = self.addr.mailbox.take();
            }
        }
        if ret < 0 {
            self.addr.invalid_syntax = true;
        }
        self.add_fixed_address();
        ret
    }

    fn group(&mut self) -> i32 {
        let mut s = Vec::new();
        if self.cur.phrase(&mut s) <= 0 || self.cur.peek() != b':' {
            return -1;
        }
        self.cur.pos += 1;
        let mut ret = self.cur.skip_lwsp();
        if ret <= 0 {
            self.addr.invalid_syntax = true;
        }
        self.addr.mailbox = Some(s);
        self.add_address();
        if ret > 0 && self.cur.peek() != b';' {
            loop {
                let _ = self.mailbox();
                if self.out.len() >= MAX_ADDRESSES || self.cur.at_end() || self.cur.peek() != b',' {
                    break;
                }
                self.cur.pos += 1;
                if self.cur.skip_lwsp() <= 0 {
                    ret = -1;
                    break;
                }
            }
        }
        if ret >= 0 {
            if self.cur.at_end() || self.cur.peek() != b';' {
                ret = -1;
            } else {
                self.cur.pos += 1;
                ret = self.cur.skip_lwsp();
            }
        }
        if ret < 0 {
            self.addr.invalid_syntax = true;
        }
        self.add_address();
        if ret == 0 { 0 } else { 1 }
    }

    fn address(&mut self) -> i32 {
        let start = self.cur.pos;
        let mut ret = self.group();
        if ret < 0 {
            self.cur.pos = start;
            ret = self.mailbox();
        }
        ret
    }

    fn address_list(&mut self) {
        while self.out.len() < MAX_ADDRESSES {
            if self.address() == 0 {
                break;
            }
            if self.cur.at_end() || self.cur.peek() != b',' {
                break;
            }
            self.cur.pos += 1;
            let ret = self.cur.skip_lwsp();
            if ret <= 0 {
                if ret < 0 {
                    self.add_fixed_address();
                }
                break;
            }
        }
    }
}
