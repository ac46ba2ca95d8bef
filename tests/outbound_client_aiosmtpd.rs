//! The outbound client against Python aiosmtpd (tests/peers/outbound_rcv.py): content and
//! envelope byte for byte, pipelining, per-recipient outcomes, SIZE, SMTPUTF8, failures.
mod support;

use std::time::{Duration, Instant};

use postern::smtp_client::client::{ClientError, OutcomeKind, SmtpClient, Stage, Timeouts};
use support::outbound::{message, quick};
use support::proxy::RecordingProxy;
use support::rcv::Receiver;

async fn session(addr: std::net::SocketAddr) -> SmtpClient {
    let (mut c, greeting) = SmtpClient::connect(addr, &quick()).await.unwrap();
    assert_eq!(greeting.code, 220);
    c.ehlo("client.postern.test").await.unwrap();
    c
}

/// A body that exercises dot-stuffing, 8-bit text, long content and a lone-dot line.
fn tricky_body() -> Vec<u8> {
    let mut b = b"From: a@sender.test\r\nTo: b@rcv.test\r\nSubject: dots\r\n\r\n".to_vec();
    b.extend_from_slice(b".leading dot\r\n..two dots\r\n.\r\nline after a lone dot\r\n");
    b.extend_from_slice("8-bit: caf\u{e9} \u{2603}\r\n".as_bytes());
    for i in 0..20_000 {
        b.extend_from_slice(
            format!("{i:06} filler line to make the body span many writes\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(b".\r\n.end\r\n");
    b
}

#[tokio::test]
async fn delivers_content_and_envelope_byte_for_byte() {
    let rcv = Receiver::start(&[]);
    let mut c = session(rcv.addr).await;
    assert!(
        !c.extensions().pipelining,
        "aiosmtpd does not advertise PIPELINING by default"
    );
    assert!(c.extensions().eightbitmime);
    let body = tricky_body();
    let mut msg = message("a@sender.test", &["b@rcv.test", "c@rcv.test"], &body);
    msg.body_8bit = true;
    let outcomes = c.send(&msg).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(o.kind(), OutcomeKind::Delivered, "{}", o.text());
        assert!(
            o.text().starts_with("250 2.0.0 Ok: queued as"),
            "{}",
            o.text()
        );
    }
    c.quit().await.unwrap();
    let got = rcv.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.content(), body, "content differs from what was sent");
    assert_eq!(m.mail_from, "a@sender.test");
    assert_eq!(m.mail_options, ["BODY=8BITMIME"]);
    assert_eq!(m.rcpt_tos, ["b@rcv.test", "c@rcv.test"]);
    assert_eq!(m.helo.as_deref(), Some("client.postern.test"));
}

#[tokio::test]
async fn null_sender_and_unterminated_last_line() {
    let rcv = Receiver::start(&[]);
    let mut c = session(rcv.addr).await;
    let body = b"Subject: bounce\r\n\r\nno final CRLF";
    let outcomes = c.send(&message("", &["b@rcv.test"], body)).await.unwrap();
    assert_eq!(outcomes[0].kind(), OutcomeKind::Delivered);
    let m = &rcv.messages()[0];
    assert_eq!(m.mail_from, "<>");
    // The client must end the last line before the terminating dot.
    assert_eq!(m.content(), b"Subject: bounce\r\n\r\nno final CRLF\r\n");
}

#[tokio::test]
async fn pipelined_envelope_with_mixed_recipient_outcomes() {
    let rcv = Receiver::start(&["--pipelining"]);
    let proxy = RecordingProxy::start(rcv.addr).await;
    let mut c = session(proxy.addr).await;
    assert!(c.extensions().pipelining);
    let body = b"Subject: mixed\r\n\r\nhello\r\n";
    let to = [
        "ok1@rcv.test",
        "temp1@rcv.test",
        "perm1@rcv.test",
        "ok2@rcv.test",
    ];
    let outcomes = c.send(&message("a@sender.test", &to, body)).await.unwrap();
    let kinds: Vec<OutcomeKind> = outcomes.iter().map(|o| o.kind()).collect();
    use OutcomeKind::*;
    assert_eq!(kinds, [Delivered, Deferred, Bounced, Delivered]);
    let perm = outcomes[2].result.as_ref().unwrap_err();
    assert_eq!(perm.status(), (5, 1, 1));
    let peer = format!("{}[{}]", proxy.addr.ip(), proxy.addr.ip());
    assert_eq!(
        perm.text(),
        format!(
            "host {peer} said: 550 5.1.1 <perm1@rcv.test>: Recipient address rejected: \
             User unknown (in reply to RCPT TO command)"
        )
    );
    assert_eq!(outcomes[1].result.as_ref().unwrap_err().status(), (4, 2, 0));
    assert_eq!(rcv.messages()[0].rcpt_tos, ["ok1@rcv.test", "ok2@rcv.test"]);
    assert!(
        proxy.saw_pipelined_envelope(),
        "MAIL/RCPT/DATA not batched: {:?}",
        proxy.reads()
    );
}

#[tokio::test]
async fn lockstep_when_pipelining_is_not_offered() {
    let rcv = Receiver::start(&[]);
    let proxy = RecordingProxy::start(rcv.addr).await;
    let mut c = session(proxy.addr).await;
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["x@rcv.test", "y@rcv.test"],
            b"Subject: s\r\n\r\nb\r\n",
        ))
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.kind() == OutcomeKind::Delivered));
    assert!(
        !proxy.saw_pipelined_envelope(),
        "pipelined without PIPELINING: {:?}",
        proxy.reads()
    );
    let reads = proxy.reads();
    assert!(
        reads
            .iter()
            .any(|r| r.starts_with("MAIL FROM:<a@sender.test>") && !r.contains("RCPT"))
    );
}

#[tokio::test]
async fn no_accepted_recipient_skips_data_and_session_is_reused() {
    let rcv = Receiver::start(&["--pipelining"]);
    let proxy = RecordingProxy::start(rcv.addr).await;
    let mut c = session(proxy.addr).await;
    let body = b"Subject: reuse\r\n\r\nbody\r\n";
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["perm@rcv.test", "temp@rcv.test"],
            body,
        ))
        .await
        .unwrap();
    assert_eq!(outcomes[0].kind(), OutcomeKind::Bounced);
    assert_eq!(outcomes[1].kind(), OutcomeKind::Deferred);
    assert!(c.is_usable());
    assert!(
        proxy.reads().iter().any(|r| r.contains("RSET")),
        "no RSET: {:?}",
        proxy.reads()
    );
    assert!(rcv.messages().is_empty());
    // Three more transactions on the same connection.
    for i in 0..3 {
        let to = format!("r{i}@rcv.test");
        let outcomes = c
            .send(&message("a@sender.test", &[&to], body))
            .await
            .unwrap();
        assert_eq!(
            outcomes[0].kind(),
            OutcomeKind::Delivered,
            "{}",
            outcomes[0].text()
        );
    }
    c.quit().await.unwrap();
    let got = rcv.messages();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|m| m.peer == got[0].peer),
        "not one connection: {got:?}"
    );
    assert_eq!(got[2].rcpt_tos, ["r2@rcv.test"]);
}

#[tokio::test]
async fn final_reply_applies_to_every_accepted_recipient() {
    let rcv = Receiver::start(&["--pipelining"]);
    let mut c = session(rcv.addr).await;
    let body = b"Subject: x\r\n\r\nx\r\n";
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["rejectdata@rcv.test", "b@rcv.test", "perm@rcv.test"],
            body,
        ))
        .await
        .unwrap();
    use OutcomeKind::*;
    assert_eq!(
        outcomes.iter().map(|o| o.kind()).collect::<Vec<_>>(),
        [Bounced, Bounced, Bounced]
    );
    let text = outcomes[1].text();
    assert!(
        text.ends_with(
            "said: 554 5.6.0 Message content rejected (in reply to end of DATA command)"
        ),
        "{text}"
    );
    assert!(outcomes[2].text().contains("(in reply to RCPT TO command)"));
    let outcomes = c
        .send(&message("a@sender.test", &["tempdata@rcv.test"], body))
        .await
        .unwrap();
    assert_eq!(outcomes[0].kind(), Deferred);
    assert!(c.is_usable());
}

#[tokio::test]
async fn size_limit_is_checked_before_sending() {
    let rcv = Receiver::start(&["--size", "1000"]);
    let mut c = session(rcv.addr).await;
    assert_eq!(c.extensions().size_limit(), Some(1000));
    let big = vec![b'x'; 2000];
    let err = c
        .send(&message("a@sender.test", &["b@rcv.test"], &big))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::TooBig {
                size: 2000,
                limit: 1000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert_eq!(err.status(), (5, 3, 4));
    // Nothing was sent, so the session goes on; SIZE= is declared on MAIL.
    let outcomes = c
        .send(&message("a@sender.test", &["b@rcv.test"], b"small\r\n"))
        .await
        .unwrap();
    assert_eq!(outcomes[0].kind(), OutcomeKind::Delivered);
    assert_eq!(rcv.messages()[0].mail_options, ["SIZE=7"]);
}

#[tokio::test]
async fn smtputf8_only_to_servers_that_offer_it() {
    let body = "Subject: caf\u{e9}\r\n\r\nhi\r\n".as_bytes();
    let plain = Receiver::start(&[]);
    let mut c = session(plain.addr).await;
    let mut msg = message("j\u{f6}ran@s\u{e9}nder.test", &["b@rcv.test"], body);
    msg.smtputf8 = true;
    let err = c.send(&msg).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Smtputf8NotOffered { .. }),
        "{err:?}"
    );
    assert_eq!((err.is_permanent(), err.status()), (true, (5, 6, 7)));

    let utf8 = Receiver::start(&["--smtputf8"]);
    let mut c = session(utf8.addr).await;
    let outcomes = c.send(&msg).await.unwrap();
    assert_eq!(
        outcomes[0].kind(),
        OutcomeKind::Delivered,
        "{}",
        outcomes[0].text()
    );
    let m = &utf8.messages()[0];
    assert_eq!(m.mail_from, "j\u{f6}ran@s\u{e9}nder.test");
    assert_eq!(m.mail_options, ["SMTPUTF8"]);
    assert_eq!(m.content(), body);
}

#[tokio::test]
async fn connection_dropped_mid_data_defers_accepted_recipients() {
    let rcv = Receiver::start(&["--drop-data", "--pipelining"]);
    let mut c = session(rcv.addr).await;
    let body = tricky_body();
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["b@rcv.test", "perm@rcv.test"],
            &body,
        ))
        .await
        .unwrap();
    assert_eq!(
        outcomes[1].kind(),
        OutcomeKind::Bounced,
        "RCPT rejection is kept"
    );
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert_eq!(outcomes[0].kind(), OutcomeKind::Deferred);
    assert!(
        matches!(
            err,
            ClientError::ConnectionLost {
                stage: Stage::Body | Stage::EndOfData,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.text().starts_with("lost connection with"),
        "{}",
        err.text()
    );
    assert!(!c.is_usable());
    let again = c
        .send(&message("a@sender.test", &["b@rcv.test"], b"x\r\n"))
        .await
        .unwrap_err();
    assert!(matches!(again, ClientError::Closed { .. }));
    assert!(rcv.messages().is_empty());
}

#[tokio::test]
async fn silent_server_times_out_at_the_greeting() {
    let rcv = Receiver::start(&["--silent"]);
    let timeouts = Timeouts {
        greeting: Duration::from_millis(800),
        ..Timeouts::default()
    };
    let start = Instant::now();
    let err = SmtpClient::connect(rcv.addr, &timeouts).await.unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                stage: Stage::Greeting,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(!err.is_permanent() && err.try_next_host());
    assert!(
        err.text()
            .ends_with("timed out while receiving the initial server greeting")
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let port = support::peers::free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let err = SmtpClient::connect_host("mx.down.test", addr, &quick())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert_eq!(err.status(), (4, 4, 1));
    assert!(
        err.text()
            .starts_with(&format!("connect to mx.down.test[127.0.0.1]:{port}: "))
    );
}
