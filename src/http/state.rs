//! What every HTTP handler shares: the daemon context plus the API's own settings.
use super::auth::Tokens;
use super::ratelimit::RateLimiter;
use crate::inbound::Context;
use crate::inbound::tls::TlsInfo;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct Api {
    pub ctx: Arc<Context>,
    pub send_tokens: Tokens,
    pub admin_tokens: Tokens,
    pub limiter: RateLimiter,
    /// `http.body_limit` for the public routes.
    pub body_limit: u64,
}

pub type Shared = Arc<Api>;

impl Api {
    pub fn new(ctx: Arc<Context>) -> Shared {
        let http = &ctx.config.http;
        Arc::new(Api {
            send_tokens: Tokens::new(&http.tokens),
            admin_tokens: Tokens::new(&http.admin_tokens),
            limiter: RateLimiter::new(http.rate_limit),
            body_limit: http.body_limit,
            ctx,
        })
    }
}

/// The peer of a public API connection (axum `ConnectInfo`).
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// Set when the API is served over HTTPS.
    pub tls: Option<TlsInfo>,
}

/// Config checks for the keys this module added (`check config` and daemon start).
pub fn config_errors(cfg: &crate::config::Config) -> Vec<String> {
    let mut errs = Vec::new();
    for (i, t) in cfg.http.admin_tokens.iter().enumerate() {
        if t.len() < 32 {
            errs.push(format!("http.admin_tokens[{i}]: must be at least 32 bytes"));
        }
        if cfg.http.tokens.contains(t) {
            errs.push(format!("http.admin_tokens[{i}]: also listed in http.tokens; use separate tokens per scope"));
        }
    }
    if cfg.http.body_limit == 0 {
        errs.push("http.body_limit: must be greater than zero".into());
    }
    errs
}
