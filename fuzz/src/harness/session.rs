//! Whole SMTP sessions: arbitrary client bytes into `Session::run` over an in-memory
//! stream, with a real sled queue, DKIM signing and the production config loader.
//!
//! Checks: the session ends (EOF is always reached), everything the server wrote is a
//! sequence of well-formed replies, every `250 ... queued as ID` names a message that is
//! in the queue and every queued message was acknowledged that way, and no stored
//! message contains a bare CR or LF (SMTP smuggling) under the default
//! `limits.bare_newline = "normalize"` (lines may be of any length: Postfix accepts them).
//!
//! Input: a flags byte (bit 0: untrusted client, bit 1: submission listener, bits 2-3:
//! how the bytes are split into writes), then the client's bytes. `POSTERN_FUZZ_DEBUG=1`
//! prints both sides of each conversation.
use postern::config::{ListenerKind, load_with_env};
use postern::directory::Directory;
use postern::server::smtp::conn::Conn;
use postern::server::smtp::session::Session;
use postern::app::Services;
use postern::net::tls;
use postern::queue::{Queue, QueueId};
use postern::proto::smtp::{Reply, parse_reply};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "mx.fuzz.example";

struct Env {
    rt: tokio::runtime::Runtime,
    ctx: Arc<Services>,
    _stop: tokio::sync::watch::Sender<bool>,
}

fn config_text(dir: &std::path::Path, key: &std::path::Path) -> String {
    format!(
        r#"[server]
hostname = "{HOST}"
data_dir = "{data}"
[users]
file = "{data}/users.toml"
[limits]
message_size = 2000
recipients = 5
command_timeout = "5s"
session_timeout = "30s"
[relay]
local_domains = ["example.com", "fuzz.example"]
trusted_networks = ["127.0.0.0/8"]
[inbound]
checks = false
[http]
bind = ""
[[dkim]]
domain = "example.com"
selector = "fuzz"
key = "{key}"
"#,
        data = dir.display(),
        key = key.display()
    )
}

/// Built once per process: the daemon's context over a queue in a scratch dir (tmpfs when
/// available, so the flush before every 250 stays cheap).
fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = super::scratch_dir("postern-fuzz-session");
        let key = postern::dkim::keygen("example.com", "fuzz", postern::dkim::Algorithm::Ed25519, &dir)
            .expect("dkim keygen");
        let path = dir.join("postern.toml");
        std::fs::write(&path, config_text(&dir, &key.path)).expect("write config");
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
        Env { rt, ctx, _stop: stop }
    })
}

pub fn run(data: &[u8]) {
    let (f, input) = super::flags(data);
    let env = env();
    let peer: SocketAddr = if f & 1 == 0 { "127.0.0.1:40000" } else { "192.0.2.7:40000" }.parse().unwrap();
    let kind = if f & 2 == 0 { ListenerKind::Smtp } else { ListenerKind::Submission };
    let chunk = [usize::MAX, 1, 7, 64][usize::from((f >> 2) & 3)];
    let output = env.rt.block_on(converse(env.ctx.clone(), kind, peer, input, chunk));
    if std::env::var_os("POSTERN_FUZZ_DEBUG").is_some() {
        eprintln!("--- client ({kind:?}, {peer}):\n{}--- server:\n{}", String::from_utf8_lossy(input), String::from_utf8_lossy(&output));
    }
    let acked = check_replies(&output);
    env.rt.block_on(check_queue(&env.ctx.queue, acked));
}

/// Runs one session to its end; returns everything the server wrote.
async fn converse(ctx: Arc<Services>, kind: ListenerKind, peer: SocketAddr, input: &[u8], chunk: usize) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (mut rd, mut wr) = tokio::io::split(client);
    let deadline = tokio::time::Instant::now() + ctx.config.limits.session_timeout.get();
    let mut conn = Conn::new(server, ctx.config.limits.command_timeout.get(), deadline);
    conn.watch_shutdown(ctx.shutdown.clone());
    conn.reply(&Reply::greeting(HOST));
    let mut session = Session::new(ctx, kind, peer);
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
        let _ = session.run(&mut conn).await;
        let _ = conn.flush().await;
        drop(conn);
    };
    let limit = Duration::from_secs(20);
    let ((), out, ()) = tokio::time::timeout(limit, async { tokio::join!(writer, reader, server) })
        .await
        .expect("session did not end after the client's EOF");
    out
}

/// Every byte the server wrote belongs to a well-formed reply; returns the queue ids acked.
fn check_replies(mut out: &[u8]) -> Vec<QueueId> {
    let mut acked = Vec::new();
    let mut first = true;
    while !out.is_empty() {
        let (reply, used) = match parse_reply(out) {
            Ok(Some(r)) => r,
            other => panic!("server wrote something that is not a reply ({other:?}): {:?}", String::from_utf8_lossy(out)),
        };
        assert!(!first || reply.code == 220, "first reply is not the greeting: {reply}");
        first = false;
        if reply.code >= 400 {
            assert!(reply.status.is_some(), "error reply without enhanced status: {reply}");
        }
        if let Some(id) = reply.lines.last().and_then(|l| l.strip_prefix("Ok: queued as ")) {
            assert_eq!(reply.code, 250);
            acked.push(QueueId::parse(id).unwrap_or_else(|| panic!("bad queue id in {reply}")));
        }
        out = &out[used..];
    }
    acked
}

/// Acked == queued, stored bodies are clean; then empties the queue for the next input.
async fn check_queue(queue: &Queue, mut acked: Vec<QueueId>) {
    let mut stored: Vec<QueueId> = queue.list().expect("queue list").into_iter().map(|e| e.id).collect();
    for id in &stored {
        let body = queue.body(id).expect("queue body").expect("listed message has a body").to_vec().expect("body readable");
        check_body(&body);
        queue.remove_lazy(id).await.expect("remove");
    }
    acked.sort_by(|a, b| a.0.cmp(&b.0));
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(acked, stored, "acknowledged messages != queued messages");
}

fn check_body(body: &[u8]) {
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(body.get(i + 1), Some(&b'\n'), "stored message has a bare CR at {i}"),
            b'\n' => assert!(i > 0 && body[i - 1] == b'\r', "stored message has a bare LF at {i}"),
            _ => {}
        }
    }
}
