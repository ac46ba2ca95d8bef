//! OAuth2 access tokens for AUTH XOAUTH2 to the smarthost (Gmail, Microsoft 365), as
//! boky/postfix's sasl-xoauth2 does: the access token is refreshed with the refresh-token
//! grant (RFC 6749 §6) before it expires, and the current tokens are kept in
//! `data_dir/xoauth2.json` (mode 0600) so a rotated refresh token survives a restart.
//!
//! Owns: the token state and the token endpoint exchange. Must not touch: the SMTP
//! dialogue (the client encodes XOAUTH2), logging of any token.
use super::webhook::http::Target;
use crate::config::Config;
use bytes::Bytes;
use hyper::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A token this close to its expiry is refreshed before use.
const MARGIN: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest token endpoint answer read.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("delivery.xoauth2_token_endpoint: {0}")]
    Endpoint(String),
    #[error("OAuth2 token refresh failed: {0}")]
    Refresh(String),
    #[error("OAuth2: no access token and no refresh token (set delivery.xoauth2_refresh_token)")]
    NoToken,
    #[error("cannot keep the OAuth2 tokens in {path}: {source}")]
    Store { path: String, source: std::io::Error },
}

/// What is kept between refreshes (and in the store file).
#[derive(Clone, Default, Serialize, Deserialize)]
struct State {
    access_token: String,
    /// Seconds since the epoch; 0 = unknown (an initial token: used until refused).
    expires_at: u64,
    refresh_token: String,
}

/// The endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct Grant {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

pub struct TokenSource {
    endpoint: Target,
    client_id: String,
    client_secret: String,
    store: PathBuf,
    state: tokio::sync::Mutex<State>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TokenSource {
    /// None unless `delivery.xoauth2_client_id` is set. The stored state wins over the
    /// configured initial tokens (they may have been rotated since).
    pub fn from_config(cfg: &Config) -> Result<Option<TokenSource>, TokenError> {
        let d = &cfg.delivery;
        if d.xoauth2_client_id.is_empty() {
            return Ok(None);
        }
        let endpoint = Target::parse(&d.xoauth2_token_endpoint, &[]).map_err(|e| TokenError::Endpoint(e.to_string()))?;
        let store = cfg.server.data_dir.join("xoauth2.json");
        let state = match std::fs::read(&store) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => State::default(),
        };
        let state = if state.refresh_token.is_empty() && state.access_token.is_empty() {
            State { access_token: d.xoauth2_access_token.clone(), expires_at: 0, refresh_token: d.xoauth2_refresh_token.clone() }
        } else {
            state
        };
        Ok(Some(TokenSource {
            endpoint,
            client_id: d.xoauth2_client_id.clone(),
            client_secret: d.xoauth2_client_secret.clone(),
            store,
            state: tokio::sync::Mutex::new(state),
        }))
    }

    /// A token valid for at least [`MARGIN`], refreshed first when needed.
    pub async fn token(&self) -> Result<String, TokenError> {
        let mut st = self.state.lock().await;
        let fresh = !st.access_token.is_empty() && (st.expires_at == 0 || now() + MARGIN.as_secs() < st.expires_at);
        if !fresh {
            self.refresh(&mut st).await?;
        }
        Ok(st.access_token.clone())
    }

    /// The server refused `token`: forget it, so the next [`token`](Self::token) refreshes.
    pub async fn refused(&self, token: &str) {
        let mut st = self.state.lock().await;
        if st.access_token == token {
            st.access_token.clear();
        }
    }

    async fn refresh(&self, st: &mut State) -> Result<(), TokenError> {
        if st.refresh_token.is_empty() {
            return Err(TokenError::NoToken);
        }
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
            form(&st.refresh_token),
            form(&self.client_id),
            form(&self.client_secret)
        );
        let headers = vec![
            (hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded")),
            (HeaderName::from_static("accept"), HeaderValue::from_static("application/json")),
        ];
        let answer = self
            .endpoint
            .post_keeping(headers, Bytes::from(body), TIMEOUT, MAX_ANSWER)
            .await
            .map_err(|e| TokenError::Refresh(e.to_string()))?;
        if !(200..300).contains(&answer.status) {
            return Err(TokenError::Refresh(answer.describe()));
        }
        let grant: Grant = serde_json::from_slice(&answer.body)
            .map_err(|e| TokenError::Refresh(format!("token endpoint answer is not a token grant: {e}")))?;
        st.access_token = grant.access_token;
        // Without expires_in, assume the common hour rather than "forever".
        st.expires_at = now() + grant.expires_in.unwrap_or(3600);
        if let Some(r) = grant.refresh_token.filter(|r| !r.is_empty()) {
            st.refresh_token = r;
        }
        tracing::info!(expires_in = st.expires_at - now(), "OAuth2 access token refreshed");
        self.save(st)
    }

    fn save(&self, st: &State) -> Result<(), TokenError> {
        let data = serde_json::to_vec(st).expect("token state serializes");
        crate::directory::users::write_private(&self.store, &data)
            .map_err(|source| TokenError::Store { path: self.store.display().to_string(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_escaping() {
        assert_eq!(form("a b/c+d=e&f~"), "a%20b%2Fc%2Bd%3De%26f~");
    }
}
