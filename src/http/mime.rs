//! Turns a validated [`Mail`] into an RFC 5322 / MIME message with mail-builder:
//! text + html as multipart/alternative, attachments in multipart/mixed, RFC 2047 encoded
//! words for non-ASCII header text, RFC 2231 file names, Date and Message-ID.
//!
//! Bcc recipients are envelope-only: no Bcc header is written.
use super::request::{Mail, Mailbox};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;

fn address(m: &Mailbox) -> Address<'static> {
    Address::new_address(m.name.clone(), m.addr())
}

fn list(l: &[Mailbox]) -> Address<'static> {
    Address::new_list(l.iter().map(address).collect())
}

/// A fresh Message-ID `<random.time@hostname>`.
pub fn message_id(hostname: &str) -> String {
    format!("{:032x}.{}@{hostname}", rand::random::<u128>(), crate::proto::rfc5322::unix_now())
}

/// Builds the message; a caller-supplied `Message-ID` header replaces the generated one.
/// CRLF, lone CR and lone LF all become LF, which the builder writes as CRLF: a bare CR
/// must never reach the queue (receivers may read it as a line end, RFC 5321 §2.3.8).
fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

pub fn build(mail: Mail, hostname: &str) -> Vec<u8> {
    let mut b = MessageBuilder::new().from(address(&mail.from)).date(crate::proto::rfc5322::unix_now());
    if !mail.to.is_empty() {
        b = b.to(list(&mail.to));
    }
    if !mail.cc.is_empty() {
        b = b.cc(list(&mail.cc));
    }
    if !mail.reply_to.is_empty() {
        b = b.reply_to(list(&mail.reply_to));
    }
    b = b.subject(mail.subject);
    let mut own_id = None;
    for (name, value) in mail.headers {
        if name.eq_ignore_ascii_case("message-id") {
            // Only a well-formed msg-id (RFC 5322 §3.6.4) is kept; anything else gets ours.
            let id = value.trim().trim_start_matches('<').trim_end_matches('>');
            let valid = id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
                && id.split_once('@').is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'));
            own_id = valid.then(|| id.to_string());
        } else {
            b = b.header(name, Text::new(value));
        }
    }
    b = b.message_id(MessageId::new(own_id.unwrap_or_else(|| message_id(hostname))));
    if let Some(t) = mail.text {
        b = b.text_body(normalize_newlines(&t));
    }
    if let Some(h) = mail.html {
        b = b.html_body(normalize_newlines(&h));
    }
    if !mail.attachments.is_empty() {
        let parts = mail.attachments.into_iter().map(|a| {
            let part = MimePart::new(a.content_type, a.content);
            match (a.cid, a.filename) {
                (Some(cid), _) => part.inline().cid(cid),
                (None, Some(name)) => part.attachment(name),
                (None, None) => part.attachment("attachment"),
            }
        });
        b.attachments = Some(parts.collect());
    }
    b.write_to_vec().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse;
    use mail_parser::{MessageParser, MimeHeaders};

    fn built(json: &str) -> Vec<u8> {
        build(parse(json.as_bytes()).unwrap().validate(10).unwrap(), "mx.test")
    }

    #[test]
    fn alternative_with_attachment_round_trips() {
        let raw = built(r#"{"from":{"email":"a@example.com","name":"Zoë Ångström"},"to":["b@example.net"],
            "bcc":"hidden@example.net","subject":"Grüße ✓","text":"plain ü","html":"<p>html ü</p>",
            "headers":{"X-Campaign":"42"},"attachments":[{"filename":"résumé.pdf","contentType":"application/pdf","content":"JVBERi0xLjQK/w=="}]}"#);
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("hidden@example.net"), "Bcc leaked:\n{text}");
        assert!(text.lines().all(|l| l.len() <= 998), "line too long");
        assert!(raw.windows(2).filter(|w| w[1] == b'\n').all(|w| w[0] == b'\r'), "bare LF");
        assert!(raw.is_ascii(), "8-bit header or body");
        let m = MessageParser::new().parse(&raw).unwrap();
        assert_eq!(m.subject(), Some("Grüße ✓"));
        assert_eq!(m.from().unwrap().first().unwrap().name(), Some("Zoë Ångström"));
        assert_eq!(m.body_text(0).as_deref(), Some("plain ü"));
        assert_eq!(m.body_html(0).as_deref(), Some("<p>html ü</p>"));
        assert!(m.message_id().unwrap().ends_with("@mx.test"));
        assert!(m.date().is_some());
        assert_eq!(m.header_raw("X-Campaign").map(str::trim), Some("42"));
        let att = m.attachment(0).unwrap();
        assert_eq!(att.attachment_name(), Some("résumé.pdf"));
        assert_eq!(att.contents(), b"%PDF-1.4\n\xff");
        assert!(text.contains("multipart/mixed") && text.contains("multipart/alternative"));
    }

    #[test]
    fn caller_message_id_is_kept() {
        let raw = built(r#"{"from":"a@example.com","to":"b@example.net","text":"x","headers":{"Message-ID":"<abc@app.test>"}}"#);
        let m = MessageParser::new().parse(&raw).unwrap();
        assert_eq!(m.message_id(), Some("abc@app.test"));
        assert_eq!(String::from_utf8_lossy(&raw).matches("Message-ID").count(), 1);
    }
}
