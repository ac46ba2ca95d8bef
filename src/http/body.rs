//! Reading request bodies under a size limit: collected (JSON) or streamed to the queue's
//! storage with line endings fixed (raw messages).
use super::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use crate::app::draft::Draft;
use crate::proto::smtp::CrlfNormalizer;
use http_body_util::BodyExt;
use std::time::Duration;

/// Most of a refused body read and thrown away, and how long that may take (nginx's
/// lingering close): the client that is still sending then reads our 413 instead of
/// failing with a broken pipe.
const DRAIN_BYTES: usize = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Collects `body`, refusing (413) as soon as it exceeds `limit` bytes — without keeping
/// any of it when Content-Length already says so. The rest of a refused body is drained.
pub async fn read(headers: &HeaderMap, mut body: Body, limit: u64) -> Result<Vec<u8>, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(body).await;
        return Err(ApiError::TooLarge(limit));
    }
    let mut out = Vec::with_capacity(declared.map_or(0, |n| usize::try_from(n).unwrap_or(0)));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        if (out.len() + data.len()) as u64 > limit {
            drain(body).await;
            return Err(ApiError::TooLarge(limit));
        }
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// Streams `body` into `draft` as it arrives: line endings fixed to CRLF (files posted
/// with `curl --data-binary` usually have bare LF), a final CRLF added. 413 past `limit`
/// (the rest drained), 400 when empty or with a NUL byte. Nothing is collected in memory.
pub async fn stream_into(headers: &HeaderMap, mut body: Body, limit: u64, draft: &mut Draft) -> Result<(), ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(body).await;
        return Err(ApiError::TooLarge(limit));
    }
    let (mut seen, mut normalizer, mut out, mut last) = (0u64, CrlfNormalizer::default(), Vec::new(), 0u8);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len() as u64;
        if seen > limit {
            drain(body).await;
            return Err(ApiError::TooLarge(limit));
        }
        if memchr::memchr(0, &data).is_some() {
            drain(body).await;
            return Err(ApiError::bad_request("the message contains a NUL byte"));
        }
        out.clear();
        normalizer.push(&data, &mut out);
        last = out.last().copied().unwrap_or(last);
        draft.write(&out).await;
    }
    if seen == 0 {
        return Err(ApiError::bad_request("the message is empty"));
    }
    if last != b'\n' {
        draft.write(b"\r\n").await;
    }
    Ok(())
}

/// Reads and drops what the client still sends, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(mut body: Body) {
    let mut left = DRAIN_BYTES;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            let n = frame.data_ref().map_or(0, |d| d.len());
            left = left.saturating_sub(n);
            if left == 0 {
                break;
            }
        }
    })
    .await;
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


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_normalises_every_line_ending() {
        assert_eq!(crate::proto::smtp::data::to_crlf(b"a\nb\r\nc\rd\n\n"), b"a\r\nb\r\nc\r\nd\r\n\r\n");
        assert_eq!(crate::proto::smtp::data::to_crlf(b"no newline"), b"no newline");
        assert_eq!(crate::proto::smtp::data::to_crlf(b"\r\r\n"), b"\r\n\r\n");
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
