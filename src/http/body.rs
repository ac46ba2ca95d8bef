//! Reading request bodies under a size limit, and the line-ending fix for raw messages.
use super::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

/// Collects `body`, refusing (413) as soon as it exceeds `limit` bytes — before reading
/// it at all when Content-Length already says so.
pub async fn read(headers: &HeaderMap, body: Body, limit: u64) -> Result<Vec<u8>, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge(limit));
    }
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(ApiError::TooLarge(limit)),
        Err(e) => Err(ApiError::bad_request(format!("cannot read the request body: {e}"))),
    }
}

/// Requires a JSON content type (a form post by mistake gets a clear 415).
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!("{ct:?}; send application/json")))
    }
}

/// Converts LF and lone CR line endings to CRLF (files posted with `curl --data-binary`
/// usually have bare LF; SMTP needs CRLF).
pub fn crlf(input: &[u8]) -> Vec<u8> {
    crate::smtp::data::to_crlf(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_normalises_every_line_ending() {
        assert_eq!(crlf(b"a\nb\r\nc\rd\n\n"), b"a\r\nb\r\nc\r\nd\r\n\r\n");
        assert_eq!(crlf(b"no newline"), b"no newline");
        assert_eq!(crlf(b"\r\r\n"), b"\r\n\r\n");
    }

    #[tokio::test]
    async fn body_limit() {
        let h = HeaderMap::new();
        assert_eq!(read(&h, Body::from("12345"), 5).await.unwrap(), b"12345");
        assert_eq!(read(&h, Body::from("123456"), 5).await, Err(ApiError::TooLarge(5)));
        let mut declared = HeaderMap::new();
        declared.insert(header::CONTENT_LENGTH, "100".parse().unwrap());
        assert_eq!(read(&declared, Body::from("1"), 5).await, Err(ApiError::TooLarge(5)));
    }
}
