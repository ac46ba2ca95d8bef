//! STARTTLS and AUTH against a real Postfix (private instance from tests/peers/postfix-relay.sh
//! with --tls --auth), which relays what it accepts into smtp-sink. One Postfix start-up
//! (a few seconds) serves every scenario, so they run in one test, in order.
mod support;

use std::time::Duration;

use postern::smtp_client::client::{ClientError, OutcomeKind, SessionParams, open_session};
use postern::smtp_client::tls::{OutboundTls, TlsPolicy};
use support::outbound::{message, quick};
use support::postfix::{PASS, PostfixRelay, USER};

fn params<'a>(pf: &PostfixRelay, tls: &'a OutboundTls, policy: TlsPolicy) -> SessionParams<'a> {
    SessionParams {
        host: "localhost",
        addr: pf.addr,
        helo_name: "client.postern.test",
        tls_policy: policy,
        tls,
        implicit_tls: false,
        auth: Some((USER, postern::smtp_client::client::Secret::Password(PASS))),
        allow_plaintext_auth: false,
        timeouts: quick(),
    }
}

#[tokio::test]
async fn starttls_and_auth_against_postfix() {
    let pf = PostfixRelay::with_tls_auth();
    let trusted = OutboundTls::new(&[pf.ca()]).unwrap();
    let webpki_only = OutboundTls::new(&[]).unwrap();

    // verify: Postfix's certificate via the extra CA file, name "localhost", then AUTH PLAIN.
    let mut c = open_session(&params(&pf, &trusted, TlsPolicy::Verify))
        .await
        .unwrap();
    assert!(c.is_tls());
    let ext = c.extensions().clone();
    assert!(!ext.starttls, "post-TLS EHLO must not offer STARTTLS again");
    assert_eq!(
        ext.auth,
        ["PLAIN", "LOGIN"],
        "AUTH is offered only after TLS"
    );
    assert!(ext.pipelining && ext.size_limit() == Some(52_428_800) && ext.smtputf8);
    let body = b"From: a@sender.test\r\nSubject: verified-tls-1\r\n\r\nover TLS\r\n";
    let outcomes = c
        .send(&message("a@sender.test", &["b@rcv.test"], body))
        .await
        .unwrap();
    assert_eq!(
        outcomes[0].kind(),
        OutcomeKind::Delivered,
        "{}",
        outcomes[0].text()
    );
    // Reuse the authenticated TLS session for a second message.
    let body2 = b"From: a@sender.test\r\nSubject: verified-tls-2\r\n\r\nagain\r\n";
    let outcomes = c
        .send(&message("a@sender.test", &["c@rcv.test"], body2))
        .await
        .unwrap();
    assert_eq!(
        outcomes[0].kind(),
        OutcomeKind::Delivered,
        "{}",
        outcomes[0].text()
    );
    c.quit().await.unwrap();
    for subject in ["verified-tls-1", "verified-tls-2"] {
        let dump = pf.wait_relayed(subject, Duration::from_secs(20));
        assert!(
            dump.is_some(),
            "{subject} not relayed; maillog:\n{}",
            pf.maillog()
        );
    }
    let log = pf.maillog();
    assert!(
        log.contains("sasl_method=PLAIN, sasl_username=testuser"),
        "{log}"
    );
    assert!(
        log.contains("TLS connection established from localhost[127.0.0.1]"),
        "{log}"
    );

    // verify fails without the CA, and for a name the certificate does not carry.
    let err = open_session(&params(&pf, &webpki_only, TlsPolicy::Verify))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TlsFailed { .. }), "{err:?}");
    assert!(!err.is_permanent() && err.try_next_host());
    let mut p = params(&pf, &trusted, TlsPolicy::Verify);
    p.host = "mx.other.test";
    let err = open_session(&p).await.unwrap_err();
    assert!(err.text().contains("not valid for name"), "{}", err.text());

    // encrypt: any certificate is fine.
    let mut p = params(&pf, &webpki_only, TlsPolicy::Encrypt);
    p.host = "mx.other.test";
    let c = open_session(&p).await.unwrap();
    assert!(c.is_tls());
    c.quit().await.unwrap();

    // Wrong password: Postfix says 535, a temporary (configuration) failure for us.
    let mut p = params(&pf, &trusted, TlsPolicy::Verify);
    p.auth = Some((USER, postern::smtp_client::client::Secret::Password("wrong")));
    let err = open_session(&p).await.unwrap_err();
    match &err {
        ClientError::AuthFailed { reply, .. } => assert_eq!(
            (reply.code, reply.status.map(|s| s.to_string())),
            (535, Some("5.7.8".into()))
        ),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_permanent());

    // Without TLS Postfix offers no AUTH, and we would not send credentials anyway.
    let err = open_session(&params(&pf, &trusted, TlsPolicy::None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::AuthUnavailable { .. }),
        "{err:?}"
    );
}
