//! SRS end to end: mail an alias forwards to another domain leaves with an SRS0 MAIL FROM;
//! a bounce to that address (sent with swaks, as a remote MTA would) reaches the original
//! sender; forged or tampered SRS addresses are refused at RCPT. Interoperability with
//! postsrsd (Debian's, the Postfix SRS daemon) given the same secret, both ways.
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::dns;
use support::peers::{free_port, require_tool};
use support::queue::wait_queue_empty;
use support::rcv::Receiver;
use support::routing::*;
use support::{Dialog, ServerBuilder, TestServer};

const SECRET: &str = "shared-srs-secret-for-tests";

fn forwarding_server(dns: &dns::Dnsmasq, rcv: &Receiver, secret: Option<&str>) -> TestServer {
    let mut b = via_mx(ServerBuilder::new(), dns, rcv.addr.port());
    if let Some(s) = secret {
        b = b.set("srs.secret", s);
    }
    start_with_files(b, "\"fwd@example.com\" = \"dest@remote.test\"\n", "")
}

#[test]
fn forwarded_mail_is_srs0_and_its_bounce_reaches_the_original_sender() {
    let dns = mx_dns(&["remote.test", "origin.test"]);
    let rcv = Receiver::start(&[]);
    let server = forwarding_server(&dns, &rcv, None);
    let (code, out) = swaks(&server, "sender@origin.test", "fwd@example.com", &["--header", "Subject: forward me"]);
    assert_eq!(code, Some(0), "{out}");
    let first = wait_received(&rcv, 1, &server);
    assert_eq!(first[0].rcpt_tos, ["dest@remote.test"]);
    let srs = first[0].mail_from.clone();
    assert!(srs.starts_with("SRS0=") && srs.ends_with("=origin.test=sender@example.com"), "{srs}");
    assert!(server.dir().join("data/srs.secret").exists(), "secret generated on first start");

    // The remote side bounces later: null sender, to the SRS address.
    let (code, out) = swaks(&server, "<>", &srs, &["--header", "Subject: Undelivered Mail Returned to Sender"]);
    assert_eq!(code, Some(0), "{out}");
    let both = wait_received(&rcv, 2, &server);
    let bounce = &both[1];
    assert_eq!(bounce.rcpt_tos, ["sender@origin.test"], "reversed to the original sender");
    assert_eq!(bounce.mail_from, "<>");
    assert!(String::from_utf8_lossy(&bounce.content()).contains("Undelivered Mail Returned to Sender"));
    wait_queue_empty(&server, Duration::from_secs(10));

    // Tampered or unknown SRS addresses are refused, so they cannot be used to relay.
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    d.expect("MAIL FROM:<>", 250);
    let tampered = srs.replacen("=origin.test=", "=victim.test=", 1);
    d.cmd(&format!("RCPT TO:<{tampered}>")).assert(550, "5.1.1");
    d.cmd("RCPT TO:<SRS0=AAAA=AA=x.test=y@example.com>").assert(550, "5.1.1");
}

/// postsrsd 1.x with its TCP lookup tables (Postfix tcp_table protocol) on loopback.
struct Postsrsd {
    child: Child,
    forward: u16,
    reverse: u16,
    _dir: tempfile::TempDir,
}

impl Postsrsd {
    fn start(secret: &str, domain: &str) -> Postsrsd {
        let bin = require_tool("postsrsd");
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("postsrsd.secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        let (forward, reverse) = (free_port(), free_port());
        let child = Command::new(bin)
            .arg(format!("-s{}", secret_file.display()))
            .arg(format!("-d{domain}"))
            .args(["-l127.0.0.1", "-4", &format!("-f{forward}"), &format!("-r{reverse}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postsrsd runs");
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", reverse)).is_err() {
            assert!(Instant::now() < deadline, "postsrsd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Postsrsd { child, forward, reverse, _dir: dir }
    }

    /// `get KEY` on a tcp_table port: the `200 VALUE` answer's value, or the whole line.
    fn get(port: u16, key: &str) -> Result<String, String> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(format!("get {key}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        line.trim_end().strip_prefix("200 ").map(str::to_string).ok_or(line)
    }
}

impl Drop for Postsrsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn postsrsd_with_the_same_secret_agrees_both_ways() {
    let psd = Postsrsd::start(SECRET, "example.com");
    let dns = mx_dns(&["remote.test", "origin.test"]);
    let rcv = Receiver::start(&[]);
    let server = forwarding_server(&dns, &rcv, Some(SECRET));
    smtplib_send(&server, "alice@origin.test", &["fwd@example.com"], b"Subject: interop\r\n\r\nx\r\n").unwrap();
    let ours = wait_received(&rcv, 1, &server)[0].mail_from.clone();
    // Same secret, same day: postsrsd computes the very same address ...
    assert_eq!(Postsrsd::get(psd.forward, "alice@origin.test").unwrap(), ours);
    // ... and reverses ours.
    assert_eq!(Postsrsd::get(psd.reverse, &ours).unwrap(), "alice@origin.test");
    // An SRS1 address postsrsd makes for an already-forwarded sender is accepted by us and
    // routed to the first forwarder's SRS0 address (its domain: remote.test here).
    let hop = "SRS0=abcd=XY=orig.test=bob@remote.test";
    let srs1 = Postsrsd::get(psd.forward, hop).unwrap();
    assert!(srs1.starts_with("SRS1="), "{srs1}");
    let (code, out) = swaks(&server, "<>", &srs1, &["--header", "Subject: bounce via SRS1"]);
    assert_eq!(code, Some(0), "{out}");
    let got = wait_received(&rcv, 2, &server);
    assert_eq!(got[1].rcpt_tos, [hop]);
    // postsrsd refuses what we refuse.
    assert!(Postsrsd::get(psd.reverse, &ours.replacen("alice", "mallory", 1)).is_err());
}
