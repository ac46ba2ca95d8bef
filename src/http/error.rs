//! API errors: one enum, one mapping to an HTTP status, one JSON shape.
//!
//! Owns: every error text the HTTP API answers with. Handlers return `ApiError`;
//! `IntoResponse` turns it into `{"ok":false,"error":"..."}` with the right status (plus
//! `"field"` for a validation error that names the request field at fault).
use super::api::ErrorBody;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("missing bearer token (send `Authorization: Bearer <token>`)")]
    MissingToken,
    #[error("invalid bearer token")]
    BadToken,
    /// No token configured for the route's scope; the text says what to configure.
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// A request field that is wrong; answered with `"field"` naming it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("invalid address {address:?} in {field}: {reason}")]
    BadAddress { field: String, address: String, reason: String },
    #[error("sender domain {0:?} is not in relay.allowed_sender_domains")]
    SenderNotAllowed(String),
    #[error("header injection refused: {0} contains CR or LF")]
    HeaderInjection(String),
    #[error("request body larger than {0} bytes")]
    TooLarge(u64),
    #[error("rate limit exceeded: at most {limit} requests per minute; retry in {retry_after} s")]
    RateLimited { limit: u32, retry_after: u64 },
    /// A local user other than root or the daemon's own asked for queue administration.
    #[error("queue administration is for root and the daemon's user (uid {0} is neither)")]
    Forbidden(u32),
    #[error("{0}")]
    NotFound(String),
    /// The entry already exists (409).
    #[error("{0}")]
    Conflict(String),
    /// A limit of the domain is reached (409), answered with the field it concerns.
    #[error("{field}: {message}")]
    LimitReached { field: String, message: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unsupported content type: {0}")]
    UnsupportedMediaType(String),
    /// Temporary: the queue is full or shutting down; retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// The server cannot do this at all (501), e.g. a directory that cannot be changed.
    #[error("{0}")]
    NotImplemented(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingToken | ApiError::BadToken | ApiError::NotAllowed(_) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_)
            | ApiError::Invalid { .. }
            | ApiError::BadAddress { .. }
            | ApiError::SenderNotAllowed(_)
            | ApiError::HeaderInjection(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::LimitReached { .. } => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::BadRequest(msg.into())
    }

    /// Maps the SMTP reply `accept::enqueue` refused with: 4xx means try again (503).
    pub fn from_reply(r: &crate::proto::smtp::Reply) -> ApiError {
        if r.is_transient() {
            ApiError::Unavailable(r.text())
        } else {
            ApiError::Internal(r.text())
        }
    }

    pub fn storage(e: crate::queue::SpoolError) -> ApiError {
        match e {
            crate::queue::SpoolError::NotFound(id) => ApiError::NotFound(format!("message {id} is not in the queue")),
            crate::queue::SpoolError::Full(_) | crate::queue::SpoolError::Closed => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = self.to_string();
        let mut resp = match &self {
            ApiError::Invalid { field, .. } | ApiError::LimitReached { field, .. } => (status, Json(FieldErrorBody { ok: false, error, field: field.clone() })).into_response(),
            _ => (status, Json(ErrorBody { ok: false, error })).into_response(),
        };
        let h = resp.headers_mut();
        match &self {
            ApiError::MissingToken | ApiError::BadToken | ApiError::NotAllowed(_) => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"postern\""));
            }
            ApiError::RateLimited { retry_after, .. } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unavailable(_) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            _ => {}
        }
        resp
    }
}

/// `ErrorBody` plus the request field at fault.
#[derive(serde::Serialize)]
struct FieldErrorBody {
    ok: bool,
    error: String,
    field: String,
}

/// Fallback for unknown paths, so even a 404 is JSON.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
