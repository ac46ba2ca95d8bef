//! The public HTTP API on `http.bind`: routes, the middleware around them (rate limit,
//! bearer tokens per scope, request metrics) and the listener (plain or TLS).
use super::auth::{self, Scope};
use super::error::{self, ApiError};
use super::state::{Client, Shared};
use super::tls::TlsListener;
use crate::limits::Key;
use super::{admin, health, messages, mta_sts, queue, send};
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub fn router(api: Shared) -> Router {
    let sending = Router::new()
        .route("/v1/send", post(send::send))
        .route("/send", post(send::send))
        .route("/v1/messages", post(messages::public))
        .route_layer(from_fn_with_state(api.clone(), require_send));
    let admin = queue::routes().merge(admin::routes()).route_layer(from_fn_with_state(api.clone(), require_admin));
    let limited = sending.merge(admin).route_layer(from_fn_with_state(api.clone(), rate_limit));
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/.well-known/mta-sts.txt", get(mta_sts::policy))
        .merge(limited)
        .route_layer(from_fn(track))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(api)
}

fn trusted(api: &Shared, client: &Client) -> bool {
    crate::app::policy::is_trusted(&api.ctx.config, client.addr.ip())
}

async fn require_send(
    State(api): State<Shared>,
    ConnectInfo(client): ConnectInfo<Client>,
    req: Request,
    next: Next,
) -> Response {
    match auth::check(Scope::Send, &api.send_tokens, req.headers(), trusted(&api, &client)) {
        Ok(()) => next.run(req).await,
        Err(e) => refuse(&client, e),
    }
}

async fn require_admin(
    State(api): State<Shared>,
    ConnectInfo(client): ConnectInfo<Client>,
    req: Request,
    next: Next,
) -> Response {
    match auth::check(Scope::Admin, &api.admin_tokens, req.headers(), false) {
        Ok(()) => next.run(req).await,
        Err(e) => refuse(&client, e),
    }
}

fn refuse(client: &Client, e: ApiError) -> Response {
    tracing::info!(client = %client.addr.ip(), error = %e, "http request refused");
    e.into_response()
}

async fn rate_limit(
    State(api): State<Shared>,
    ConnectInfo(client): ConnectInfo<Client>,
    req: Request,
    next: Next,
) -> Response {
    match api.limiter.take(Key::Ip(client.addr.ip())).await {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let limit = api.limiter.count();
            refuse(&client, ApiError::RateLimited { limit, retry_after: wait.as_secs().max(1) })
        }
    }
}

/// Counts requests by route pattern and status (never by raw path: ids would explode
/// the label set).
async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("other", |m| m.as_str()).to_string();
    let resp = next.run(req).await;
    crate::metrics::http_request(route, resp.status().as_u16());
    resp
}

/// The bound public listener, plain or TLS.
pub enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// Binds `http.bind` (None when it is ""), logging `listening kind=http addr=...`.
pub async fn bind(api: &Shared) -> std::io::Result<Option<(Bound, std::net::SocketAddr)>> {
    let cfg = &api.ctx.config.http;
    if cfg.bind.is_empty() {
        tracing::info!("http API disabled (http.bind is empty)");
        return Ok(None);
    }
    let tcp = TcpListener::bind(&cfg.bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {} (http): {e}", cfg.bind)))?;
    let addr = tcp.local_addr()?;
    tracing::info!(kind = %"http", addr = %addr, tls = cfg.tls, "listening");
    let bound = if cfg.tls { Bound::Tls(TlsListener::new(tcp, api.ctx.clone())) } else { Bound::Plain(tcp) };
    Ok(Some((bound, addr)))
}

/// Serves until shutdown, then lets requests in progress finish.
pub async fn serve(bound: Bound, api: Shared) {
    let mut shutdown = api.ctx.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let app = router(api).into_make_service_with_connect_info::<Client>();
    let result = match bound {
        Bound::Plain(l) => axum::serve(l, app).with_graceful_shutdown(stop).await,
        Bound::Tls(l) => axum::serve(l, app).with_graceful_shutdown(stop).await,
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "http API failed");
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Client {
    fn connect_info(s: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Client { addr: *s.remote_addr(), tls: None }
    }
}
