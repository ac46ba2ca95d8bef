//! One issuance: load or create the account, order the configured names, answer each
//! authorization's challenge, finalize with a fresh key and store key and chain.
use super::challenges::Challenges;
use super::x509::CertInfo;
use super::{http, store};
use crate::config::{AcmeChallenge, Config};
use instant_acme::{Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy};
use std::time::Duration;

/// How long the CA may take to validate every challenge.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);

fn err(step: &str) -> impl Fn(instant_acme::Error) -> String + '_ {
    move |e| format!("{step}: {e}")
}

/// Obtains a certificate for `cfg.acme_domains()` and writes it under data_dir/acme.
pub async fn issue(cfg: &Config, challenges: &Challenges) -> Result<CertInfo, String> {
    let account = account(cfg).await?;
    let domains = cfg.acme_domains();
    let ids: Vec<Identifier> = domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
    tracing::info!(domains = %domains.join(","), "acme: new order");
    let mut order = account.new_order(&NewOrder::new(&ids)).await.map_err(err("new order"))?;
    let kind = match cfg.acme.challenge {
        AcmeChallenge::Http01 => ChallengeType::Http01,
        AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(err("authorization"))?;
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => {
                tracing::info!(name = %name, "acme: authorization already valid");
                continue;
            }
            s => return Err(format!("authorization for {name} is {s:?}")),
        }
        let mut challenge = authz.challenge(kind.clone()).ok_or_else(|| format!("the CA offers no {kind:?} challenge for {name}"))?;
        let ka = challenge.key_authorization();
        match kind {
            ChallengeType::TlsAlpn01 => challenges.set_alpn(&name, ka.digest().as_ref())?,
            _ => challenges.set_http(&challenge.token, ka.as_str()),
        }
        tracing::info!(name = %name, challenge = ?kind, "acme: challenge ready");
        challenge.set_ready().await.map_err(err("challenge"))?;
    }
    let status = order
        .poll_ready(&RetryPolicy::new().initial_delay(Duration::from_millis(500)).timeout(VALIDATION_TIMEOUT))
        .await
        .map_err(err("waiting for validation"))?;
    if status != OrderStatus::Ready {
        return Err(format!("order is {status:?}: {}", validation_errors(&mut order).await));
    }
    tracing::info!("acme: names validated; finalizing");
    let key_pem = order.finalize().await.map_err(err("finalize"))?;
    let chain = order.poll_certificate(&RetryPolicy::new().timeout(VALIDATION_TIMEOUT)).await.map_err(err("certificate"))?;
    let info = super::x509::parse_pem(chain.as_bytes()).ok_or("the CA returned a certificate that does not parse")?;
    let (cert_path, key_path) = store::cert_paths(cfg);
    // Key first: a crash between the two leaves a new key with the old certificate, which
    // fails to load and is reissued, rather than an old key paired with a new certificate.
    store::write_atomic(&key_path, key_pem.as_bytes(), 0o600).map_err(|e| format!("{}: {e}", key_path.display()))?;
    store::write_atomic(&cert_path, chain.as_bytes(), 0o644).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    tracing::info!(cert = %cert_path.display(), serial = %info.serial, issuer = %info.issuer, "acme: certificate issued");
    Ok(info)
}

/// What the CA said about each failed challenge.
async fn validation_errors(order: &mut instant_acme::Order) -> String {
    let mut out = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        for c in &authz.challenges {
            if let Some(p) = &c.error {
                out.push(format!("{}: {p}", authz.identifier()));
            }
        }
    }
    if out.is_empty() { "no reason given".into() } else { out.join("; ") }
}

/// The stored account for this CA directory, or a new one (then stored, 0600).
async fn account(cfg: &Config) -> Result<Account, String> {
    let builder = || http::Client::new(cfg.acme.ca_file.as_deref()).map(|c| Account::builder_with_http(Box::new(c)));
    let path = store::account_path(cfg);
    if let Ok(bytes) = std::fs::read(&path) {
        let creds: AccountCredentials = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        return builder()?.from_credentials(creds).await.map_err(err("account"));
    }
    let contact = (!cfg.acme.email.is_empty()).then(|| format!("mailto:{}", cfg.acme.email));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = NewAccount { contact: &contacts, terms_of_service_agreed: true, only_return_existing: false };
    let (account, creds) = builder()?.create(&new, cfg.acme.directory.trim().to_string(), None).await.map_err(err("new account"))?;
    let json = serde_json::to_vec(&creds).map_err(|e| e.to_string())?;
    store::write_atomic(&path, &json, 0o600).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::info!(account = %account.id(), file = %path.display(), "acme: account created");
    Ok(account)
}
