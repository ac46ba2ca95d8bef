//! lettre (Rust SMTP client, tokio + rustls) in plain text, STARTTLS + AUTH, implicit TLS.

mod support;

use std::net::SocketAddr;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use support::queue::find;
use support::{TestServer, queued_id};

type Mailer = AsyncSmtpTransport<Tokio1Executor>;

fn message(to: &str, subject: &str) -> Message {
    let from: Mailbox = "Lettre <lettre@example.org>".parse().unwrap();
    Message::builder()
        .from(from)
        .to(to.parse().unwrap())
        .subject(subject)
        .body(String::from("Hello from lettre.\nLine two.\n"))
        .unwrap()
}

fn tls_params(server: &TestServer) -> TlsParameters {
    let pem = std::fs::read(server.cert_path()).unwrap();
    TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(&pem).unwrap())
        .build_rustls()
        .unwrap()
}

fn mailer(addr: SocketAddr, tls: Tls, creds: Option<(&str, &str)>) -> Mailer {
    let mut b = Mailer::builder_dangerous(addr.ip().to_string())
        .port(addr.port())
        .hello_name(ClientId::Domain("client.test".into()))
        .tls(tls);
    if let Some((u, p)) = creds {
        b = b
            .credentials(Credentials::new(u.into(), p.into()))
            .authentication(vec![Mechanism::Plain]);
    }
    b.build()
}

#[track_caller]
fn assert_queued(server: &TestServer, resp: &Response, rcpt: &str) {
    assert_eq!(resp.code().to_string(), "250");
    let text: Vec<&str> = resp.message().collect();
    let id = queued_id(&text.join(" ")).unwrap_or_else(|| panic!("no queue id in {text:?}"));
    let q = server.queue_json();
    let m = find(&q, &id);
    assert_eq!(m.sender(), "lettre@example.org");
    assert_eq!(m.rcpt_addresses(), [rcpt]);
}

fn auth_server() -> TestServer {
    TestServer::builder()
        .park_delivery()
        .list("relay.trusted_networks", &[])
        .user("dave", "lettre-pw")
        .start()
}

#[tokio::test]
async fn plain_smtp() {
    let server = TestServer::parked();
    let m = mailer(server.smtp(), Tls::None, None);
    let resp = m
        .send(message("to@example.com", "lettre plain"))
        .await
        .unwrap();
    assert_queued(&server, &resp, "to@example.com");
}

#[tokio::test]
async fn submission_starttls_auth_relays() {
    let server = auth_server();
    let m = mailer(
        server.submission(),
        Tls::Required(tls_params(&server)),
        Some(("dave", "lettre-pw")),
    );
    let resp = m
        .send(message("far@other.test", "lettre starttls"))
        .await
        .unwrap();
    assert_queued(&server, &resp, "far@other.test");
}

#[tokio::test]
async fn submissions_implicit_tls_auth_relays() {
    let server = auth_server();
    let m = mailer(
        server.submissions(),
        Tls::Wrapper(tls_params(&server)),
        Some(("dave", "lettre-pw")),
    );
    let resp = m
        .send(message("far@other.test", "lettre implicit tls"))
        .await
        .unwrap();
    assert_queued(&server, &resp, "far@other.test");
}

#[tokio::test]
async fn bad_credentials_are_a_permanent_535() {
    let server = auth_server();
    let m = mailer(
        server.submission(),
        Tls::Required(tls_params(&server)),
        Some(("dave", "nope")),
    );
    let err = m
        .send(message("far@other.test", "lettre bad auth"))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert_eq!(
        err.status().map(|c| c.to_string()),
        Some("535".into()),
        "{err:?}"
    );
    assert!(server.queue_json().is_empty());
}
