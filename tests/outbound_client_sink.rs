//! The outbound client against Postfix `smtp-sink`, using its switches to make the server
//! reject, drop, delay or disable extensions at chosen commands.
mod support;

use std::time::{Duration, Instant};

use postern::smtp_client::client::{ClientError, OutcomeKind, SmtpClient, Stage, Timeouts};
use postern::proto::smtp::command::{Notify, Ret};
use support::outbound::{message, quick};
use support::proxy::RecordingProxy;
use support::rcv::SmtpSink;

async fn session(addr: std::net::SocketAddr) -> SmtpClient {
    let (mut c, _) = SmtpClient::connect(addr, &quick()).await.unwrap();
    c.ehlo("client.postern.test").await.unwrap();
    c
}

const BODY: &[u8] = b"From: a@sender.test\r\nSubject: sink\r\n\r\n.dot line\r\nbody\r\n";

#[tokio::test]
async fn dsn_and_8bitmime_parameters_reach_the_sink() {
    let sink = SmtpSink::start(&[]);
    let mut c = session(sink.addr).await;
    let ext = c.extensions().clone();
    assert!(ext.pipelining && ext.dsn && ext.eightbitmime && ext.enhanced_status_codes);
    let mut msg = message("a@sender.test", &["b@rcv.test", "c@rcv.test"], BODY);
    msg.body_8bit = true;
    msg.envid = Some("Q1+x");
    msg.ret = Some(Ret::Hdrs);
    msg.recipients[0].notify = Some(Notify {
        success: true,
        failure: true,
        delay: false,
    });
    msg.recipients[0].orcpt = Some("rfc822;b@rcv.test");
    let outcomes = c.send(&msg).await.unwrap();
    assert!(
        outcomes.iter().all(|o| o.kind() == OutcomeKind::Delivered),
        "{outcomes:?}"
    );
    c.quit().await.unwrap();
    let dumps = sink.dumps(1);
    assert_eq!(dumps.len(), 1);
    let d = &dumps[0];
    assert!(d.contains("X-Helo-Args: client.postern.test\n"), "{d}");
    assert!(
        d.contains("X-Mail-Args: <a@sender.test> BODY=8BITMIME RET=HDRS ENVID=Q1+2Bx\n"),
        "{d}"
    );
    assert!(
        d.contains("X-Rcpt-Args: <b@rcv.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@rcv.test\n"),
        "{d}"
    );
    assert!(d.contains("X-Rcpt-Args: <c@rcv.test>\n"), "{d}");
    // smtp-sink stores lines as received after un-stuffing, with LF endings.
    assert!(d.contains("Subject: sink\n\n.dot line\nbody\n"), "{d}");
}

#[tokio::test]
async fn helo_fallback_when_ehlo_is_rejected() {
    let sink = SmtpSink::start(&["-e"]);
    let proxy = RecordingProxy::start(sink.addr).await;
    let (mut c, _) = SmtpClient::connect(proxy.addr, &quick()).await.unwrap();
    let ext = c.ehlo("client.postern.test").await.unwrap();
    assert!(!ext.esmtp && !ext.pipelining && !ext.eightbitmime);
    let mut msg = message("a@sender.test", &["b@rcv.test"], BODY);
    msg.body_8bit = true;
    msg.envid = Some("no-dsn");
    let outcomes = c.send(&msg).await.unwrap();
    assert_eq!(outcomes[0].kind(), OutcomeKind::Delivered);
    let d = &sink.dumps(1)[0];
    assert!(d.contains("X-Client-Proto: SMTP\n"), "{d}");
    assert!(
        d.contains("X-Mail-Args: <a@sender.test>\n"),
        "no ESMTP parameters without EHLO: {d}"
    );
    let reads = proxy.reads();
    assert!(
        reads.iter().any(|r| r == "HELO client.postern.test\r\n"),
        "{reads:?}"
    );
}

#[tokio::test]
async fn lockstep_with_pipelining_disabled() {
    let sink = SmtpSink::start(&["-p"]);
    let proxy = RecordingProxy::start(sink.addr).await;
    let mut c = session(proxy.addr).await;
    assert!(!c.extensions().pipelining);
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["b@rcv.test", "c@rcv.test"],
            BODY,
        ))
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.kind() == OutcomeKind::Delivered));
    assert!(!proxy.saw_pipelined_envelope(), "{:?}", proxy.reads());
    assert_eq!(sink.dumps(1).len(), 1);
}

#[tokio::test]
async fn all_recipients_rejected_means_rset_and_no_data() {
    let sink = SmtpSink::start(&["-f", "RCPT"]);
    let proxy = RecordingProxy::start(sink.addr).await;
    let mut c = session(proxy.addr).await;
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["b@rcv.test", "c@rcv.test"],
            BODY,
        ))
        .await
        .unwrap();
    for o in &outcomes {
        assert_eq!(o.kind(), OutcomeKind::Bounced);
        assert!(
            o.text()
                .ends_with("said: 500 5.3.0 Error: command failed (in reply to RCPT TO command)"),
            "{}",
            o.text()
        );
    }
    let reads = proxy.reads().concat();
    assert!(reads.contains("RSET\r\n"), "{reads}");
    assert!(
        !reads.contains("DATA\r\n"),
        "DATA sent without recipients: {reads}"
    );
    assert!(c.is_usable());
    c.quit().await.unwrap();
    assert!(sink.dumps(0).iter().all(|d| !d.contains("Subject: sink")));
}

#[tokio::test]
async fn soft_rejected_mail_from_is_a_temporary_error() {
    let sink = SmtpSink::start(&["-r", "MAIL"]);
    let mut c = session(sink.addr).await;
    let err = c
        .send(&message("a@sender.test", &["b@rcv.test"], BODY))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::MailFrom,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_permanent() && !err.try_next_host());
    assert_eq!(err.status(), (4, 3, 0));
    assert!(
        err.text()
            .ends_with("said: 450 4.3.0 Error: command failed (in reply to MAIL FROM command)")
    );
    assert!(c.is_usable());
}

#[tokio::test]
async fn rejected_end_of_data_bounces_every_recipient() {
    let sink = SmtpSink::start(&["-f", "."]);
    let mut c = session(sink.addr).await;
    let outcomes = c
        .send(&message(
            "a@sender.test",
            &["b@rcv.test", "c@rcv.test"],
            BODY,
        ))
        .await
        .unwrap();
    for o in &outcomes {
        assert_eq!(o.kind(), OutcomeKind::Bounced);
        assert!(
            o.text().ends_with("(in reply to end of DATA command)"),
            "{}",
            o.text()
        );
    }
}

#[tokio::test]
async fn disconnect_after_final_dot_defers_with_duplicate_warning() {
    let sink = SmtpSink::start(&["-q", "."]);
    let mut c = session(sink.addr).await;
    let outcomes = c
        .send(&message("a@sender.test", &["b@rcv.test"], BODY))
        .await
        .unwrap();
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::ConnectionLost {
                stage: Stage::EndOfData,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(outcomes[0].kind(), OutcomeKind::Deferred);
    assert!(
        err.text().contains("message may be sent more than once"),
        "{}",
        err.text()
    );
    assert!(!c.is_usable());
}

#[tokio::test]
async fn service_closing_421_at_rcpt() {
    let sink = SmtpSink::start(&["-Q", "RCPT"]);
    let mut c = session(sink.addr).await;
    let err = c
        .send(&message("a@sender.test", &["b@rcv.test"], BODY))
        .await
        .unwrap_err();
    match &err {
        ClientError::Rejected {
            stage: Stage::RcptTo,
            reply,
            ..
        } => assert_eq!(reply.code, 421),
        other => panic!("expected 421 at RCPT, got {other:?}"),
    }
    assert!(!err.is_permanent() && err.try_next_host());
    assert!(!c.is_usable());
}

#[tokio::test]
async fn greeting_rejection_and_ehlo_timeout() {
    let sink = SmtpSink::start(&["-f", "CONNECT"]);
    let err = SmtpClient::connect_host("mx.test", sink.addr, &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::Greeting,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.text()
            .starts_with("host mx.test[127.0.0.1] refused to talk to me: 500"),
        "{}",
        err.text()
    );
    assert!(err.try_next_host());

    let slow = SmtpSink::start(&["-W", "EHLO:4"]);
    let timeouts = Timeouts {
        ehlo: Duration::from_millis(700),
        ..quick()
    };
    let (mut c, _) = SmtpClient::connect(slow.addr, &timeouts).await.unwrap();
    let start = Instant::now();
    let err = c.ehlo("client.postern.test").await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                stage: Stage::Ehlo,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(
        err.text()
            .ends_with("timed out while performing the EHLO handshake")
    );
}

#[tokio::test]
async fn end_of_data_timeout() {
    let sink = SmtpSink::start(&["-W", ".:4"]);
    let timeouts = Timeouts {
        data_end: Duration::from_millis(700),
        ..quick()
    };
    let (mut c, _) = SmtpClient::connect(sink.addr, &timeouts).await.unwrap();
    c.ehlo("client.postern.test").await.unwrap();
    let outcomes = c
        .send(&message("a@sender.test", &["b@rcv.test"], BODY))
        .await
        .unwrap();
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                stage: Stage::EndOfData,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(outcomes[0].kind(), OutcomeKind::Deferred);
}

#[tokio::test]
async fn auth_is_never_sent_in_plaintext_by_default() {
    let sink = SmtpSink::start(&[]);
    let proxy = RecordingProxy::start(sink.addr).await;
    let mut c = session(proxy.addr).await;
    assert_eq!(c.extensions().auth, ["PLAIN", "LOGIN"]);
    let err = c.auth("user", postern::smtp_client::client::Secret::Password("secret")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::AuthUnavailable { .. }),
        "{err:?}"
    );
    assert!(
        !proxy.reads().concat().contains("AUTH"),
        "credentials went out: {:?}",
        proxy.reads()
    );
    assert!(c.is_usable());
}
