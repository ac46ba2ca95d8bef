//! Durability: 200 messages from several concurrent clients, kill -9 right after the last
//! 250, and every acknowledged message is still listed, stopped and after a restart.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::thread;

use support::{Dialog, TestServer};

const CLIENTS: usize = 8;
const PER_CLIENT: usize = 25;

/// One client: PER_CLIENT transactions on one connection; returns id -> sender.
fn client(addr: SocketAddr, c: usize) -> Vec<(String, String)> {
    let mut d = Dialog::connect(addr);
    d.ehlo();
    (0..PER_CLIENT)
        .map(|m| {
            let sender = format!("c{c}-m{m}@example.org");
            let body = format!(
                "Subject: durability {c}/{m}\r\n\r\n{}\r\n",
                "payload ".repeat(64)
            );
            (d.send_mail(&sender, &["rcpt@example.com"], &body), sender)
        })
        .collect()
}

#[track_caller]
fn assert_all_listed(server: &TestServer, sent: &BTreeMap<String, String>, when: &str) {
    let q = server.queue_json();
    let listed: BTreeMap<&str, &str> = q.iter().map(|m| (m.id.as_str(), m.sender())).collect();
    let missing: Vec<&String> = sent
        .keys()
        .filter(|id| !listed.contains_key(id.as_str()))
        .collect();
    let first: Vec<_> = missing.iter().take(10).collect();
    assert!(
        missing.is_empty(),
        "{when}: {} acknowledged messages lost, e.g. {first:?}",
        missing.len()
    );
    assert_eq!(q.len(), sent.len(), "{when}: unexpected extra messages");
    for (id, sender) in sent {
        assert_eq!(listed[id.as_str()], sender, "{when}: envelope of {id}");
    }
}

#[test]
fn acknowledged_messages_survive_kill_9() {
    let mut server = TestServer::parked();
    let addr = server.smtp();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| thread::spawn(move || client(addr, c)))
        .collect();
    let sent: BTreeMap<String, String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(sent.len(), CLIENTS * PER_CLIENT, "queue ids must be unique");

    server.kill9();
    assert_all_listed(&server, &sent, "after kill -9, daemon stopped");
    server.spawn();
    assert_all_listed(&server, &sent, "after restart");
}
