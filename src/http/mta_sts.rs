//! `GET /.well-known/mta-sts.txt`: the MTA-STS policy (RFC 8461 §3.2) postern publishes
//! for `[mta_sts]` domains, answered only when the request's Host is `mta-sts.DOMAIN` of
//! one of them (404 for every other host). Senders fetch it over HTTPS only, so the
//! listener must serve TLS with a certificate for that name (`http.tls` + ACME, which adds
//! the `mta-sts.` names on its own).
use super::state::Shared;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn policy(State(api): State<Shared>, headers: HeaderMap) -> Response {
    let cfg = &api.ctx.config;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    // Host may carry a port; names compare case-insensitively, a trailing dot is the same name.
    let name = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ours = name.strip_prefix("mta-sts.").is_some_and(|d| cfg.mta_sts_domains().iter().any(|x| x == d));
    match cfg.mta_sts_policy() {
        Some(policy) if ours => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], policy.text()).into_response(),
        _ => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "no MTA-STS policy for this host\n").into_response(),
    }
}
