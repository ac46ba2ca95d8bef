//! A message while it is being received: the header section captured in memory (bounded by
//! [`HEADER_MAX`], for the rewriting, checks and signing that read headers), and every
//! byte written through the queue's [`BodyWriter`] as it arrives, so a message of any size
//! costs the daemon a bounded amount of memory.
//!
//! Owns: splitting the header section from the rest while streaming. Must not touch:
//! protocol framing (the callers' readers), what is done with the headers (`ingest`).
use super::Services;
use crate::queue::{BodyWriter, HEADER_MAX, QueueId, SpoolError, Tail, Unqueued};
use bytes::Bytes;


/// A message being received.
pub struct Draft {
    id: QueueId,
    header: Vec<u8>,
    header_done: bool,
    writer: BodyWriter,
}

/// A received message: its header section (ending with the CRLF of its last field, without
/// the empty line) and the message exactly as received, header included.
pub struct Message {
    pub id: QueueId,
    pub header: Vec<u8>,
    /// The whole message as received (for checks that verify what the sender sent).
    pub original: Tail,
    /// Length of the header section inside `original`.
    header_len: usize,
    /// Removes the body file if the message is refused after all (see `ingest`).
    pub(crate) unqueued: Unqueued,
}

impl Message {
    /// A message that is whole in memory already (HTTP send API, generated mail).
    pub fn from_vec(id: QueueId, message: Vec<u8>) -> Message {
        let header_len = match header_end(&message, false) {
            Some(end) if end <= HEADER_MAX => end,
            _ if message.len() <= HEADER_MAX => message.len(),
            _ => cut_at_line(&message[..HEADER_MAX]),
        };
        let header = message[..header_len].to_vec();
        Message { id, header, original: Tail::Inline(Bytes::from(message)), header_len, unqueued: Unqueued::default() }
    }

    /// What follows the header section (the empty line, then the body).
    pub fn tail(&self) -> Tail {
        self.original.skip(self.header_len as u64)
    }

    /// Size of the message as received.
    pub fn len(&self) -> u64 {
        self.original.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Draft {
    pub fn new(ctx: &Services) -> Draft {
        let id = QueueId::generate();
        let writer = ctx.queue.writer(&id);
        Draft { id, header: Vec::with_capacity(4096), header_done: false, writer }
    }

    /// Takes the next piece of message content (already unstuffed and normalized).
    /// Storage errors are kept for [`Draft::finish`], so the caller stays in sync.
    pub async fn write(&mut self, content: &[u8]) {
        if !self.header_done {
            let searched = self.header.len().saturating_sub(3);
            self.header.extend_from_slice(&content[..content.len().min(HEADER_MAX + 4 - self.header.len().min(HEADER_MAX))]);
            if self.header.starts_with(b"\r\n") {
                self.header.clear();
                self.header_done = true;
            } else if let Some(end) = header_end(&self.header[searched..], true).map(|e| e + searched) {
                self.header.truncate(end);
                self.header_done = true;
            } else if self.header.len() > HEADER_MAX {
                let end = cut_at_line(&self.header[..HEADER_MAX]);
                self.header.truncate(end);
                self.header_done = true;
            }
        }
        self.writer.write(content).await;
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.writer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The received message, its body durable on disk if it is in a file.
    pub async fn finish(self) -> Result<Message, SpoolError> {
        let header_len = self.header.len();
        let original = self.writer.finish().await?;
        let unqueued = Unqueued::guard(&original);
        Ok(Message { id: self.id, header: self.header, original, header_len, unqueued })
    }
}

/// End of the header section: just after the CRLF of the last field, i.e. at the start of
/// the empty line (0 when the message starts with it). `partial`: `bytes` is the start of
/// a header being received, whose first bytes may continue an earlier search window.
fn header_end(bytes: &[u8], partial: bool) -> Option<usize> {
    if !partial && bytes.starts_with(b"\r\n") {
        return Some(0);
    }
    memchr::memmem::find(bytes, b"\r\n\r\n").map(|i| i + 2)
}

/// The longest prefix of `bytes` that ends with a CRLF (all of it when there is none).
fn cut_at_line(bytes: &[u8]) -> usize {
    memchr::memmem::rfind(bytes, b"\r\n").map_or(bytes.len(), |i| i + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_section_ends_before_the_empty_line() {
        let m = Message::from_vec(QueueId::generate(), b"A: 1\r\nB: 2\r\n\r\nbody\r\n".to_vec());
        assert_eq!(m.header, b"A: 1\r\nB: 2\r\n");
        let Tail::Inline(t) = m.tail() else { panic!() };
        assert_eq!(&t[..], b"\r\nbody\r\n");
        let m = Message::from_vec(QueueId::generate(), b"\r\nno header".to_vec());
        assert!(m.header.is_empty());
        let m = Message::from_vec(QueueId::generate(), b"Only: header\r\n".to_vec());
        assert_eq!(m.header, b"Only: header\r\n");
    }
}
