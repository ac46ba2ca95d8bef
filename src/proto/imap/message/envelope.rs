//! ENVELOPE (RFC 3501 §7.4.2) of a message or of a message/rfc822 part, written as Dovecot
//! 2.3 writes it: the last of each header counts, Sender and Reply-To default to From,
//! Subject and display names "for humans", Date/In-Reply-To/Message-ID raw (unfolded).
//! No RFC 2047 decoding: clients get the encoded words as they are in the header.
//!
//! Owns: the ten envelope fields. Must not touch: address syntax (`address.rs`).

use super::address::{self, Address};
use super::mime::{Part, field_value};
use super::quote;

#[derive(Default)]
struct Envelope {
    date: Option<Vec<u8>>,
    subject: Option<Vec<u8>>,
    from: Vec<Address>,
    sender: Vec<Address>,
    reply_to: Vec<Address>,
    to: Vec<Address>,
    cc: Vec<Address>,
    bcc: Vec<Address>,
    in_reply_to: Option<Vec<u8>>,
    message_id: Option<Vec<u8>>,
}

/// The envelope fields, space separated, without the surrounding parentheses.
pub fn write(out: &mut String, msg: &[u8], part: &Part) {
    let env = collect(msg, part);
    quote::nstring_nolf(out, env.date.as_deref());
    out.push(' ');
    match &env.subject {
        Some(s) => quote::for_humans(out, s),
        None => out.push_str("NIL"),
    }
    let sender = if env.sender.is_empty() {
        &env.from
    } else {
        &env.sender
    };
    let reply_to = if env.reply_to.is_empty() {
        &env.from
    } else {
        &env.reply_to
    };
    for list in [&env.from, sender, reply_to, &env.to, &env.cc, &env.bcc] {
        out.push(' ');
        write_addresses(out, list);
    }
    out.push(' ');
    quote::nstring_nolf(out, env.in_reply_to.as_deref());
    out.push(' ');
    quote::nstring_nolf(out, env.message_id.as_deref());
}

fn collect(msg: &[u8], part: &Part) -> Envelope {
    let mut env = Envelope::default();
    for field in &part.fields {
        let name = &msg[field.name.clone()];
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        let value = || field_value(msg, field);
        if is("Date") {
            env.date = Some(value());
        } else if is("Subject") {
            env.subject = Some(value());
        } else if is("Message-ID") {
            env.message_id = Some(value());
        } else if is("In-Reply-To") {
            env.in_reply_to = Some(value());
        } else if is("From") {
            env.from = address::parse_list(&value());
        } else if is("Sender") {
            env.sender = address::parse_list(&value());
        } else if is("Reply-To") {
            env.reply_to = address::parse_list(&value());
        } else if is("To") {
            env.to = address::parse_list(&value());
        } else if is("Cc") {
            env.cc = address::parse_list(&value());
        } else if is("Bcc") {
            env.bcc = address::parse_list(&value());
        }
    }
    env
}

fn write_addresses(out: &mut String, list: &[Address]) {
    if list.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for addr in list {
        out.push('(');
        match &addr.name {
            Some(name) => quote::for_humans(out, name),
            None => out.push_str("NIL"),
        }
        out.push(' ');
        quote::nstring(out, addr.route.as_deref());
        out.push(' ');
        quote::nstring(out, addr.mailbox.as_deref());
        out.push(' ');
        quote::nstring(out, addr.domain.as_deref());
        out.push(')');
    }
    out.push(')');
}
