//! FETCH and UID FETCH: flags, dates and sizes from the session's view; ENVELOPE,
//! BODYSTRUCTURE and sections from the message file, mapped read-only. `BODY[]` is
//! streamed from the mapping (CRLF added on the fly for LF-only files, as Dovecot
//! delivers them), never copied whole into the heap.
use super::{no, ok};
use crate::mailstore::{self, Message};
use crate::proto::imap::command::FetchItem;
use crate::proto::imap::condstore::FetchModifiers;
use crate::proto::imap::message::{self, Section, SectionText};
use crate::proto::imap::sequence::SequenceSet;
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::{blocking, flags_of};
use crate::server::imap::session::{Flow, Session};
use std::time::UNIX_EPOCH;

/// A message file mapped read-only.
pub enum Mapped {
    Empty,
    Map(memmap2::Mmap),
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Mapped::Empty => &[],
            Mapped::Map(m) => m,
        }
    }
}

/// Opens and maps a message file.
pub fn map(folder: &mailstore::Folder, msg: &Message) -> mailstore::Result<Mapped> {
    let file = folder.open(msg)?;
    if file.metadata()?.len() == 0 {
        return Ok(Mapped::Empty);
    }
    // SAFETY: Maildir message files are written once (tmp/, fsync, rename) and never
    // modified afterwards; flag changes rename them and expunges unlink them, both of
    // which leave an existing mapping valid.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Mapped::Map(map))
}

pub fn secs(t: std::time::SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn needs_content(i: &FetchItem) -> bool {
    !matches!(i, FetchItem::Flags | FetchItem::InternalDate | FetchItem::Rfc822Size | FetchItem::Uid | FetchItem::ModSeq)
}

fn sets_seen(i: &FetchItem) -> bool {
    matches!(i, FetchItem::Section { peek: false, .. } | FetchItem::Rfc822 | FetchItem::Rfc822Text)
}

/// `modifiers`: CONDSTORE's CHANGEDSINCE (RFC 7162 §3.1.4.1), only messages whose
/// MODSEQ is higher (the parser added MODSEQ to the items); QRESYNC's VANISHED.
pub async fn fetch(s: &mut Session, conn: &mut Conn, tag: &str, uid: bool, set: &SequenceSet, items: &[FetchItem], modifiers: FetchModifiers) -> Result<Flow, ConnError> {
    let condstore = s.condstore;
    let sel = s.selected.as_mut().expect("state checked");
    // RFC 7162 §3.2.6: the set's UIDs that are gone, before the FETCH responses.
    if modifiers.vanished {
        let gone = sel.vanished(Some(set));
        if !gone.is_empty() {
            conn.line(format!("* VANISHED (EARLIER) {gone}"));
        }
    }
    let mut idxs = sel.resolve(set, uid);
    if let Some(n) = modifiers.changed_since {
        idxs.retain(|&i| sel.messages()[i].modseq > n);
    }
    let seen = !sel.read_only && items.iter().any(sets_seen);
    let content = items.iter().any(needs_content);
    let mut items = items.to_vec();
    if seen && !items.contains(&FetchItem::Flags) {
        items.push(FetchItem::Flags);
        // The flags change this FETCH makes is reported with its MODSEQ.
        if condstore && !items.contains(&FetchItem::ModSeq) {
            items.push(FetchItem::ModSeq);
        }
    }
    let mut expunged = false;
    for i in idxs {
        if seen && !sel.messages()[i].flags.seen {
            let (folder, msg) = (sel.folder.clone(), sel.messages()[i].clone());
            if let Ok(Ok(m)) = blocking(move || folder.change_flags(&msg, &|f| f.seen = true, None)).await {
                sel.highest_modseq = sel.highest_modseq.max(m.modseq);
                let mine = &mut sel.messages_mut()[i];
                *mine = Message { recent: mine.recent, ..m };
            }
        }
        let msg = &sel.messages()[i];
        let data = if content {
            match map(&sel.folder, msg) {
                Ok(d) => Some(d),
                Err(mailstore::Error::Expunged) => {
                    expunged = true;
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, uid = msg.uid, "imap: cannot read a message");
                    expunged = true;
                    continue;
                }
            }
        } else {
            None
        };
        write_one(conn, i as u32 + 1, msg, &items, data.as_deref()).await?;
    }
    Ok(if expunged {
        no(conn, tag, "[EXPUNGEISSUED] Some messages were expunged and could not be fetched")
    } else {
        ok(conn, tag, "FETCH completed")
    })
}

async fn write_one(conn: &mut Conn, seq: u32, msg: &Message, items: &[FetchItem], data: Option<&[u8]>) -> Result<(), ConnError> {
    let mut out = format!("* {seq} FETCH (").into_bytes();
    let data = data.unwrap_or(&[]);
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        match item {
            FetchItem::Flags => out.extend(format!("FLAGS {}", flags_of(msg)).bytes()),
            FetchItem::Uid => out.extend(format!("UID {}", msg.uid).bytes()),
            FetchItem::ModSeq => out.extend(format!("MODSEQ ({})", msg.modseq).bytes()),
            FetchItem::Rfc822Size => out.extend(format!("RFC822.SIZE {}", msg.vsize).bytes()),
            FetchItem::InternalDate => out.extend(
                format!("INTERNALDATE {}", crate::proto::imap::date::format_date_time(secs(msg.internal_date))).bytes(),
            ),
            FetchItem::Envelope => out.extend(format!("ENVELOPE {}", message::envelope(data)).bytes()),
            FetchItem::BodyStructure => out.extend(format!("BODYSTRUCTURE {}", message::body_structure(data, true)).bytes()),
            FetchItem::Body => out.extend(format!("BODY {}", message::body_structure(data, false)).bytes()),
            FetchItem::Rfc822 => {
                out.extend(b"RFC822 ");
                conn.write(&out).await?;
                out.clear();
                write_crlf_literal(conn, data).await?;
            }
            FetchItem::Rfc822Header => {
                out.extend(b"RFC822.HEADER ");
                literal(&mut out, &message::section(data, &Section { part: vec![], text: Some(SectionText::Header) }));
            }
            FetchItem::Rfc822Text => {
                out.extend(b"RFC822.TEXT ");
                literal(&mut out, &message::section(data, &Section { part: vec![], text: Some(SectionText::Text) }));
            }
            FetchItem::Section { section, partial, .. } => {
                out.extend(b"BODY[");
                out.extend(section_name(section).bytes());
                out.push(b']');
                if let Some((o, _)) = partial {
                    out.extend(format!("<{o}>").bytes());
                }
                out.push(b' ');
                let whole = section.part.is_empty() && section.text.is_none();
                match (whole, partial) {
                    (true, None) => {
                        conn.write(&out).await?;
                        out.clear();
                        write_crlf_literal(conn, data).await?;
                    }
                    (true, Some((o, n))) => literal(&mut out, slice(&message::to_crlf(data), *o, *n)),
                    (false, None) => literal(&mut out, &message::section(data, section)),
                    (false, Some((o, n))) => literal(&mut out, slice(&message::section(data, section), *o, *n)),
                }
            }
        }
    }
    out.push(b')');
    conn.write(&out).await?;
    conn.write(b"\r\n").await
}

fn slice(b: &[u8], o: u32, n: u32) -> &[u8] {
    let start = (o as usize).min(b.len());
    let end = start.saturating_add(n as usize).min(b.len());
    &b[start..end]
}

fn literal(out: &mut Vec<u8>, b: &[u8]) {
    out.extend(format!("{{{}}}\r\n", b.len()).bytes());
    out.extend_from_slice(b);
}

/// The section spec as echoed in the response (`1.HEADER.FIELDS ("From" "To")`).
fn section_name(s: &Section) -> String {
    let mut parts: Vec<String> = s.part.iter().map(u32::to_string).collect();
    if let Some(t) = &s.text {
        parts.push(match t {
            SectionText::Header => "HEADER".into(),
            SectionText::Text => "TEXT".into(),
            SectionText::Mime => "MIME".into(),
            SectionText::HeaderFields(f) => format!("HEADER.FIELDS ({})", fields(f)),
            SectionText::HeaderFieldsNot(f) => format!("HEADER.FIELDS.NOT ({})", fields(f)),
        });
    }
    parts.join(".")
}

fn fields(f: &[String]) -> String {
    f.iter().map(|n| String::from_utf8_lossy(&crate::proto::imap::response::string(n.as_bytes())).into_owned()).collect::<Vec<_>>().join(" ")
}

/// Length of `data` with every bare LF counted as CRLF.
pub fn crlf_len(data: &[u8]) -> usize {
    let mut extra = 0;
    for i in memchr::memchr_iter(b'\n', data) {
        if i == 0 || data[i - 1] != b'\r' {
            extra += 1;
        }
    }
    data.len() + extra
}

/// Writes `data` as a literal with CRLF line ends, in pieces straight from the mapping.
async fn write_crlf_literal(conn: &mut Conn, data: &[u8]) -> Result<(), ConnError> {
    conn.write(format!("{{{}}}\r\n", crlf_len(data)).as_bytes()).await?;
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', data) {
        if i > 0 && data[i - 1] == b'\r' {
            continue;
        }
        conn.write(&data[start..i]).await?;
        conn.write(b"\r\n").await?;
        start = i + 1;
    }
    conn.write(&data[start..]).await
}
