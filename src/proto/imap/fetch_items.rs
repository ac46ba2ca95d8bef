//! FETCH item syntax (RFC 3501 §6.4.5): item names, macros, `BODY[section]<partial>`.
//!
//! Owns: the parsing of fetch items into `command::FetchItem`. Must not touch: I/O.
use super::command::{FetchItem, Parser, R};
use super::message::{Section, SectionText};

impl Parser<'_> {
    pub(crate) fn fetch_item(&mut self, items: &mut Vec<FetchItem>) -> R<()> {
        use FetchItem as F;
        let word = self.word()?;
        match word.as_str() {
            "ALL" => items.extend([F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]),
            "FAST" => items.extend([F::Flags, F::InternalDate, F::Rfc822Size]),
            "FULL" => items.extend([F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope, F::Body]),
            "FLAGS" => items.push(F::Flags),
            "INTERNALDATE" => items.push(F::InternalDate),
            "RFC822.SIZE" => items.push(F::Rfc822Size),
            "UID" => items.push(F::Uid),
            "ENVELOPE" => items.push(F::Envelope),
            "BODYSTRUCTURE" => items.push(F::BodyStructure),
            "RFC822" => items.push(F::Rfc822),
            "RFC822.HEADER" => items.push(F::Rfc822Header),
            "RFC822.TEXT" => items.push(F::Rfc822Text),
            "MODSEQ" => items.push(F::ModSeq),
            "BODY" | "BODY.PEEK" => {
                if self.peek() != Some(b'[') {
                    if word == "BODY.PEEK" {
                        return Err("BODY.PEEK needs a section");
                    }
                    items.push(F::Body);
                    return Ok(());
                }
                let section = self.section()?;
                let partial = if self.eat(b"<") {
                    let o = self.number()?;
                    if !self.eat(b".") {
                        return Err("bad partial");
                    }
                    let n = self.number()?;
                    if !self.eat(b">") {
                        return Err("bad partial");
                    }
                    Some((o, n))
                } else {
                    None
                };
                items.push(F::Section { peek: word == "BODY.PEEK", section, partial });
            }
            _ => return Err("unknown fetch item"),
        }
        Ok(())
    }

    fn section(&mut self) -> R<Section> {
        self.pos += 1; // [
        let mut s = Section::default();
        if self.eat(b"]") {
            return Ok(s);
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            let n = self.number()?;
            if n == 0 {
                return Err("section parts start at 1");
            }
            s.part.push(n);
            if s.part.len() > 64 {
                return Err("section too deep");
            }
            if !self.eat(b".") {
                break;
            }
        }
        if !self.eat(b"]") {
            let word = self.word()?;
            s.text = Some(match word.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" if !s.part.is_empty() => SectionText::Mime,
                "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
                    self.sp()?;
                    if !self.eat(b"(") {
                        return Err("expected header list");
                    }
                    let mut names = Vec::new();
                    loop {
                        names.push(self.astring()?);
                        if self.eat(b")") {
                            break;
                        }
                        self.sp()?;
                    }
                    if word == "HEADER.FIELDS" { SectionText::HeaderFields(names) } else { SectionText::HeaderFieldsNot(names) }
                }
                _ => return Err("unknown section"),
            });
            if !self.eat(b"]") {
                return Err("expected ]");
            }
        }
        Ok(s)
    }
}
