//! Large messages live in body files beside the sled envelopes (`data/queue/bodies/<id>`):
//! acknowledged ones survive kill -9 whole and are delivered byte for byte (dot-stuffing
//! streamed); refused or delivered ones leave no file; a body file without an envelope (the
//! daemon killed mid-DATA) is removed at start; and a queue written by the previous
//! release (bodies inside sled) is migrated at start and delivered.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use support::peers::free_port;
use support::rcv::Receiver;
use support::server::wait_log;
use support::{Dialog, TestServer};

/// A message of about `size` bytes, different for each `n`, with lines that start with a
/// dot (sent stuffed as `..`). Returns (what goes on the wire after DATA, what it means).
fn message(n: usize, size: usize) -> (String, String) {
    let mut plain = format!("From: <sender@example.org>\r\nTo: <rcpt@example.net>\r\nSubject: big {n}\r\n\r\n");
    let mut line = 0;
    while plain.len() < size {
        if line % 1000 == 7 {
            plain.push_str(&format!(".dot line {line} of message {n}\r\n"));
        } else {
            plain.push_str(&format!("{n:04} {line:08} {}\r\n", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV"));
        }
        line += 1;
    }
    let wire = plain.replace("\r\n.", "\r\n..");
    (wire, plain)
}

fn body_files(server: &TestServer) -> Vec<PathBuf> {
    let dir = server.dir().join("data/queue/bodies");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Routes everything to a smarthost on `port` of 127.0.0.1, retried hourly: mail stays
/// queued until a receiver listens there and the test says `queue retry --all`.
fn server_with_smarthost(port: u16) -> support::server::ServerBuilder {
    TestServer::builder()
        .park_delivery()
        .list("delivery.smarthost", &[&format!("[127.0.0.1]:{port}")])
        .set("limits.message_size", 30_000_000)
}

#[test]
fn large_messages_survive_kill_9_and_are_delivered_byte_for_byte() {
    const CLIENTS: usize = 6;
    const SIZE: usize = 3_000_000;
    let port = free_port();
    let mut server = server_with_smarthost(port).start();
    let addr = server.smtp();
    let sent: Vec<(String, String)> = (0..CLIENTS)
        .map(|n| {
            thread::spawn(move || {
                let (wire, plain) = message(n, SIZE);
                let mut d = Dialog::connect(addr);
                d.ehlo();
                (d.send_mail("sender@example.org", &["rcpt@example.net"], &wire), plain)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    // One small message too: it stays inline in sled.
    let mut d = Dialog::connect(addr);
    d.ehlo();
    let small_id = d.send_mail("sender@example.org", &["rcpt@example.net"], "Subject: small\r\n\r\nsmall\r\n");
    drop(d);

    server.kill9();
    let files = body_files(&server);
    assert_eq!(files.len(), CLIENTS, "one body file per large message: {files:?}");
    for (id, plain) in &sent {
        let f = server.dir().join("data/queue/bodies").join(id);
        let len = std::fs::metadata(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())).len();
        assert_eq!(len, plain.len() as u64, "body file of {id} holds the message as received");
    }
    let raw = server.cli(&["queue", "show", "--raw", &sent[0].0], b"");
    assert!(raw.status.success(), "queue show --raw with the daemon stopped");
    assert!(raw.stdout.ends_with(sent[0].1.as_bytes()), "queue show --raw prints head + body file");

    server.spawn();
    let rcv = Receiver::start_on("127.0.0.1", port, &[]);
    server.cli_ok(&["queue", "retry", "--all"], "");
    let got = rcv.wait_messages(CLIENTS + 1, Duration::from_secs(60), &server);
    for (id, plain) in &sent {
        let m = got
            .iter()
            .find(|m| String::from_utf8_lossy(&m.content()).contains(&format!("id {id}")))
            .unwrap_or_else(|| panic!("message {id} not delivered"));
        let content = m.content();
        assert!(content.ends_with(plain.as_bytes()), "message {id} delivered byte for byte after its Received header");
        assert!(content.len() < plain.len() + 2000, "only the trace header was added");
    }
    assert!(got.iter().any(|m| String::from_utf8_lossy(&m.content()).contains(&format!("id {small_id}"))));
    server.wait_queue(Duration::from_secs(30), |q| q.is_empty());
    assert!(body_files(&server).is_empty(), "delivered messages leave no body file: {:?}", body_files(&server));
}

#[test]
fn refused_and_interrupted_messages_leave_no_file() {
    let port = free_port();
    let mut server = server_with_smarthost(port).set("limits.message_size", 2_000_000).start();
    // Over the limit: 552 at the end of DATA, and the partial file is gone.
    let (wire, _) = message(1, 3_000_000);
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<sender@example.org>", 250);
    d.expect("RCPT TO:<rcpt@example.net>", 250);
    d.expect("DATA", 354);
    d.send(wire.as_bytes());
    d.cmd(".").assert(552, "5.3.4");
    assert!(body_files(&server).is_empty(), "{:?}", body_files(&server));
    // The session goes on.
    d.send_mail("sender@example.org", &["rcpt@example.net"], "Subject: after\r\n\r\nok\r\n");
    drop(d);

    // A client that disconnects mid-DATA: the partial file goes with the session.
    let mut s = TcpStream::connect(server.smtp()).unwrap();
    let mut greeting = [0u8; 512];
    let _ = s.read(&mut greeting).unwrap();
    s.write_all(b"EHLO c\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    s.write_all(&wire.as_bytes()[..1_000_000]).unwrap();
    thread::sleep(Duration::from_millis(500));
    assert_eq!(body_files(&server).len(), 1, "the message being received is written as it arrives");
    drop(s);
    support::wait::until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || body_files(&server),
        |f| f.is_empty(),
        |f| format!("partial body file left after the client went away: {f:?}"),
    );

    // kill -9 mid-DATA leaves a partial file: removed at the next start; a stray file too.
    let mut s = TcpStream::connect(server.smtp()).unwrap();
    let _ = s.read(&mut greeting).unwrap();
    s.write_all(b"EHLO c\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    s.write_all(&wire.as_bytes()[..1_000_000]).unwrap();
    thread::sleep(Duration::from_millis(500));
    server.kill9();
    drop(s);
    assert_eq!(body_files(&server).len(), 1, "partial file after kill -9");
    std::fs::write(server.dir().join("data/queue/bodies/STRAY"), b"x").unwrap();
    server.spawn();
    wait_log(&server, &["removed queue body files without an envelope", "files=2"], Duration::from_secs(10));
    assert!(body_files(&server).is_empty(), "{:?}", body_files(&server));
    assert_eq!(server.queue_json().len(), 1, "the accepted small message is still queued");
}

/// A queue written by the release before body files (tests/fixtures/queue-v0: a 1 KiB and
/// a 300 KB message, parked) opens, is migrated, and delivers both unchanged.
#[test]
fn queue_of_the_previous_release_is_migrated() {
    let port = free_port();
    // The fixture's messages grow older every day: no delay notice and no expiry may
    // join them in the queue.
    let mut server = server_with_smarthost(port)
        .set("delivery.delay_notice", "3650d")
        .set("delivery.lifetime", "3650d")
        .prepare();
    copy_dir(Path::new("tests/fixtures/queue-v0"), &server.dir().join("data/queue"));
    server.spawn();
    wait_log(&server, &["migrated queue bodies to the current format", "messages=2"], Duration::from_secs(10));
    let listed = server.queue_json();
    assert_eq!(listed.len(), 2, "both messages listed after migration");
    let rcv = Receiver::start_on("127.0.0.1", port, &[]);
    server.cli_ok(&["queue", "retry", "--all"], "");
    let got = rcv.wait_messages(2, Duration::from_secs(30), &server);
    let mut sizes: Vec<usize> = got.iter().map(|m| m.content().len()).collect();
    sizes.sort();
    let mut expect: Vec<usize> = listed.iter().map(|m| m.size as usize).collect();
    expect.sort();
    assert_eq!(sizes, expect, "delivered sizes are the stored sizes");
    for m in &got {
        let text = String::from_utf8_lossy(&m.content()).into_owned();
        assert!(text.contains("Subject: made by the previous release"), "{}", &text[..text.len().min(500)]);
        assert!(text.trim_end().ends_with("end of message"), "body intact");
    }
    server.wait_queue(Duration::from_secs(30), |q| q.is_empty());
    // Stopped and started again: nothing left to migrate, nothing delivered twice.
    server.stop();
    server.spawn();
    assert!(server.queue_json().is_empty());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The HTTP raw route streams too: a large message that turns out not to be one (no header
/// field first) gets 400 and leaves no file; a good one is queued with its body file.
#[test]
fn http_raw_route_streams_and_cleans_up() {
    const TOKEN: &str = "queue-bodies-send-token-0123456789abcdef";
    let server = TestServer::builder().park_delivery().list("http.tokens", &[TOKEN]).set("http.rate_limit", 0).set("http.body_limit", 10_000_000).start();
    let url = format!("http://{}/v1/messages?mail_from=a@example.org&rcpt_to=b@example.net", server.addr("http"));
    let post = |body: &str| {
        let path = server.dir().join("post.eml");
        std::fs::write(&path, body).unwrap();
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", &format!("Authorization: Bearer {TOKEN}")])
            .args(["-H", "Content-Type: message/rfc822", "--data-binary"])
            .arg(format!("@{}", path.display()))
            .arg(&url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let not_a_message = "just text, no header field\n".repeat(20_000);
    assert_eq!(post(&not_a_message), "400");
    assert!(body_files(&server).is_empty(), "{:?}", body_files(&server));
    let (_, plain) = message(7, 500_000);
    assert_eq!(post(&plain.replace("\r\n", "\n")), "202");
    assert_eq!(body_files(&server).len(), 1, "the posted message has its body file");
}
