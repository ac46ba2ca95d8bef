//! IMAP for the tests: a TestServer with smtp/imap/imaps listeners and a mailbox made with
//! `postern mailbox add`, and a raw-socket IMAP client for dialog tests (writes exactly
//! the bytes a test gives it, reads response lines), plain, STARTTLS or implicit TLS.
use super::dialog::client_config;
use super::{ServerBuilder, TestServer};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

pub const USER: &str = "alice@example.org";
pub const PASSWORD: &str = "alice secret";

/// A server with smtp, imap and imaps listeners and the mailbox `USER`; `tweak` adds
/// settings before it starts.
pub fn server_with(tweak: impl FnOnce(ServerBuilder) -> ServerBuilder) -> TestServer {
    server_setup(tweak, |_| {})
}

/// `server_with`, and `setup` runs (e.g. more `postern mailbox add`) before it starts.
pub fn server_setup(tweak: impl FnOnce(ServerBuilder) -> ServerBuilder, setup: impl FnOnce(&TestServer)) -> TestServer {
    let builder = ServerBuilder::new().listeners(&["smtp", "imap", "imaps"]).list("relay.local_domains", &[]);
    let mut server = tweak(builder).prepare();
    server.cli_ok(&["domain", "add", "example.org"], "");
    server.cli_ok(&["mailbox", "add", USER], &format!("{PASSWORD}\n"));
    setup(&server);
    server.spawn();
    server
}

/// Logs in over imaps as `user`.
pub fn login(server: &TestServer, user: &str, password: &str) -> Imap {
    let mut c = Imap::connect_tls(server.addr("imaps"), &server.cert_path());
    c.expect("l", &format!("LOGIN {user} \"{password}\""), "OK");
    c
}

/// Appends `n` small messages (`Subject: m1` ...) to INBOX with LITERAL+, each answered OK.
pub fn append_small(c: &mut Imap, n: u32) {
    for i in 1..=n {
        c.send(format!("p{i} APPEND INBOX {{20+}}\r\nSubject: m{i}\r\n\r\nbody\r\n").as_bytes());
        let r = c.until_tagged(&format!("p{i}"));
        assert!(r.last().unwrap().starts_with(&format!("p{i} OK")), "{r:?}");
    }
}

pub fn server() -> TestServer {
    server_with(|b| b)
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Closed,
}

pub struct Imap {
    stream: Stream,
    buf: Vec<u8>,
    pub greeting: String,
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn tcp(addr: SocketAddr) -> TcpStream {
    let t = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    t.set_read_timeout(Some(TIMEOUT)).unwrap();
    t
}

fn tls(mut tcp: TcpStream, cert: &Path) -> StreamOwned<ClientConnection, TcpStream> {
    let mut conn = ClientConnection::new(client_config(cert), ServerName::try_from("localhost").unwrap()).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap_or_else(|e| panic!("TLS handshake: {e}"));
    }
    StreamOwned::new(conn, tcp)
}

impl Imap {
    pub fn connect(addr: SocketAddr) -> Imap {
        Self::start(Stream::Plain(tcp(addr)))
    }

    pub fn connect_tls(addr: SocketAddr, cert: &Path) -> Imap {
        Self::start(Stream::Tls(Box::new(tls(tcp(addr), cert))))
    }

    fn start(stream: Stream) -> Imap {
        let mut i = Imap { stream, buf: Vec::new(), greeting: String::new() };
        i.greeting = i.line().expect("greeting");
        assert!(i.greeting.starts_with("* OK"), "greeting: {}", i.greeting);
        i
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match &mut self.stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.as_mut(),
            Stream::Closed => panic!("closed"),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let io = self.io();
        io.write_all(bytes).expect("write to server");
        io.flush().unwrap();
    }

    /// One response line without CRLF; `None` when the server closed the connection.
    pub fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string());
            }
            let mut chunk = [0u8; 16384];
            match self.io().read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionAborted) => return None,
                Err(e) => panic!("read from server: {e}"),
            }
        }
    }

    /// Sends `tag text` and reads up to the tagged response; returns every line, the
    /// tagged one last.
    #[track_caller]
    pub fn cmd(&mut self, tag: &str, text: &str) -> Vec<String> {
        self.send(format!("{tag} {text}\r\n").as_bytes());
        self.until_tagged(tag)
    }

    #[track_caller]
    pub fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().unwrap_or_else(|| panic!("connection closed; got {lines:?}"));
            let done = l.starts_with(&format!("{tag} "));
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Runs a command and asserts its tagged status (`OK`, `NO`, `BAD`).
    #[track_caller]
    pub fn expect(&mut self, tag: &str, text: &str, status: &str) -> Vec<String> {
        let lines = self.cmd(tag, text);
        let last = lines.last().unwrap();
        assert!(last.starts_with(&format!("{tag} {status}")), "{text:?} -> {lines:?}");
        lines
    }

    pub fn read_until_close(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.line()).collect()
    }

    /// STARTTLS (asserting OK), then the TLS handshake trusting `cert`.
    pub fn starttls(&mut self, cert: &Path) {
        self.expect("st", "STARTTLS", "OK");
        assert!(self.buf.is_empty(), "bytes after the STARTTLS response: {:?}", self.buf);
        let Stream::Plain(t) = std::mem::replace(&mut self.stream, Stream::Closed) else { panic!("already TLS") };
        self.stream = Stream::Tls(Box::new(tls(t, cert)));
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}
