//! Message content: how a message is held from the first DATA byte to its last delivery
//! without ever being whole in memory.
//!
//! Owns: [`Content`] (a small `head` — the trace fields we add and the header section as
//! rewritten — followed by a [`Tail`] that is either inline bytes or a range of the
//! message's body file), [`BodyWriter`] (receives a message in chunks, spills to
//! `queue/bodies/<id>` past [`INLINE_MAX`], fsyncs before the envelope is stored) and
//! the readers transports stream from. Must not touch: sled, envelopes, SMTP.
//!
//! Small messages stay in memory and in sled (one group-committed write, fastest at 1 KiB);
//! large ones are written once, to their own file, like a Postfix queue file.
use super::spool::SpoolError;
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

/// Messages up to this size are kept in memory and stored inline in sled; larger ones go
/// to a body file. Also the memory one message being received costs at most (plus its
/// header section).
pub const INLINE_MAX: usize = 64 * 1024;

/// At most this much of a header section is held in memory (Postfix's
/// `header_size_limit`, 100 KiB); lines past it are kept as they came but treated as body.
pub const HEADER_MAX: usize = 100 * 1024;

/// Writes to a body file are batched to this size (one blocking-pool hand-off each).
const WRITE_CHUNK: usize = 256 * 1024;

/// Chunk size transports read with.
pub const READ_CHUNK: usize = 64 * 1024;

/// The part of a message that follows its head.
#[derive(Clone, Debug)]
pub enum Tail {
    Inline(Bytes),
    /// `len` bytes of `path` starting at `offset`.
    File { path: Arc<PathBuf>, offset: u64, len: u64 },
}

impl Tail {
    pub fn len(&self) -> u64 {
        match self {
            Tail::Inline(b) => b.len() as u64,
            Tail::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same tail without its first `n` bytes (`n` is capped at the length).
    pub fn skip(&self, n: u64) -> Tail {
        let n = n.min(self.len());
        match self {
            Tail::Inline(b) => Tail::Inline(b.slice(n as usize..)),
            Tail::File { path, offset, len } => Tail::File { path: path.clone(), offset: offset + n, len: len - n },
        }
    }

    /// The tail as one byte slice without reading it into the heap: inline bytes, or the
    /// file mapped read-only (pages come from the page cache and go back to it). For the
    /// checks that need the whole message at once (DKIM signing and verification).
    pub fn map(&self) -> io::Result<Mapped> {
        match self {
            Tail::Inline(b) => Ok(Mapped::Bytes(b.clone())),
            Tail::File { path, offset, len } => {
                if *len == 0 {
                    return Ok(Mapped::Bytes(Bytes::new()));
                }
                let file = File::open(path.as_path())?;
                // SAFETY: body files are written once, fsynced and never modified afterwards
                // (only removed, which keeps the mapping valid); nothing truncates them.
                let map = unsafe { memmap2::MmapOptions::new().offset(*offset).len(*len as usize).map(&file)? };
                let _ = map.advise(memmap2::Advice::Sequential);
                Ok(Mapped::Map(map))
            }
        }
    }
}

/// A received body file no envelope points to yet: removed when dropped, unless
/// [`Unqueued::keep`] says the queue took it (a refused message leaves nothing behind).
#[derive(Debug, Default)]
pub struct Unqueued(Option<Arc<PathBuf>>);

impl Unqueued {
    /// For `tail`: guards its file, if it has one.
    pub fn guard(tail: &Tail) -> Unqueued {
        match tail {
            Tail::File { path, offset: 0, .. } => Unqueued(Some(path.clone())),
            _ => Unqueued(None),
        }
    }

    /// The message was queued: the spool owns the file now.
    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Unqueued {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path.as_path());
        }
    }
}

/// See [`Tail::map`].
pub enum Mapped {
    Bytes(Bytes),
    Map(memmap2::Mmap),
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Mapped::Bytes(b) => b,
            Mapped::Map(m) => m,
        }
    }
}

/// A whole message as stored: `head` then `tail`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Content {
    pub head: Bytes,
    pub tail: Tail,
}

impl Content {
    /// A message held in memory (HTTP API, DSNs, tests).
    pub fn inline(message: impl Into<Bytes>) -> Content {
        Content { head: Bytes::new(), tail: Tail::Inline(message.into()) }
    }

    pub fn len(&self) -> u64 {
        self.head.len() as u64 + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `max` bytes (or all), read from the file if needed. For what looks at the
    /// header section only: loop detection, DSNs with headers only, `queue show`.
    pub fn prefix(&self, max: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(max.min(self.len() as usize));
        self.reader()?.take(max as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    /// The whole message in memory. Only for callers that bound the size themselves or
    /// deal with small messages (tests, `queue show`).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        self.prefix(usize::MAX)
    }

    /// Copies the whole message to `out` (blocking; a body file is copied in the kernel
    /// where it can be).
    pub fn copy_to(&self, out: &mut File) -> io::Result<()> {
        out.write_all(&self.head)?;
        match &self.tail {
            Tail::Inline(b) => out.write_all(b),
            Tail::File { path, offset, len } => {
                let mut f = File::open(path.as_path())?;
                f.seek(SeekFrom::Start(*offset))?;
                let copied = io::copy(&mut f.take(*len), out)?;
                if copied != *len {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "queued body file is shorter than recorded"));
                }
                Ok(())
            }
        }
    }

    /// A blocking reader over the whole message.
    pub fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        let head = io::Cursor::new(self.head.clone());
        Ok(match &self.tail {
            Tail::Inline(b) => Box::new(Read::chain(head, io::Cursor::new(b.clone()))),
            Tail::File { path, offset, len } => {
                let mut f = File::open(path.as_path())?;
                f.seek(SeekFrom::Start(*offset))?;
                Box::new(Read::chain(head, f.take(*len)))
            }
        })
    }

    /// An async reader over the whole message (file reads go to the blocking pool).
    pub async fn async_reader(&self) -> io::Result<Box<dyn AsyncRead + Send + Unpin>> {
        let head = io::Cursor::new(self.head.clone());
        Ok(match &self.tail {
            Tail::Inline(b) => Box::new(AsyncReadExt::chain(head, io::Cursor::new(b.clone()))),
            Tail::File { path, offset, len } => {
                let mut f = tokio::fs::File::open(path.as_path()).await?;
                f.seek(SeekFrom::Start(*offset)).await?;
                Box::new(AsyncReadExt::chain(head, AsyncReadExt::take(f, *len)))
            }
        })
    }
}

impl Content {
    /// The message as a stream of chunks: the inline parts as they are (no copy), a file
    /// read [`READ_CHUNK`] at a time. For HTTP bodies.
    pub fn stream(&self) -> BoxStream<'static, io::Result<Bytes>> {
        if let Tail::Inline(t) = &self.tail {
            let parts = [self.head.clone(), t.clone()].into_iter().filter(|b| !b.is_empty()).map(Ok);
            return futures_util::stream::iter(parts).boxed();
        }
        enum State {
            Start(Content),
            Reading(Box<dyn AsyncRead + Send + Unpin>),
            Done,
        }
        futures_util::stream::unfold(State::Start(self.clone()), |state| async move {
            let mut reader = match state {
                State::Start(c) => match c.async_reader().await {
                    Ok(r) => r,
                    Err(e) => return Some((Err(e), State::Done)),
                },
                State::Reading(r) => r,
                State::Done => return None,
            };
            let mut buf = bytes::BytesMut::zeroed(READ_CHUNK);
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(buf.freeze()), State::Reading(reader)))
                }
                Err(e) => Some((Err(e), State::Done)),
            }
        })
        .boxed()
    }
}

/// Receives one message in chunks. Up to [`INLINE_MAX`] bytes stay in memory; past that
/// everything goes to `bodies/<id>`, written in [`WRITE_CHUNK`] batches on the blocking
/// pool. Dropped without [`BodyWriter::finish`] (size limit, client gone, refusal), it
/// removes its file.
pub struct BodyWriter {
    path: PathBuf,
    buf: Vec<u8>,
    file: Option<File>,
    written: u64,
    /// The file may exist and is not yet handed over: remove it when dropped.
    owns_file: bool,
    /// Set when a write failed: later writes are dropped, `finish` reports it.
    failed: Option<SpoolError>,
}

impl BodyWriter {
    pub(crate) fn new(path: PathBuf) -> BodyWriter {
        BodyWriter { path, buf: Vec::new(), file: None, written: 0, owns_file: false, failed: None }
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends content. Errors are sticky and reported by `finish`, so the caller can keep
    /// reading the client's data to stay in sync.
    pub async fn write(&mut self, bytes: &[u8]) {
        if self.failed.is_some() || bytes.is_empty() {
            return;
        }
        self.buf.extend_from_slice(bytes);
        let threshold = if self.file.is_some() { WRITE_CHUNK } else { INLINE_MAX };
        if self.buf.len() > threshold
            && let Err(e) = self.spill().await
        {
            self.failed = Some(e);
            self.buf = Vec::new();
        }
    }

    /// Writes the buffer to the file (creating it), on the blocking pool.
    async fn spill(&mut self) -> Result<(), SpoolError> {
        let buf = std::mem::take(&mut self.buf);
        let file = self.file.take();
        let path = self.path.clone();
        self.owns_file = true;
        let (file, mut buf) = tokio::task::spawn_blocking(move || -> io::Result<(File, Vec<u8>)> {
            let mut file = match file {
                Some(f) => f,
                None => File::options().write(true).create_new(true).open(&path)?,
            };
            file.write_all(&buf)?;
            Ok((file, buf))
        })
        .await
        .map_err(|e| SpoolError::Storage(format!("body writer task failed: {e}")))??;
        self.written += buf.len() as u64;
        buf.clear();
        if buf.capacity() < WRITE_CHUNK {
            buf.reserve(WRITE_CHUNK + READ_CHUNK);
        }
        self.buf = buf;
        self.file = Some(file);
        Ok(())
    }

    /// The stored message as a tail: inline, or the file written out and fsynced (its
    /// directory entry is made durable by the queue's next flush, before any envelope
    /// pointing at it is acknowledged).
    pub async fn finish(mut self) -> Result<Tail, SpoolError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.file.is_none() {
            return Ok(Tail::Inline(Bytes::from(std::mem::take(&mut self.buf))));
        }
        if !self.buf.is_empty() {
            self.spill().await?;
        }
        let file = self.file.take().expect("file present");
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| SpoolError::Storage(format!("body sync task failed: {e}")))??;
        self.owns_file = false;
        let path = Arc::new(std::mem::take(&mut self.path));
        Ok(Tail::File { path, offset: 0, len: self.written })
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        // Not finished: the file is a partial message nobody will ever point to.
        if self.owns_file {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The body file of message `id` in `dir`.
pub(crate) fn body_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_stays_inline_large_goes_to_a_file_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BodyWriter::new(dir.path().join("small"));
        w.write(b"Subject: x\r\n\r\nhello\r\n").await;
        let tail = w.finish().await.unwrap();
        assert!(matches!(tail, Tail::Inline(_)));
        assert!(!dir.path().join("small").exists());

        let big: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut w = BodyWriter::new(dir.path().join("big"));
        for piece in big.chunks(10_000) {
            w.write(piece).await;
        }
        let tail = w.finish().await.unwrap();
        assert!(matches!(tail, Tail::File { len: 1_000_000, .. }), "{tail:?}");
        let content = Content { head: Bytes::from_static(b"X-Head: 1\r\n"), tail: tail.skip(10) };
        let mut expect = b"X-Head: 1\r\n".to_vec();
        expect.extend_from_slice(&big[10..]);
        assert_eq!(content.to_vec().unwrap(), expect);
        assert_eq!(content.len(), expect.len() as u64);
        assert_eq!(&*content.tail.map().unwrap(), &big[10..]);
        let mut streamed = Vec::new();
        content.async_reader().await.unwrap().read_to_end(&mut streamed).await.unwrap();
        assert_eq!(streamed, expect);
        assert_eq!(content.prefix(5).unwrap(), b"X-Hea");
    }

    #[tokio::test]
    async fn an_unfinished_writer_removes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial");
        let mut w = BodyWriter::new(path.clone());
        w.write(&vec![b'x'; INLINE_MAX + 1]).await;
        assert!(path.exists());
        drop(w);
        assert!(!path.exists());
    }
}
