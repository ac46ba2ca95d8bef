//! A raw-socket SMTP client for dialog tests: writes exactly the bytes a test gives it
//! (pipelined, malformed, smuggled) and parses the replies, with optional TLS (rustls).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const TIMEOUT: Duration = Duration::from_secs(30);

/// One (possibly multi-line) SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Text after `ddd-`/`ddd ` on each line.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The enhanced status code (`5.7.1`) when the first line starts with one.
    pub fn enhanced(&self) -> Option<&str> {
        let first = self.lines.first()?.split_whitespace().next()?;
        let ok =
            first.split('.').count() == 3 && first.split('.').all(|p| p.parse::<u16>().is_ok());
        ok.then_some(first)
    }

    /// True when some line (e.g. an EHLO keyword) starts with `word`, case-insensitively.
    pub fn has_line(&self, word: &str) -> bool {
        let w = word.to_ascii_uppercase();
        self.lines
            .iter()
            .any(|l| l.to_ascii_uppercase().starts_with(&w))
    }

    #[track_caller]
    pub fn assert(&self, code: u16, enhanced: &str) {
        assert_eq!(
            (self.code, self.enhanced()),
            (code, Some(enhanced)),
            "unexpected reply: {self:?}"
        );
    }
}

/// Extracts `ID` from `250 2.0.0 Ok: queued as ID` (or any text holding "queued as ID").
pub fn queued_id(text: &str) -> Option<String> {
    let rest = &text[text.find("queued as ")? + "queued as ".len()..];
    let id: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    (!id.is_empty()).then_some(id)
}

/// The connection under the dialog: TCP to a daemon, or one end of a socket pair served in
/// process (`support::session`).
type Wire = Box<dyn ReadWrite + Send>;

enum Stream {
    Plain(Wire),
    Tls(Box<StreamOwned<ClientConnection, Wire>>),
    Closed,
}

impl Stream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.as_mut(),
            Stream::Closed => panic!("stream used after TLS upgrade failure"),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A client connection; `greeting` holds the server's 220.
pub struct Dialog {
    stream: Stream,
    buf: Vec<u8>,
    pub greeting: Reply,
}

impl Dialog {
    /// Connects in plain text and reads the greeting (asserted 220).
    pub fn connect(addr: SocketAddr) -> Dialog {
        Self::start(Stream::Plain(Box::new(tcp_connect(addr))))
    }

    /// Talks over an already connected stream (an in-process session's socket).
    pub fn over(wire: std::os::unix::net::UnixStream) -> Dialog {
        wire.set_read_timeout(Some(TIMEOUT)).unwrap();
        wire.set_write_timeout(Some(TIMEOUT)).unwrap();
        Self::start(Stream::Plain(Box::new(wire)))
    }

    /// Connects with implicit TLS (submissions), trusting `cert` for `localhost`.
    pub fn connect_tls(addr: SocketAddr, cert: &Path) -> Dialog {
        let tcp: Wire = Box::new(tcp_connect(addr));
        Self::start(Stream::Tls(Box::new(tls_handshake(tcp, cert))))
    }

    fn start(stream: Stream) -> Dialog {
        let mut d = Dialog {
            stream,
            buf: Vec::new(),
            greeting: Reply {
                code: 0,
                lines: vec![],
            },
        };
        d.greeting = d.read_reply();
        assert_eq!(d.greeting.code, 220, "greeting: {:?}", d.greeting);
        d
    }

    /// Writes raw bytes in one `write_all` (so pipelined data arrives together).
    pub fn send(&mut self, bytes: &[u8]) {
        let io = self.stream.io();
        io.write_all(bytes).expect("write to server");
        io.flush().expect("flush to server");
    }

    /// Sends `line` + CRLF and reads one reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends `line` and asserts the reply code.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "reply to {line:?}: {r:?}");
        r
    }

    pub fn ehlo(&mut self) -> Reply {
        self.expect("EHLO client.test", 250)
    }

    /// Reads one reply; panics on EOF or timeout.
    #[track_caller]
    pub fn read_reply(&mut self) -> Reply {
        self.try_read_reply()
            .expect("server closed the connection while a reply was expected")
    }

    /// Reads one reply; `None` when the server closed the connection first.
    pub fn try_read_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line()?;
            let (code, sep, text) = split_reply_line(&line);
            lines.push(text.to_string());
            if sep != '-' {
                return Some(Reply { code, lines });
            }
        }
    }

    /// Reads replies until the server closes the connection.
    pub fn read_until_close(&mut self) -> Vec<Reply> {
        std::iter::from_fn(|| self.try_read_reply()).collect()
    }

    /// STARTTLS (asserting 220), then the TLS handshake trusting `cert`. Does not send EHLO.
    pub fn starttls(&mut self, cert: &Path) {
        self.expect("STARTTLS", 220);
        self.upgrade(cert);
    }

    /// TLS handshake on the current connection (after the server's 220 to STARTTLS).
    pub fn upgrade(&mut self, cert: &Path) {
        assert!(
            self.buf.is_empty(),
            "server sent bytes after its STARTTLS reply: {:?}",
            self.buf
        );
        let tcp = match std::mem::replace(&mut self.stream, Stream::Closed) {
            Stream::Plain(tcp) => tcp,
            _ => panic!("STARTTLS on a connection that is already TLS"),
        };
        self.stream = Stream::Tls(Box::new(tls_handshake(tcp, cert)));
    }

    /// `AUTH PLAIN` with an initial response.
    pub fn auth_plain(&mut self, user: &str, password: &str) -> Reply {
        self.cmd(&format!("AUTH PLAIN {}", plain_token(user, password)))
    }

    /// One MAIL/RCPT/DATA transaction expected to succeed; returns the queue id.
    #[track_caller]
    pub fn send_mail(&mut self, from: &str, rcpts: &[&str], body: &str) -> String {
        self.expect(&format!("MAIL FROM:<{from}>"), 250);
        for r in rcpts {
            self.expect(&format!("RCPT TO:<{r}>"), 250);
        }
        self.expect("DATA", 354);
        self.send(body.as_bytes());
        let r = self.cmd(".");
        r.assert(250, "2.0.0");
        queued_id(&r.text()).unwrap_or_else(|| panic!("no queue id in {r:?}"))
    }

    fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                return Some(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            let mut chunk = [0u8; 4096];
            match self.stream.io().read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_closed(&e) => return None,
                Err(e) => panic!(
                    "reading reply: {e} (buffered: {:?})",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }
}

/// base64 of `\0user\0password` for AUTH PLAIN.
pub fn plain_token(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

fn split_reply_line(line: &str) -> (u16, char, &str) {
    let code = line.get(..3).and_then(|c| c.parse().ok());
    let code = code.unwrap_or_else(|| panic!("malformed reply line {line:?}"));
    let sep = line[3..].chars().next().unwrap_or(' ');
    assert!(sep == ' ' || sep == '-', "malformed reply line {line:?}");
    (code, sep, line.get(4..).unwrap_or(""))
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    tcp
}

/// A rustls client config trusting only the PEM certificate(s) in `cert`.
pub fn client_config(cert: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).expect("read test cert") {
        roots.add(c.expect("parse test cert")).expect("add root");
    }
    // Explicit provider: test binaries link both ring (via lettre) and aws-lc-rs.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}

fn tls_handshake(mut tcp: Wire, cert: &Path) -> StreamOwned<ClientConnection, Wire> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(client_config(cert), name).expect("tls client");
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .unwrap_or_else(|e| panic!("TLS handshake: {e}"));
    }
    StreamOwned::new(conn, tcp)
}
