//! What a part's Content-* fields say, as Dovecot's message-part-data keeps it for
//! BODYSTRUCTURE: the first of each field counts (Content-Disposition: until one had
//! parameters); none of them count when the part is not MIME.
//!
//! Owns: interpreting Content-* values. Must not touch: the wire format.

use super::mime::{Part, field_value};
use super::rfc822::{self, Cursor};

pub type Params = Vec<super::rfc822::Param>;

#[derive(Debug, Default)]
pub struct PartData {
    pub content_type: Option<Vec<u8>>,
    pub subtype: Option<Vec<u8>>,
    pub params: Params,
    pub transfer_encoding: Option<Vec<u8>>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Vec<u8>>,
    pub disposition_params: Params,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
}

impl PartData {
    pub fn of(msg: &[u8], part: &Part) -> PartData {
        let mut data = PartData::default();
        if !part.is_mime {
            return data;
        }
        for field in &part.fields {
            let name = &msg[field.name.clone()];
            if name.len() < 8 || !name[..8].eq_ignore_ascii_case(b"Content-") {
                continue;
            }
            let value = field_value(msg, field);
            data.apply(&name[8..], value);
        }
        data
    }

    fn apply(&mut self, name: &[u8], value: Vec<u8>) {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("ID") && self.id.is_none() {
            self.id = Some(value);
        } else if is("MD5") && self.md5.is_none() {
            self.md5 = Some(value);
        } else if is("Type") && self.content_type.is_none() {
            self.parse_content_type(&value);
        } else if is("Transfer-Encoding") && self.transfer_encoding.is_none() {
            let mut cur = Cursor::new(&value);
            cur.skip_lwsp();
            let mut token = Vec::new();
            if cur.mime_token(&mut token) >= 0 && cur.skip_lwsp() == 0 && !token.is_empty() {
                self.transfer_encoding = Some(token);
            }
        } else if is("Language") && self.language.is_empty() {
            self.parse_language(&value);
        } else if is("Location") && self.location.is_none() {
            self.location = Some(value);
        } else if is("Description") && self.description.is_none() {
            self.description = Some(value);
        } else if is("Disposition") && self.disposition_params.is_empty() {
            let mut cur = Cursor::new(&value);
            cur.skip_lwsp();
            let mut token = Vec::new();
            if cur.mime_token(&mut token) < 0 {
                return;
            }
            self.disposition = Some(token);
            self.disposition_params = rfc822::rfc2231_params(&mut cur);
        }
    }

    /// Dovecot's message_part_data_is_plain_7bit (for the root): such messages get the
    /// canonical text/plain answer once Dovecot has cached that fact.
    pub fn is_plain_7bit(&self) -> bool {
        let text = self
            .content_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(b"text"));
        let plain = self
            .subtype
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(b"plain"));
        let params_ok = match self.params.as_slice() {
            [] => true,
            [(name, value)] => {
                name.eq_ignore_ascii_case(b"charset") && value.eq_ignore_ascii_case(b"us-ascii")
            }
            _ => false,
        };
        let cte_ok = self
            .transfer_encoding
            .as_deref()
            .is_none_or(|e| e.eq_ignore_ascii_case(b"7bit"));
        text && plain
            && params_ok
            && cte_ok
            && self.id.is_none()
            && self.description.is_none()
            && self.md5.is_none()
            && self.disposition.is_none()
            && self.language.is_empty()
            && self.location.is_none()
    }

    fn parse_content_type(&mut self, value: &[u8]) {
        let mut cur = Cursor::new(value);
        cur.skip_lwsp();
        let (ctype, ok) = rfc822::content_type(&mut cur);
        match memchr::memchr(b'/', &ctype) {
            Some(slash) => {
                self.subtype = Some(ctype[slash + 1..].to_vec());
                self.content_type = Some(ctype[..slash].to_vec());
            }
            None => {
                self.subtype = Some(Vec::new());
                self.content_type = Some(ctype);
            }
        }
        if ok {
            self.params = rfc822::rfc2231_params(&mut cur);
        }
    }

    fn parse_language(&mut self, value: &[u8]) {
        let mut cur = Cursor::new(value);
        cur.skip_lwsp();
        loop {
            let mut atom = Vec::new();
            if cur.atom(&mut atom) < 0 {
                break;
            }
            self.language.push(atom);
            if cur.at_end() || cur.peek() != b',' {
                break;
            }
            cur.pos += 1;
            cur.skip_lwsp();
        }
    }
}
