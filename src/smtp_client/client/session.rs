//! Opening a ready-to-send session under a TLS policy: connect, EHLO, STARTTLS per
//! `TlsPolicy` (with the `may` plaintext fallback), then AUTH when credentials are given.
use std::net::SocketAddr;

use super::{ClientError, Secret, SmtpClient, Stage, Timeouts};
use crate::smtp_client::tls::{OutboundTls, TlsPolicy};

/// Everything needed to reach one server address.
#[derive(Debug, Clone)]
pub struct SessionParams<'a> {
    /// MX or smarthost name: used in texts and as the TLS name for `verify`.
    pub host: &'a str,
    pub addr: SocketAddr,
    /// Our EHLO name.
    pub helo_name: &'a str,
    pub tls_policy: TlsPolicy,
    pub tls: &'a OutboundTls,
    /// TLS from the first byte (port 465); the policy then only picks the verifier.
    pub implicit_tls: bool,
    /// (user, password or token) for smarthosts.
    pub auth: Option<(&'a str, Secret<'a>)>,
    pub allow_plaintext_auth: bool,
    pub timeouts: Timeouts,
}

/// Connects and negotiates; the returned client is ready for `send`.
///
/// `may`: STARTTLS when offered; if it is refused the session continues in plaintext, and
/// if the handshake fails the connection is re-opened without TLS (Postfix behaviour).
/// `encrypt`/`verify`: no TLS means a temporary `TlsNotOffered`/`TlsFailed`.
pub async fn open_session(p: &SessionParams<'_>) -> Result<SmtpClient, ClientError> {
    let mut client = if p.implicit_tls {
        let config = p
            .tls
            .config(p.tls_policy)
            .or_else(|| p.tls.config(TlsPolicy::May));
        let config = config.expect("OutboundTls has a config for `may`");
        SmtpClient::connect_implicit_tls(p.host, p.addr, config, &p.timeouts)
            .await?
            .0
    } else {
        SmtpClient::connect_host(p.host, p.addr, &p.timeouts)
            .await?
            .0
    };
    client.ehlo(p.helo_name).await?;
    if !p.implicit_tls {
        client = negotiate_starttls(client, p).await?;
    }
    if let Some(tls) = client.tls_description() {
        tracing::debug!(peer = %client.peer(), tls = %tls, "TLS established");
    }
    if let Some((user, secret)) = p.auth {
        client.set_allow_plaintext_auth(p.allow_plaintext_auth);
        client.auth(user, secret).await?;
    }
    Ok(client)
}

async fn negotiate_starttls(
    mut client: SmtpClient,
    p: &SessionParams<'_>,
) -> Result<SmtpClient, ClientError> {
    let Some(config) = p.tls.config(p.tls_policy) else {
        return Ok(client);
    };
    if !client.extensions().starttls {
        if p.tls_policy.requires_tls() {
            let _ = client.quit().await;
            return Err(ClientError::TlsNotOffered { peer: p.peer() });
        }
        return Ok(client);
    }
    let result = client.starttls(config, p.host).await.map(|_| ());
    match result {
        Ok(_) => Ok(client),
        Err(e) if !p.tls_policy.plaintext_fallback() => Err(e),
        // Refused STARTTLS: the plaintext session is intact.
        Err(ClientError::Rejected { .. }) if client.is_usable() => Ok(client),
        Err(e) if is_handshake_failure(&e) => {
            tracing::info!(peer = %p.peer(), error = %e, "TLS failed, retrying in plaintext");
            let (mut plain, _) = SmtpClient::connect_host(p.host, p.addr, &p.timeouts).await?;
            plain.ehlo(p.helo_name).await?;
            Ok(plain)
        }
        Err(e) => Err(e),
    }
}

/// Failures of the handshake itself; injected plaintext (`Protocol`) is not one of them.
fn is_handshake_failure(e: &ClientError) -> bool {
    e.is_tls_handshake_failure()
        || matches!(
            e,
            ClientError::Timeout {
                stage: Stage::TlsHandshake,
                ..
            }
        )
}

impl SessionParams<'_> {
    fn peer(&self) -> super::Peer {
        super::Peer {
            name: self.host.to_string(),
            addr: self.addr,
        }
    }
}
