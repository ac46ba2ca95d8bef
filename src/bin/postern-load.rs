//! postern-load: SMTP load generator for the relay benchmark (`scripts/bench-relay`).
//!
//! Owns: driving N parallel SMTP sessions the way Postfix's `smtp-source` does (one
//! command at a time, no pipelining unless asked; `-d` keeps the connection for the next
//! message), timing each message from the end of DATA to its 250 (accept latency), and
//! holding many idle sessions open (`--idle`) for the connection-count benchmark.
//! Replies are read with postern's own `smtp::parse_reply`.
//! Must not touch: anything but loopback (the target is checked).
use clap::Parser;
use postern::proto::smtp::{Reply, parse_reply};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Parser, Debug, Clone)]
#[command(about = "SMTP load generator (smtp-source compatible options) with accept-latency percentiles")]
struct Args {
    /// Server to send to (loopback only).
    #[arg(default_value = "127.0.0.1:2525")]
    target: SocketAddr,
    /// Sessions in parallel.
    #[arg(short = 's', long, default_value_t = 1)]
    sessions: usize,
    /// Messages in total.
    #[arg(short = 'm', long, default_value_t = 1000)]
    messages: usize,
    /// Body length in bytes (headers not included), like smtp-source -l.
    #[arg(short = 'l', long, default_value_t = 1024)]
    length: usize,
    /// Keep the connection for the next message (smtp-source -d).
    #[arg(short = 'd', long)]
    reuse: bool,
    /// Send MAIL, RCPT and DATA in one write (RFC 2920) instead of one at a time.
    #[arg(long)]
    pipeline: bool,
    #[arg(short = 'f', long, default_value = "a@example.com")]
    from: String,
    #[arg(short = 't', long, default_value = "b@example.net")]
    to: String,
    /// Local source addresses to spread connections over (e.g. 127.0.0.2,127.0.0.3).
    #[arg(long, value_delimiter = ',')]
    source: Vec<IpAddr>,
    /// Open this many sessions (greeting + EHLO) and hold them instead of sending mail.
    #[arg(long)]
    idle: Option<usize>,
    /// With --idle: how long to hold the sessions (until stdin closes when not given).
    #[arg(long)]
    hold: Option<humantime::Duration>,
}

/// Per-message accept latencies and error count of one session task.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(target: SocketAddr, source: Option<IpAddr>) -> io::Result<Client> {
        let sock = if target.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(ip) = source {
            sock.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = sock.connect(target).await?;
        stream.set_nodelay(true)?;
        let mut c = Client { stream, buf: Vec::with_capacity(1024) };
        c.expect(220).await?;
        Ok(c)
    }

    async fn reply(&mut self) -> io::Result<Reply> {
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((r, n))) => {
                    self.buf.drain(..n);
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn expect(&mut self, code: u16) -> io::Result<Reply> {
        let r = self.reply().await?;
        if r.code != code {
            return Err(io::Error::other(format!("expected {code}, got {r}")));
        }
        Ok(r)
    }

    async fn command(&mut self, line: &str, code: u16) -> io::Result<Reply> {
        self.stream.write_all(line.as_bytes()).await?;
        self.expect(code).await
    }

    /// One message; returns the time from the end of DATA to the 250.
    async fn send(&mut self, args: &Args, body: &[u8]) -> io::Result<Duration> {
        let (mail, rcpt) = (format!("MAIL FROM:<{}>\r\n", args.from), format!("RCPT TO:<{}>\r\n", args.to));
        if args.pipeline {
            self.stream.write_all(format!("{mail}{rcpt}DATA\r\n").as_bytes()).await?;
            self.expect(250).await?;
            self.expect(250).await?;
            self.expect(354).await?;
        } else {
            self.command(&mail, 250).await?;
            self.command(&rcpt, 250).await?;
            self.command("DATA\r\n", 354).await?;
        }
        self.stream.write_all(body).await?;
        let sent = Instant::now();
        self.expect(250).await?;
        Ok(sent.elapsed())
    }
}

/// Headers like smtp-source's, then `length` bytes in 78-octet lines, then the terminator.
fn message(args: &Args) -> Vec<u8> {
    let mut m = format!(
        "From: <{}>\r\nTo: <{}>\r\nSubject: postern-load\r\nMessage-Id: <{}@postern-load>\r\n\r\n",
        args.from,
        args.to,
        std::process::id()
    )
    .into_bytes();
    let line = [b'x'; 76];
    let mut left = args.length;
    while left > 0 {
        let n = left.min(78).saturating_sub(2).max(1);
        m.extend_from_slice(&line[..n]);
        m.extend_from_slice(b"\r\n");
        left = left.saturating_sub(n + 2);
    }
    m.extend_from_slice(b".\r\n");
    m
}

async fn session(args: Arc<Args>, body: Arc<Vec<u8>>, next: Arc<AtomicUsize>, index: usize) -> Tally {
    let mut tally = Tally::default();
    let source = (!args.source.is_empty()).then(|| args.source[index % args.source.len()]);
    let mut conn: Option<Client> = None;
    while next.fetch_add(1, Ordering::Relaxed) < args.messages {
        let result = async {
            if conn.is_none() {
                let mut c = Client::connect(args.target, source).await?;
                c.command("EHLO postern-load.example\r\n", 250).await?;
                conn = Some(c);
            }
            let c = conn.as_mut().expect("connected above");
            let latency = c.send(&args, &body).await?;
            if !args.reuse {
                let mut c = conn.take().expect("connected above");
                c.command("QUIT\r\n", 221).await?;
            }
            io::Result::Ok(latency)
        }
        .await;
        match result {
            Ok(l) => tally.latencies.push(l),
            Err(e) => {
                if tally.errors == 0 {
                    eprintln!("postern-load: session {index}: {e}");
                }
                tally.errors += 1;
                conn = None;
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = c.command("QUIT\r\n", 221).await;
    }
    tally
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn send_mail(args: Arc<Args>) -> bool {
    let body = Arc::new(message(&args));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.sessions.max(1))
        .map(|i| tokio::spawn(session(args.clone(), body.clone(), next.clone(), i)))
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.expect("session task");
        all.latencies.extend(t.latencies);
        all.errors += t.errors;
    }
    let secs = started.elapsed().as_secs_f64();
    all.latencies.sort();
    let ok = all.latencies.len();
    println!(
        "sessions={} messages={} length={} reuse={} accepted={ok} errors={} secs={secs:.3} msgs_per_s={:.0} \
         p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        args.sessions,
        args.messages,
        args.length,
        u8::from(args.reuse),
        all.errors,
        ok as f64 / secs,
        percentile(&all.latencies, 0.5),
        percentile(&all.latencies, 0.9),
        percentile(&all.latencies, 0.99),
        percentile(&all.latencies, 1.0),
    );
    all.errors == 0
}

/// Opens `n` sessions (greeting + EHLO), reports, and holds them.
async fn idle(args: Arc<Args>, n: usize) -> bool {
    let started = Instant::now();
    let mut open = Vec::with_capacity(n);
    let mut failed = 0;
    // Batches keep the SYN backlog of the server from overflowing.
    for batch in (0..n).collect::<Vec<_>>().chunks(200) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|&i| {
                let source = (!args.source.is_empty()).then(|| args.source[i % args.source.len()]);
                let target = args.target;
                tokio::spawn(async move {
                    let mut c = Client::connect(target, source).await?;
                    c.command("EHLO postern-load.example\r\n", 250).await?;
                    io::Result::Ok(c)
                })
            })
            .collect();
        for t in tasks {
            match t.await.expect("connect task") {
                Ok(c) => open.push(c),
                Err(e) => {
                    if failed == 0 {
                        eprintln!("postern-load: idle connect: {e}");
                    }
                    failed += 1;
                }
            }
        }
    }
    println!("idle_open={} failed={failed} secs={:.2}", open.len(), started.elapsed().as_secs_f64());
    match args.hold {
        Some(d) => tokio::time::sleep(d.into()).await,
        None => {
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
        }
    }
    // Still open after the hold: any session the server dropped would read EOF here.
    let mut alive = 0;
    for mut c in open {
        if c.command("NOOP\r\n", 250).await.is_ok() {
            alive += 1;
        }
    }
    println!("idle_alive={alive}");
    failed == 0
}

/// Lets one process hold more sockets than the default soft limit of 1024.
fn raise_fd_limit() {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a stack struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn main() {
    let args = Arc::new(Args::parse());
    if !args.target.ip().is_loopback() || args.source.iter().any(|s| !s.is_loopback()) {
        eprintln!("postern-load: only loopback addresses are allowed");
        std::process::exit(2);
    }
    raise_fd_limit();
    // One thread, like smtp-source: the generator should not take both cores.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let ok = match args.idle {
        Some(n) => rt.block_on(idle(args.clone(), n)),
        None => rt.block_on(send_mail(args.clone())),
    };
    std::process::exit(if ok { 0 } else { 1 });
}
