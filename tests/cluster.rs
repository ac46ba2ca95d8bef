//! Three postern nodes (127.0.0.2, .3, .4) sharing one private Redis and one private
//! PostgreSQL directory, as docs/scaling.md describes:
//! - `limits.sender_rate = "30/m"`: a client rotating between the nodes gets exactly 30
//!   messages accepted; AUTH lockout reached on node A applies on node B;
//! - `concurrency_per_destination = 2` holds across the nodes at a slow sink;
//! - a mailbox created through node A's admin API is accepted at RCPT on node C;
//! - `postern cluster status` lists the three nodes;
//! - Redis killed mid-run: mail is still accepted and delivered, shared limits come back
//!   with Redis;
//! - a node killed with kill -9: its queue moves to another node with `queue export` /
//!   `queue import`, and every message reaches the sink exactly once;
//! - `postern drain` closes the listeners, delivers the queue and exits.
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::config::CERT_FILE;
use support::peers::free_port;
use support::pg::Postgres;
use support::rcv::{Receiver, SmtpSink};
use support::redis::Redis;
use support::server::{ServerBuilder, wait_log};
use support::{Dialog, TestServer};
use toml::Value;

const ADMIN: &str = "cluster-admin-token-0123456789abcdef0123456789";
const NODES: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

/// A node on `ip`: smtp, submission and HTTP there, the shared Redis and directory, mail
/// relayed to the smarthost `sink` (127.0.0.1).
fn node(ip: &str, name: &str, redis: &str, directory: &str, sink: u16) -> ServerBuilder {
    let listener = |kind: &str| {
        let mut t = toml::Table::new();
        t.insert("bind".into(), format!("{ip}:0").into());
        t.insert("kind".into(), kind.into());
        Value::Table(t)
    };
    let mut route = toml::Table::new();
    route.insert("match".into(), "*".into());
    route.insert("transport".into(), "smarthost".into());
    TestServer::builder()
        .set("listener", Value::Array(vec![listener("smtp"), listener("submission")]))
        .set("http.bind", format!("{ip}:0"))
        .list("http.admin_tokens", &[ADMIN])
        .set("http.rate_limit", 0)
        .set("cluster.redis", redis)
        .set("cluster.node", name)
        .set("directory.backend", "postgres")
        .set("directory.url", directory)
        .set("directory.cache_ttl", "1s")
        .list("relay.local_domains", &["example.com"])
        .list("delivery.smarthost", &[&format!("[127.0.0.1]:{sink}")])
        .set("delivery.tls", "none")
        .set("delivery.retry_initial", "2s")
        .set("delivery.retry_max", "4s")
        .set("delivery.concurrency_per_destination", 2)
        .set("limits.sender_rate", "30/m")
        .set("limits.auth_failures", 3)
        .set("route", Value::Array(vec![Value::Table(route)]))
}

struct Cluster {
    redis: Redis,
    pg: Postgres,
    url: String,
    nodes: Vec<TestServer>,
}

fn cluster(sink: u16) -> Cluster {
    let redis = Redis::start();
    let pg = Postgres::start();
    let url = pg.create_db("mail");
    let mut nodes: Vec<TestServer> = Vec::new();
    for (i, ip) in NODES.iter().enumerate() {
        let name = ["node-a", "node-b", "node-c"][i];
        nodes.push(node(ip, name, &redis.url(), &url, sink).prepare());
    }
    // The shared directory: one domain and alice, created once through node A's CLI.
    nodes[0].cli_ok(&["domain", "add", "example.com"], "");
    nodes[0].cli_ok(&["mailbox", "add", "alice@example.com"], "alice-password");
    for n in &mut nodes {
        n.spawn();
    }
    Cluster { redis, pg, url, nodes }
}

/// One message over submission with STARTTLS + AUTH as alice; the reply code to DATA's end
/// (or MAIL's, when it is refused there).
fn submit(addr: SocketAddr, cert: &Path, n: usize) -> u16 {
    let mut d = Dialog::connect(addr);
    d.ehlo();
    d.starttls(cert);
    d.ehlo();
    d.auth_plain("alice@example.com", "alice-password").assert(235, "2.7.0");
    let mail = d.cmd("MAIL FROM:<alice@example.com>");
    if mail.code != 250 {
        return mail.code;
    }
    d.expect("RCPT TO:<bob@example.net>", 250);
    d.expect("DATA", 354);
    d.send(format!("Subject: rate {n}\r\n\r\nmessage {n}\r\n").as_bytes());
    d.cmd(".").code
}

#[test]
fn three_nodes_share_limits_directory_and_queues() {
    let sink = Receiver::start(&[]);
    let mut c = cluster(sink.addr.port());
    // Each node has its own test certificate.
    let cert = |i: usize| c.nodes[i].dir().join(CERT_FILE);

    // cluster status: every node's heartbeat.
    let status = support::wait::until(
        Duration::from_secs(15),
        Duration::from_millis(500),
        || c.nodes[0].cli_ok(&["cluster", "status"], ""),
        |s| s.contains("3 node(s)"),
        |s| format!("cluster status:\n{s}"),
    );
    println!("$ postern cluster status\n{status}");
    for (i, name) in ["node-a", "node-b", "node-c"].iter().enumerate() {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} missing:\n{status}"));
        assert!(line.contains(" up ") && line.ends_with(&c.nodes[i].addr("http").to_string()), "{line}");
    }

    // sender_rate 30/m across the nodes: exactly 30 of 45 accepted.
    let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
    for n in 0..45 {
        *codes.entry(submit(c.nodes[n % 3].submission(), &cert(n % 3), n)).or_default() += 1;
    }
    println!("sender_rate 30/m, 45 messages rotated over 3 nodes: {codes:?}");
    assert_eq!(codes.get(&250), Some(&30), "{codes:?}");
    assert_eq!(codes.get(&450), Some(&15), "{codes:?}");
    let got = sink.wait_messages(30, Duration::from_secs(60), &c.nodes[0]);
    assert_eq!(got.len(), 30, "30 accepted, 30 delivered");

    // AUTH lockout: 3 failures on node A, then node B refuses at once.
    for _ in 0..3 {
        let mut d = Dialog::connect(c.nodes[0].submission());
        d.ehlo();
        d.starttls(&cert(0));
        d.ehlo();
        let r = d.auth_plain("alice@example.com", "wrong");
        assert!(r.code == 535 || r.code == 421, "{r:?}");
    }
    let mut d = Dialog::connect(c.nodes[1].submission());
    d.ehlo();
    d.starttls(&cert(1));
    d.ehlo();
    let r = d.auth_plain("alice@example.com", "alice-password");
    assert_eq!(r.code, 421, "lockout from node A holds on node B: {r:?}");
    c.redis.cli(&["DEL", "postern:authfail:127.0.0.1"]);

    // A mailbox created through node A's admin API is known at RCPT on node C.
    let body = r#"{"address":"carol@example.com","password":"carol-password-1"}"#;
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", &format!("Authorization: Bearer {ADMIN}")])
        .args(["-H", "Content-Type: application/json", "--data", body])
        .arg(format!("http://{}/v1/admin/mailboxes", c.nodes[0].addr("http")))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "201");
    let accepted = support::wait::until(
        Duration::from_secs(5),
        Duration::from_millis(200),
        || {
            let mut d = Dialog::connect(c.nodes[2].smtp());
            d.ehlo();
            d.expect("MAIL FROM:<x@example.org>", 250);
            d.cmd("RCPT TO:<carol@example.com>").code
        },
        |code| *code == 250,
        |code| format!("RCPT carol on node C: {code}"),
    );
    assert_eq!(accepted, 250);

    // Vacation: two messages to alice through two nodes get one reply.
    let body_file = c.nodes[0].dir().join("away.txt");
    std::fs::write(&body_file, "I am away.\n").unwrap();
    c.nodes[0].cli_ok(&["vacation", "set", "alice@example.com", "--subject", "Away", "--body-file", body_file.to_str().unwrap()], "");
    for i in [0, 1] {
        let mut d = Dialog::connect(c.nodes[i].smtp());
        d.ehlo();
        d.send_mail("bob@remote.example", &["alice@example.com"], &format!("From: <bob@remote.example>\r\nTo: <alice@example.com>\r\nSubject: hi {i}\r\n\r\nhello\r\n"));
    }
    let replies = |sink: &Receiver| sink.messages().iter().filter(|m| (m.mail_from.is_empty() || m.mail_from == "<>") && m.rcpt_tos.iter().any(|r| r == "bob@remote.example")).count();
    support::wait::until(Duration::from_secs(20), Duration::from_millis(200), || replies(&sink), |n| *n >= 1, |n| format!("{n} vacation replies\n{}", c.nodes[0].log_text().lines().filter(|l| l.contains("vacation") || l.contains("remote.example")).collect::<Vec<_>>().join("\n")));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(replies(&sink), 1, "one vacation reply for two messages through two nodes");
    c.nodes[0].cli_ok(&["vacation", "off", "alice@example.com"], "");

    // Redis killed: mail is still accepted and delivered; shared limits return with it.
    c.redis.stop();
    let before = sink.messages().len();
    let mut d = Dialog::connect(c.nodes[1].smtp());
    d.ehlo();
    for n in 0..5 {
        d.send_mail("sender@example.org", &["bob@example.net"], &format!("Subject: no redis {n}\r\n\r\nx\r\n"));
    }
    drop(d);
    sink.wait_messages(before + 5, Duration::from_secs(30), &c.nodes[1]);
    wait_log(&c.nodes[1], &["Redis unavailable"], Duration::from_secs(5));
    c.redis.start_again();
    let mut d = Dialog::connect(c.nodes[1].smtp());
    d.ehlo();
    d.send_mail("sender@example.org", &["bob@example.net"], "Subject: redis back\r\n\r\nx\r\n");
    drop(d);
    wait_log(&c.nodes[1], &["Redis is back"], Duration::from_secs(10));
    let keys = c.redis.cli(&["KEYS", "postern:*"]);
    assert!(keys.contains("postern:node:"), "heartbeats written again: {keys}");

    // kill -9 node B with mail it could not deliver yet; its queue moves to node C.
    let parked_port = free_port();
    c.nodes[1].kill9();
    let b_config = std::fs::read_to_string(c.nodes[1].config_path()).unwrap();
    let parked = b_config.replace(&format!("[127.0.0.1]:{}", sink.addr.port()), &format!("[127.0.0.1]:{parked_port}"));
    std::fs::write(c.nodes[1].config_path(), parked).unwrap();
    c.nodes[1].spawn();
    let mut d = Dialog::connect(c.nodes[1].smtp());
    d.ehlo();
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(d.send_mail("sender@example.org", &[&format!("moved{n}@example.net")], &format!("Subject: moved {n}\r\n\r\nx\r\n")));
    }
    drop(d);
    c.nodes[1].kill9();
    let export = c.nodes[1].dir().join("export");
    let out = c.nodes[1].cli(&["queue", "export", export.to_str().unwrap()], b"");
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 6 messages"));
    c.nodes[2].stop();
    let out = c.nodes[2].cli(&["queue", "import", export.to_str().unwrap()], b"");
    assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("imported 6 messages"), "{}", String::from_utf8_lossy(&out.stderr));
    c.nodes[2].spawn();
    let start = Instant::now();
    loop {
        let got: Vec<String> = sink.messages().iter().flat_map(|m| m.rcpt_tos.clone()).filter(|r| r.starts_with("moved")).collect();
        if got.len() >= 6 {
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), got.len(), "delivered exactly once: {got:?}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "moved messages delivered: {got:?}\n{}", c.nodes[2].log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(c.nodes[1].queue_json().is_empty(), "node B's queue is empty after the export");

    // drain node A: listeners close, it exits on its own once its queue is empty.
    let smtp_a = c.nodes[0].smtp();
    let out = c.nodes[0].cli(&["drain", "--timeout", "30s"], b"");
    assert!(out.status.success(), "drain: {}", String::from_utf8_lossy(&out.stderr));
    assert!(std::net::TcpStream::connect_timeout(&smtp_a, Duration::from_secs(1)).is_err(), "listener closed");
    wait_log(&c.nodes[0], &["drain finished"], Duration::from_secs(5));
    let _ = &c.url;
    let _ = &c.pg;
}

/// `concurrency_per_destination = 2` across three nodes: never more than two connections
/// open at the (slow) sink, every message delivered.
#[test]
fn destination_connection_limit_holds_across_nodes() {
    let port = free_port();
    let sink = SmtpSink::start_on("127.0.0.1", port, &["-w", "1"]);
    let c = cluster(port);
    let watcher = std::thread::spawn(move || {
        let mut max = 0;
        let until = Instant::now() + Duration::from_secs(90);
        while Instant::now() < until {
            max = max.max(established_to(port));
            std::thread::sleep(Duration::from_millis(25));
        }
        max
    });
    for (i, n) in c.nodes.iter().enumerate() {
        let mut d = Dialog::connect(n.smtp());
        d.ehlo();
        for m in 0..4 {
            d.send_mail("sender@example.org", &[&format!("r{i}-{m}@dest.example")], "Subject: slow\r\n\r\nx\r\n");
        }
    }
    let start = Instant::now();
    while sink.recipients().len() < 12 {
        assert!(start.elapsed() < Duration::from_secs(90), "{} of 12 delivered", sink.recipients().len());
        std::thread::sleep(Duration::from_millis(200));
    }
    let max = watcher.join().unwrap();
    println!("12 messages from 3 nodes, concurrency_per_destination 2: at most {max} connections open at the sink");
    assert!((1..=2).contains(&max), "{max} connections at once");
}

/// Established TCP connections whose remote end is 127.0.0.1:`port` (the nodes' side).
fn established_to(port: u16) -> usize {
    let out = Command::new("ss").args(["-Htn", "state", "established", &format!("dport = :{port}")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}
