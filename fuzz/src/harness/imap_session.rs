//! Whole IMAP sessions: arbitrary client bytes into the IMAP server over an in-memory
//! stream (`server::imap::serve_logged_in`, or `serve` on the plain `imap` listener for
//! the not-authenticated state), with the production config loader and a real Maildir
//! (three messages, one still in new/) in a scratch dir, fresh for every input.
//!
//! Checks: the session ends at the client's EOF; the first line is the `* OK` greeting;
//! every line the server wrote ends with CRLF (no bare CR or LF outside literals); every
//! literal `{n}` is followed by exactly n octets and then by the rest of its response
//! (`)`, a space or the CRLF); every line is untagged (`* `), a continuation (`+`) or
//! tagged with a tag the client sent at the start of one of its lines; afterwards every
//! folder's Maildir is consistent: each file in cur/ and new/ has exactly one line in
//! `dovecot-uidlist`, no UID is listed twice or at or above the header's next UID, and
//! tmp/ holds nothing (APPEND cleans up).
//!
//! Input: a flags byte (bit 0: start not logged in, on the plain `imap` listener;
//! bits 2-3: how the bytes are split into writes), then the client's bytes.
//! `POSTERN_FUZZ_DEBUG=1` prints both sides of each conversation.
use postern::app::Services;
use postern::config::{ListenerKind, load_with_env};
use postern::directory::Directory;
use postern::mailstore::Store;
use postern::net::tls;
use postern::queue::Queue;
use postern::server::access::Login;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Env {
    rt: tokio::runtime::Runtime,
    ctx: Arc<Services>,
    dir: PathBuf,
    _stop: tokio::sync::watch::Sender<bool>,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = super::scratch_dir("postern-fuzz-imap-session");
        let path = dir.join("postern.toml");
        let cfg = format!(
            "[server]\nhostname = \"imap.fuzz.example\"\ndata_dir = \"{data}\"\n[users]\nfile = \"{data}/users.toml\"\n\
             [limits]\nconnections_per_ip = 1000\nauth_failure_delay = \"1ms\"\n[inbound]\nchecks = false\n[http]\nbind = \"\"\n",
            data = dir.display()
        );
        std::fs::write(&path, cfg).expect("write config");
        let cfg = Arc::new(load_with_env(Some(&path), std::iter::empty()).expect("fuzz config loads").config);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let ctx = rt.block_on(async {
            let queue = Queue::open(&dir).expect("queue");
            let tls = tls::load(&cfg).expect("tls");
            let dkim = postern::dkim::DkimSigner::load(&cfg.dkim).expect("dkim");
            let directory = Arc::new(Directory::connect(&cfg).await.expect("directory"));
            Services::new(cfg.clone(), queue, tls, dkim, None, directory, stop_rx, None)
        });
        Env { rt, ctx, dir, _stop: stop }
    })
}

const MESSAGES: [(&str, &str, &[u8]); 3] = [
    ("cur", "1700000000.M1P1.fuzz,S=60:2,S", b"From: a@example.org\r\nSubject: one\r\n\r\nfirst message\r\n"),
    ("cur", "1700000001.M2P1.fuzz:2,FR", b"From: b@example.org\nSubject: two\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\npart\n--x--\n"),
    ("new", "1700000002.M3P1.fuzz", b"Subject: three\r\n\r\nnew\r\n"),
];

/// A fresh Maildir with MESSAGES, numbered (as after a first SELECT) and a `Sent` folder.
fn fresh_store(root: &Path) -> Store {
    let _ = std::fs::remove_dir_all(root);
    let store = Store::open(root).expect("maildir");
    for (sub, name, body) in MESSAGES {
        std::fs::write(root.join(sub).join(name), body).expect("seed message");
    }
    store.create("Sent").expect("create Sent");
    store.folder("INBOX").and_then(|f| f.sync(true)).expect("first sync");
    store
}

pub fn run(data: &[u8]) {
    let (f, input) = super::flags(data);
    let env = env();
    let root = env.dir.join("mail");
    let store = fresh_store(&root);
    let logged_in = f & 1 == 0;
    let chunk = [usize::MAX, 1, 7, 64][usize::from((f >> 2) & 3)];
    let output = env.rt.block_on(converse(env.ctx.clone(), store, logged_in, input, chunk));
    if std::env::var_os("POSTERN_FUZZ_DEBUG").is_some() {
        eprintln!("--- client:\n{}--- server:\n{}", String::from_utf8_lossy(input), String::from_utf8_lossy(&output));
    }
    check_output(input, &output);
    check_maildir(&root);
}

async fn converse(ctx: Arc<Services>, store: Store, logged_in: bool, input: &[u8], chunk: usize) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (mut rd, mut wr) = tokio::io::split(client);
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let writer = async move {
        for piece in input.chunks(chunk.min(input.len().max(1))) {
            if wr.write_all(piece).await.is_err() {
                return; // the server closed the session
            }
        }
        let _ = wr.shutdown().await;
    };
    let reader = async move {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let server = async move {
        if logged_in {
            let login = Login { account: "fuzz@example.org".into(), store, quota: 0 };
            postern::server::imap::serve_logged_in(ctx, server, peer, login).await;
        } else {
            postern::server::imap::serve(ctx, server, peer, ListenerKind::Imap).await;
        }
    };
    let limit = Duration::from_secs(20);
    let ((), out, ()) = tokio::time::timeout(limit, async { tokio::join!(writer, reader, server) })
        .await
        .expect("session did not end after the client's EOF");
    out
}

/// Whether `tag` is the first word of one of the client's lines (followed by a space or
/// the line's end).
fn client_sent_tag(input: &[u8], tag: &[u8]) -> bool {
    let word_at = |at: usize| input[at..].starts_with(tag) && matches!(input.get(at + tag.len()), None | Some(b' ' | b'\r' | b'\n'));
    word_at(0) || memchr_lf(input).any(|i| word_at(i + 1))
}

fn memchr_lf(input: &[u8]) -> impl Iterator<Item = usize> + '_ {
    input.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i)
}

fn check_output(input: &[u8], out: &[u8]) {
    let show = || String::from_utf8_lossy(out).into_owned();
    assert!(out.starts_with(b"* OK ") || out.starts_with(b"* BYE "), "no greeting: {}", show());
    let mut pos = 0;
    let mut line_start = true;
    while pos < out.len() {
        if line_start {
            let rest = &out[pos..];
            if !(rest.starts_with(b"* ") || rest.starts_with(b"+")) {
                let end = rest.iter().position(|&b| b == b' ' || b == b'\r').unwrap_or(rest.len());
                let tag = &rest[..end];
                assert!(!tag.is_empty() && client_sent_tag(input, tag), "line with a tag the client never sent: {:?}", String::from_utf8_lossy(&rest[..rest.len().min(80)]));
            }
            line_start = false;
        }
        let b = out[pos];
        match b {
            b'\r' => {
                assert_eq!(out.get(pos + 1), Some(&b'\n'), "bare CR at {pos}: {}", show());
                // A literal announcement ends its line: `{n}` then CRLF then n octets.
                if let Some(n) = literal_before(&out[..pos]) {
                    let after = pos + 2 + n;
                    assert!(after <= out.len(), "literal of {n} octets cut short at {pos}: {}", show());
                    let next = out.get(after).copied();
                    assert!(matches!(next, Some(b')' | b' ' | b'\r')), "literal {{{n}}} at {pos} not followed by the rest of its response ({next:?}): {}", show());
                    pos = after;
                } else {
                    pos += 2;
                    line_start = true;
                }
            }
            b'\n' => panic!("bare LF at {pos}: {}", show()),
            _ => pos += 1,
        }
    }
    assert!(line_start, "output does not end with a complete line: {}", show());
}

/// The n of a `{n}` that ends `line` (a literal announcement).
fn literal_before(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn check_maildir(root: &Path) {
    let mut dirs = vec![root.to_path_buf()];
    for e in std::fs::read_dir(root).expect("maildir root").flatten() {
        if e.file_name().to_string_lossy().starts_with('.') && e.path().join("cur").is_dir() {
            dirs.push(e.path());
        }
    }
    for dir in dirs {
        check_folder(&dir);
    }
}

fn base(name: &str) -> &str {
    name.split_once(':').map_or(name, |(b, _)| b)
}

fn check_folder(dir: &Path) {
    let tmp: Vec<_> = std::fs::read_dir(dir.join("tmp")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(tmp.is_empty(), "{}: files left in tmp/: {tmp:?}", dir.display());
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        for e in std::fs::read_dir(dir.join(sub)).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                files.push(name);
            }
        }
    }
    if !dir.join("dovecot-uidlist").exists() && !files.is_empty() {
        // Files not numbered yet (RENAME INBOX moves them into a new folder): legal, the
        // first sync numbers them, so do that and check its work.
        let base = dir.file_name().unwrap().to_string_lossy().into_owned();
        let name = base.strip_prefix('.').map_or("INBOX".to_string(), str::to_string);
        let root = dir.parent().unwrap();
        Store::open(root).and_then(|s| s.folder(&name)).and_then(|f| f.sync(true)).unwrap_or_else(|e| panic!("{}: sync: {e}", dir.display()));
    }
    let list = match std::fs::read_to_string(dir.join("dovecot-uidlist")) {
        Ok(l) => l,
        Err(_) => {
            assert!(files.is_empty(), "{}: messages {files:?} but no dovecot-uidlist", dir.display());
            return;
        }
    };
    let mut lines = list.lines();
    let header = lines.next().unwrap_or_default();
    // N (next UID) may lag behind lines appended since (Dovecot appends lines without
    // rewriting the header too), so it is only checked to be there.
    assert!(header.split(' ').any(|f| f.strip_prefix('N').is_some_and(|n| n.parse::<u32>().is_ok())), "{}: uidlist header without N: {header:?}", dir.display());
    let mut uids = HashSet::new();
    let mut by_base: HashMap<String, u32> = HashMap::new();
    for l in lines {
        let uid: u32 = l.split(' ').next().and_then(|u| u.parse().ok()).unwrap_or_else(|| panic!("{}: bad uidlist line {l:?}", dir.display()));
        let file = l.split_once(" :").or_else(|| l.split_once(':')).map(|(_, f)| f).unwrap_or_else(|| panic!("{}: uidlist line without file {l:?}", dir.display()));
        assert!(uid > 0, "{}: UID 0: {list}", dir.display());
        assert!(uids.insert(uid), "{}: UID {uid} listed twice: {list}", dir.display());
        assert!(by_base.insert(base(file).to_string(), uid).is_none(), "{}: file {file} listed twice: {list}", dir.display());
    }
    let mut seen = HashSet::new();
    for f in &files {
        assert!(seen.insert(base(f)), "{}: one message twice on disk ({f}): {files:?}", dir.display());
        assert!(by_base.contains_key(base(f)), "{}: file {f} has no UID: {list}", dir.display());
    }
}
