//! TLS policy levels, the `may` fallback, STARTTLS response injection, implicit TLS and
//! AUTH mechanisms, against smtp-sink and aiosmtpd (tests/peers/outbound_rcv.py).
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;

use support::outbound::{message, quick};
use support::rcv::{Receiver, SmtpSink};
use postern::smtp_client::client::{
    ClientError, OutcomeKind, SessionParams, SmtpClient, open_session,
};
use postern::smtp_client::tls::{OutboundTls, TlsPolicy};

const BODY: &[u8] = b"Subject: tls\r\n\r\nhello\r\n";

fn params<'a>(tls: &'a OutboundTls, addr: SocketAddr, policy: TlsPolicy) -> SessionParams<'a> {
    SessionParams {
        host: "localhost",
        addr,
        helo_name: "client.postern.test",
        tls_policy: policy,
        tls,
        implicit_tls: false,
        auth: None,
        allow_plaintext_auth: false,
        timeouts: quick(),
    }
}

async fn deliver(c: &mut SmtpClient) {
    let outcomes = c
        .send(&message("a@sender.test", &["b@rcv.test"], BODY))
        .await
        .unwrap();
    assert_eq!(
        outcomes[0].kind(),
        OutcomeKind::Delivered,
        "{}",
        outcomes[0].text()
    );
}

#[tokio::test]
async fn may_without_starttls_is_plaintext_encrypt_is_a_temporary_failure() {
    let sink = SmtpSink::start(&[]);
    let tls = OutboundTls::new(&[]).unwrap();
    let mut c = open_session(&params(&tls, sink.addr, TlsPolicy::May))
        .await
        .unwrap();
    assert!(!c.is_tls());
    deliver(&mut c).await;

    for policy in [TlsPolicy::Encrypt, TlsPolicy::Verify] {
        let err = open_session(&params(&tls, sink.addr, policy))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::TlsNotOffered { .. }), "{err:?}");
        assert_eq!((err.is_permanent(), err.status()), (false, (4, 7, 4)));
        assert!(err.try_next_host());
        assert_eq!(
            err.text(),
            format!("TLS is required, but was not offered by host localhost[127.0.0.1]")
        );
    }
}

#[tokio::test]
async fn may_falls_back_to_plaintext_when_the_handshake_fails() {
    let rcv = Receiver::start(&["--starttls-garbage"]);
    let tls = OutboundTls::new(&[]).unwrap();
    // The failure itself, seen directly.
    let (mut c, _) = SmtpClient::connect(rcv.addr, &quick()).await.unwrap();
    assert!(c.ehlo("client.postern.test").await.unwrap().starttls);
    let err = c
        .starttls(tls.config(TlsPolicy::May).unwrap(), "localhost")
        .await
        .unwrap_err();
    assert!(err.is_tls_handshake_failure(), "{err:?}");
    assert!(!c.is_usable());
    // `may` reconnects in plaintext; `encrypt` gives up.
    let mut c = open_session(&params(&tls, rcv.addr, TlsPolicy::May))
        .await
        .unwrap();
    assert!(!c.is_tls());
    deliver(&mut c).await;
    assert_eq!(rcv.messages().len(), 1);
    let err = open_session(&params(&tls, rcv.addr, TlsPolicy::Encrypt))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TlsFailed { .. }), "{err:?}");
    assert_eq!(err.status(), (4, 7, 5));
    // `none` never tries.
    let mut c = open_session(&params(&tls, rcv.addr, TlsPolicy::None))
        .await
        .unwrap();
    deliver(&mut c).await;
    assert_eq!(rcv.messages().len(), 2);
}

#[tokio::test]
async fn plaintext_injected_after_starttls_is_refused() {
    let rcv = Receiver::start(&["--starttls-inject"]);
    let tls = OutboundTls::new(&[]).unwrap();
    let err = open_session(&params(&tls, rcv.addr, TlsPolicy::May))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Protocol { .. }), "{err:?}");
    assert!(
        err.text().contains("after the STARTTLS reply"),
        "{}",
        err.text()
    );
    assert!(!err.is_permanent());
}

/// A self-signed certificate for `localhost` written as PEM files.
fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn implicit_tls_with_a_verified_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let rcv = Receiver::start(&[
        "--implicit-tls",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    ]);
    let trusted = OutboundTls::new(std::slice::from_ref(&cert)).unwrap();
    let mut p = params(&trusted, rcv.addr, TlsPolicy::Verify);
    p.implicit_tls = true;
    let mut c = open_session(&p).await.unwrap();
    assert!(c.is_tls());
    assert!(
        c.tls_description().unwrap().starts_with("TLSv1_3"),
        "{:?}",
        c.tls_description()
    );
    deliver(&mut c).await;
    c.quit().await.unwrap();
    assert_eq!(rcv.messages()[0].content(), BODY);

    // The same server is rejected when its certificate is not trusted or the name differs.
    let webpki_only = OutboundTls::new(&[]).unwrap();
    let mut p = params(&webpki_only, rcv.addr, TlsPolicy::Verify);
    p.implicit_tls = true;
    let err = open_session(&p).await.unwrap_err();
    assert!(matches!(err, ClientError::TlsFailed { .. }), "{err:?}");
    let mut p = params(&trusted, rcv.addr, TlsPolicy::Verify);
    p.implicit_tls = true;
    p.host = "mx.other.test";
    let err = open_session(&p).await.unwrap_err();
    assert!(
        err.text()
            .contains("certificate not valid for name \"mx.other.test\""),
        "{}",
        err.text()
    );
    // `encrypt` accepts any certificate.
    let mut p = params(&webpki_only, rcv.addr, TlsPolicy::Encrypt);
    p.implicit_tls = true;
    p.host = "mx.other.test";
    assert!(open_session(&p).await.unwrap().is_tls());
}

#[tokio::test]
async fn auth_login_and_plain_as_offered() {
    let tls = OutboundTls::new(&[]).unwrap();
    for mechs in ["LOGIN", "PLAIN"] {
        let rcv = Receiver::start(&["--auth", "alice:s3cret pass", "--auth-mechs", mechs]);
        let mut p = params(&tls, rcv.addr, TlsPolicy::None);
        p.allow_plaintext_auth = true;
        p.auth = Some(("alice", postern::smtp_client::client::Secret::Password("s3cret pass")));
        let mut c = open_session(&p).await.unwrap();
        assert_eq!(c.extensions().auth, [mechs]);
        deliver(&mut c).await;
        assert_eq!(
            rcv.messages()[0].auth_login.as_deref(),
            Some("alice"),
            "{mechs}"
        );

        p.auth = Some(("alice", postern::smtp_client::client::Secret::Password("wrong")));
        let err = open_session(&p).await.unwrap_err();
        match &err {
            ClientError::AuthFailed { reply, .. } => assert_eq!(reply.code, 535, "{mechs}"),
            other => panic!("{mechs}: {other:?}"),
        }
        assert!(!err.is_permanent() && err.try_next_host());
    }
}
