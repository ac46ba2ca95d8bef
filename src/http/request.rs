//! The JSON body of `POST /v1/send` (and `/send`) and its validation into a [`Mail`].
//!
//! Accepts the shapes the Node relays in front of Postfix accept: `to`/`cc`/`bcc`/`replyTo`
//! as one string (`"a@x, B <b@y>"`), one object (`{email, name}`) or a list of either;
//! `from` as `"addr"`, `"Name <addr>"` or `{email, name}`; `headers` as an object or a
//! list of `{name, value}`; attachments with base64 `content`.
//! Everything that ends up in a header is checked for CR/LF here (header injection).
use super::error::ApiError;
use crate::proto::smtp::address::Address;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    pub from: Option<Party>,
    pub to: Option<OneOrMany<Party>>,
    pub cc: Option<OneOrMany<Party>>,
    pub bcc: Option<OneOrMany<Party>>,
    #[serde(alias = "reply_to")]
    pub reply_to: Option<OneOrMany<Party>>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub headers: Option<Headers>,
    pub attachments: Option<Vec<AttachmentIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Party {
    Text(String),
    Object {
        #[serde(alias = "address")]
        email: String,
        name: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Headers {
    Map(BTreeMap<String, String>),
    List(Vec<HeaderPair>),
}

#[derive(Debug, Deserialize)]
pub struct HeaderPair {
    #[serde(alias = "key")]
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentIn {
    pub filename: Option<String>,
    #[serde(alias = "content_type", alias = "type")]
    pub content_type: Option<String>,
    pub content: String,
    /// "base64" (default) or "utf-8" for text given as is.
    pub encoding: Option<String>,
    /// Content-ID for an inline part referenced from the HTML as `cid:...`.
    pub cid: Option<String>,
}

/// A display name and a parsed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Address,
}

impl Mailbox {
    /// The address as written in headers and the envelope: domain in A-labels.
    pub fn addr(&self) -> String {
        Address { local: self.address.local.clone(), domain: self.address.domain_ascii() }.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content: Vec<u8>,
    pub cid: Option<String>,
}

/// A validated send request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Extra headers, names checked, in request order (a map comes sorted by name).
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

impl Mail {
    /// Envelope recipients: to, cc and bcc, each address once.
    pub fn recipients(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            let a = m.addr();
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&a)) {
                out.push(a);
            }
        }
        out
    }

    /// True when an address needs SMTPUTF8 (a non-ASCII local part).
    pub fn needs_smtputf8(&self) -> bool {
        let all = [&self.to, &self.cc, &self.bcc, &self.reply_to];
        !self.from.address.local.is_ascii() || all.iter().flat_map(|l| l.iter()).any(|m| !m.address.local.is_ascii())
    }
}

/// Headers the builder writes itself; callers may not set them through `headers`.
const RESERVED: &[&str] = &[
    "from", "to", "cc", "bcc", "reply-to", "subject", "date", "sender", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition", "received", "return-path", "dkim-signature",
];

/// Refuses CR or LF (header injection) and other control characters except TAB.
pub fn header_text(field: &str, s: &str) -> Result<(), ApiError> {
    if s.contains(['\r', '\n']) {
        return Err(ApiError::HeaderInjection(field.into()));
    }
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ApiError::bad_request(format!("{field} contains a control character")));
    }
    Ok(())
}

/// RFC 5322 field name: printable ASCII except colon.
fn header_name(name: &str) -> Result<(), ApiError> {
    if name.contains(['\r', '\n']) {
        return Err(ApiError::HeaderInjection(format!("header name {name:?}")));
    }
    if name.is_empty() || name.len() > 76 || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(ApiError::bad_request(format!("{name:?} is not a valid header name")));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(ApiError::bad_request(format!("header {name} is set from the request fields, not from headers")));
    }
    Ok(())
}

/// Splits `"a@x, \"Doe, J\" <b@y>"` at commas outside quotes and angle brackets.
fn split_list(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut angle) = (Vec::new(), 0, false, false);
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// `Name <addr>`, `"Name" <addr>`, `<addr>` or `addr`.
fn parse_mailbox(field: &str, s: &str) -> Result<Mailbox, ApiError> {
    let s = s.trim();
    let (name, addr) = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => (Some(s[..i].trim()), &s[i + 1..s.len() - 1]),
        _ => (None, s),
    };
    let name = name.filter(|n| !n.is_empty()).map(unquote);
    mailbox(field, name, addr)
}

fn unquote(n: &str) -> String {
    match n.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => n.to_string(),
    }
}

fn mailbox(field: &str, name: Option<String>, addr: &str) -> Result<Mailbox, ApiError> {
    header_text(field, addr)?;
    if let Some(n) = &name {
        header_text(&format!("{field} name"), n)?;
    }
    let address = Address::parse(addr.trim(), true).map_err(|e| ApiError::BadAddress {
        field: field.into(),
        address: addr.into(),
        reason: e.to_string(),
    })?;
    Ok(Mailbox { name, address })
}

fn parties(field: &str, p: Option<OneOrMany<Party>>) -> Result<Vec<Mailbox>, ApiError> {
    let mut out = Vec::new();
    for party in p.map(OneOrMany::into_vec).unwrap_or_default() {
        match party {
            Party::Text(s) => {
                header_text(field, &s)?;
                for one in split_list(&s) {
                    out.push(parse_mailbox(field, one)?);
                }
            }
            Party::Object { email, name } => out.push(mailbox(field, name.filter(|n| !n.is_empty()), &email)?),
        }
    }
    Ok(out)
}

/// Longest attachment filename, content ID or content type (file systems allow 255).
const MAX_PARAMETER: usize = 255;

fn attachment(i: usize, a: AttachmentIn) -> Result<Attachment, ApiError> {
    let field = |f: &str| format!("attachments[{i}].{f}");
    // These go into MIME parameters unfolded: keep them well under the 998-octet line limit.
    for (name, value) in [("filename", &a.filename), ("cid", &a.cid), ("contentType", &a.content_type)] {
        if let Some(v) = value {
            header_text(&field(name), v)?;
            if v.len() > MAX_PARAMETER {
                return Err(ApiError::bad_request(format!("{} is longer than {MAX_PARAMETER} bytes", field(name))));
            }
        }
    }
    let content_type = a.content_type.unwrap_or_else(|| "application/octet-stream".into());
    header_text(&field("contentType"), &content_type)?;
    let token = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    if !matches!(content_type.split_once('/'), Some((t, s)) if token(t) && token(s)) {
        return Err(ApiError::bad_request(format!("{}: {content_type:?} is not type/subtype", field("contentType"))));
    }
    let content = match a.encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("base64") => {
            let compact: String = a.content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| ApiError::bad_request(format!("{} is not valid base64: {e}", field("content"))))?
        }
        Some("utf-8" | "utf8" | "text") => a.content.into_bytes(),
        Some(other) => return Err(ApiError::bad_request(format!("{}: unknown encoding {other:?}", field("encoding")))),
    };
    Ok(Attachment { filename: a.filename, content_type: content_type.to_ascii_lowercase(), content, cid: a.cid })
}

fn headers(h: Option<Headers>) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = match h {
        None => Vec::new(),
        Some(Headers::Map(m)) => m.into_iter().collect(),
        Some(Headers::List(l)) => l.into_iter().map(|p| (p.name, p.value)).collect(),
    };
    for (name, value) in &pairs {
        header_name(name)?;
        header_text(&format!("header {name}"), value)?;
    }
    Ok(pairs)
}

impl SendRequest {
    /// Validates everything; `max_rcpts` is `limits.recipients`.
    pub fn validate(self, max_rcpts: usize) -> Result<Mail, ApiError> {
        // One mailbox, not a list: "Doe, John <j@x>" is a name with a comma.
        let from = match self.from {
            None => return Err(ApiError::bad_request("from is required")),
            Some(Party::Text(s)) => {
                header_text("from", &s)?;
                parse_mailbox("from", &s)?
            }
            Some(Party::Object { email, name }) => mailbox("from", name.filter(|n| !n.is_empty()), &email)?,
        };
        let subject = self.subject.unwrap_or_default();
        header_text("subject", &subject)?;
        let mail = Mail {
            from,
            to: parties("to", self.to)?,
            cc: parties("cc", self.cc)?,
            bcc: parties("bcc", self.bcc)?,
            reply_to: parties("replyTo", self.reply_to)?,
            subject,
            text: self.text,
            html: self.html,
            headers: headers(self.headers)?,
            attachments: self.attachments.unwrap_or_default().into_iter().enumerate().map(|(i, a)| attachment(i, a)).collect::<Result<_, _>>()?,
        };
        let n = mail.recipients().len();
        if n == 0 {
            return Err(ApiError::bad_request("at least one recipient (to, cc or bcc) is required"));
        }
        if n > max_rcpts {
            return Err(ApiError::bad_request(format!("{n} recipients; at most {max_rcpts} per message")));
        }
        if mail.text.is_none() && mail.html.is_none() && mail.attachments.is_empty() {
            return Err(ApiError::bad_request("the message is empty: give text, html or attachments"));
        }
        Ok(mail)
    }
}

/// Parses the JSON body, naming the field that is wrong.
pub fn parse(body: &[u8]) -> Result<SendRequest, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::bad_request(format!("invalid JSON: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid JSON at {path}: {inner}"))
        }
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
