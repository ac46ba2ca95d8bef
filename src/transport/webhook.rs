//! Webhook delivery (replaces the Postfix pipe-to-curl script): one HTTP POST per job of
//! the raw RFC 822 message (`Content-Type: message/rfc822`, byte for byte as queued) with
//! the envelope in `X-Postern-Mail-From`, `X-Postern-Rcpt-To` (comma-separated) and
//! `X-Postern-Queue-Id`, and `Authorization: Bearer TOKEN`.
//!
//! 2xx: delivered. A status listed in the route's `permanent_status`: bounced. Anything
//! else, a timeout or a connection/TLS error: deferred, and the endpoint is marked failing
//! so the scheduler backs off the whole destination. Redirects are not followed.
pub(crate) mod http;

use super::{BoxFuture, Job, JobResult, Transport, Verdict};
use crate::config::Route;
use hyper::http::{HeaderName, HeaderValue};
use std::path::PathBuf;
use std::time::Duration;

pub use http::PostError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("url {0:?} is not a valid http(s) URL")]
    Url(String),
    #[error("token_file {path}: {source}")]
    TokenFile { path: String, source: std::io::Error },
    #[error("{0}")]
    Tls(#[from] crate::smtp_client::tls::TlsConfigError),
}

pub struct WebhookTransport {
    target: http::Target,
    /// The URL without query or credentials, for logs and DSNs.
    key: String,
    authorization: Option<HeaderValue>,
    timeout: Duration,
    permanent: Vec<u16>,
}

impl WebhookTransport {
    /// Reads the token file and builds the TLS client config (webpki roots plus the
    /// route's `ca_file`, then `extra_ca`).
    pub fn new(route: &Route, extra_ca: &[PathBuf]) -> Result<WebhookTransport, WebhookError> {
        let token = match &route.token_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|source| WebhookError::TokenFile { path: p.display().to_string(), source })?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            None => route.token.clone(),
        };
        let mut cas: Vec<PathBuf> = route.ca_file.iter().cloned().collect();
        cas.extend(extra_ca.iter().cloned());
        let target = http::Target::parse(&route.url, &cas)?;
        let authorization = if token.is_empty() {
            target.basic_auth()
        } else {
            HeaderValue::from_str(&format!("Bearer {token}")).ok().map(|mut v| {
                v.set_sensitive(true);
                v
            })
        };
        Ok(WebhookTransport {
            target,
            key: webhook_key(&route.url),
            authorization,
            timeout: route.timeout.get(),
            permanent: route.permanent_status.clone(),
        })
    }

    fn headers(&self, job: &Job) -> Vec<(HeaderName, HeaderValue)> {
        let rcpts: Vec<&str> = job.rcpts.iter().map(|&i| job.env.recipients[i].address.as_str()).collect();
        let value = |s: &str| HeaderValue::from_bytes(s.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""));
        let mut h = vec![
            (hyper::header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822")),
            (HeaderName::from_static("x-postern-mail-from"), value(&job.env.mail_from)),
            (HeaderName::from_static("x-postern-rcpt-to"), value(&rcpts.join(", "))),
            (HeaderName::from_static("x-postern-queue-id"), value(&job.env.id.to_string())),
        ];
        if let Some(a) = &self.authorization {
            h.push((hyper::header::AUTHORIZATION, a.clone()));
        }
        h
    }

    async fn run(&self, job: &Job) -> JobResult {
        let outcome = self.target.post_message(self.headers(job), &job.body, self.timeout).await;
        let (verdict, status, text) = match outcome {
            Ok(r) if (200..300).contains(&r.status) => {
                (Verdict::Delivered, (2, 0, 0), format!("webhook {} said: {}", self.key, r.describe()))
            }
            Ok(r) if self.permanent.contains(&r.status) => {
                let status = if r.status == 413 { (5, 3, 4) } else { (5, 0, 0) };
                (Verdict::Failed, status, format!("webhook {} said: {}", self.key, r.describe()))
            }
            Ok(r) => (Verdict::Deferred, (4, 0, 0), format!("webhook {} said: {}", self.key, r.describe())),
            Err(e) => (Verdict::Deferred, e.status(), format!("webhook {}: {e}", self.key)),
        };
        let mut result = JobResult::all(job, verdict, status, text, &self.key);
        result.destination_failed = verdict == Verdict::Deferred;
        result
    }
}

impl Transport for WebhookTransport {
    fn name(&self) -> &'static str {
        "webhook"
    }
    fn deliver<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, JobResult> {
        Box::pin(self.run(job))
    }
}
/// `scheme://host:port/path`: the URL without query or credentials (they may hold secrets).
pub fn webhook_key(url: &str) -> String {
    match url.parse::<hyper::Uri>() {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme_str().unwrap_or("http"),
            u.authority().map_or("", |a| a.as_str().rsplit('@').next().unwrap_or("")),
            u.path()
        ),
        Err(_) => "webhook".into(),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_key_hides_credentials_and_query() {
        assert_eq!(webhook_key("https://user:pw@api.test:8443/v1/in?key=secret"), "https://api.test:8443/v1/in");
        assert_eq!(webhook_key("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x");
    }
}
