//! What every HTTP handler shares: the daemon context plus the API's own settings.
use super::auth::Tokens;
use crate::limits::Limiter;
use crate::app::Services;
use crate::net::tls::TlsInfo;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct Api {
    pub ctx: Arc<Services>,
    pub send_tokens: Tokens,
    pub admin_tokens: Tokens,
    pub limiter: Arc<dyn Limiter>,
    /// `http.body_limit` for the public routes.
    pub body_limit: u64,
}

pub type Shared = Arc<Api>;

impl Api {
    pub fn new(ctx: Arc<Services>) -> Shared {
        let http = &ctx.config.http;
        Arc::new(Api {
            send_tokens: Tokens::new(&http.tokens),
            admin_tokens: Tokens::new(&http.admin_tokens),
            limiter: crate::limits::per_minute(http.rate_limit),
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

