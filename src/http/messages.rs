//! `POST /v1/messages`: a raw RFC 5322 message plus its envelope, from the query
//! (`mail_from`, `rcpt_to` repeated or comma-separated) and/or the headers
//! `X-Postern-Mail-From` / `X-Postern-Rcpt-To`. The public route needs a send token; the
//! control socket's copy (used by `postern send` / `sendmail`) does not.
use super::api::Queued;
use super::error::ApiError;
use super::state::{Client, Shared};
use super::submit::{self, Envelope};
use super::body;
use crate::app::Services;
use crate::app::draft::{Draft, Message};
use crate::proto::smtp::address::Address;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};

pub const MAIL_FROM_HEADER: &str = "x-postern-mail-from";
pub const RCPT_TO_HEADER: &str = "x-postern-rcpt-to";

/// The public route: `http.body_limit`, via "HTTP".
pub async fn public(
    State(api): State<Shared>,
    ConnectInfo(client): ConnectInfo<Client>,
    uri: Uri,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let env = envelope(&uri, &headers)?;
    let message = receive(&api.ctx, &headers, req, api.body_limit).await?;
    let queued = submit::queue(&api.ctx, env, submit::origin(Some(&client), "HTTP"), message).await?;
    Ok(submit::accepted(queued))
}

/// The control socket route: `limits.message_size`, via "local".
pub async fn local(
    State(api): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let env = envelope(&uri, &headers)?;
    let message = receive(&api.ctx, &headers, req, api.ctx.config.limits.message_size).await?;
    let queued = submit::queue(&api.ctx, env, submit::origin(None, "local"), message).await?;
    Ok(submit::accepted(queued))
}

/// Streams the request body to the queue's storage as it arrives (line endings fixed to
/// CRLF, a final CRLF added), then checks it looks like a message: a header field first.
async fn receive(ctx: &Services, headers: &HeaderMap, req: axum::body::Body, limit: u64) -> Result<Message, ApiError> {
    let mut draft = Draft::new(ctx);
    body::stream_into(headers, req, limit, &mut draft).await?;
    let message = draft.finish().await.map_err(|e| {
        tracing::error!(error = %e, "cannot store the posted message");
        ApiError::Unavailable("cannot store the message now; try again later".into())
    })?;
    check_first_line(&message.header)?;
    Ok(message)
}

/// The message must start with a header field (a name of printable characters, a colon).
fn check_first_line(header: &[u8]) -> Result<(), ApiError> {
    let first = header.split(|b| *b == b'\n').next().unwrap_or_default();
    let name_len = first.iter().position(|b| *b == b':');
    let is_field = name_len.is_some_and(|n| n > 0 && first[..n].iter().all(|b| (33..=126).contains(b)));
    if !is_field {
        return Err(ApiError::bad_request("the body is not an RFC 5322 message: it must start with a header field"));
    }
    Ok(())
}

/// Values of `name` from the query and the headers; each may be a comma list.
fn values(pairs: &[(String, String)], headers: &HeaderMap, name: &str, header: &str) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect();
    for v in headers.get_all(header) {
        out.push(v.to_str().map_err(|_| ApiError::bad_request(format!("{header} is not ASCII")))?.to_string());
    }
    Ok(out)
}

fn address(field: &str, s: &str) -> Result<Address, ApiError> {
    let bare = s.trim().trim_start_matches('<').trim_end_matches('>');
    Address::parse(bare, true).map_err(|e| ApiError::BadAddress { field: field.into(), address: s.into(), reason: e.to_string() })
}

/// The envelope from the query string and headers.
pub fn envelope(uri: &Uri, headers: &HeaderMap) -> Result<Envelope, ApiError> {
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?
        .0;
    let from = values(&pairs, headers, "mail_from", MAIL_FROM_HEADER)?;
    let mail_from = match from.as_slice() {
        [] => return Err(ApiError::bad_request("mail_from is required (query mail_from= or header X-Postern-Mail-From; \"<>\" for the null sender)")),
        [one] if one.trim().is_empty() || one.trim() == "<>" => None,
        [one] => Some(address("mail_from", one)?),
        _ => return Err(ApiError::bad_request("mail_from given more than once")),
    };
    let mut rcpt_to = Vec::new();
    for v in values(&pairs, headers, "rcpt_to", RCPT_TO_HEADER)? {
        for one in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            rcpt_to.push(address("rcpt_to", one)?);
        }
    }
    if rcpt_to.is_empty() {
        return Err(ApiError::bad_request("rcpt_to is required (query rcpt_to=, repeatable or comma-separated, or header X-Postern-Rcpt-To)"));
    }
    Ok(Envelope { mail_from, rcpt_to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(q: &str, h: &[(&str, &str)]) -> Result<Envelope, ApiError> {
        let uri: Uri = format!("/v1/messages?{q}").parse().unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in h {
            headers.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        envelope(&uri, &headers)
    }

    #[test]
    fn envelope_from_query_and_headers() {
        let e = env("mail_from=a%40example.com&rcpt_to=b@example.net,c@example.net&rcpt_to=%3Cd@example.net%3E", &[]).unwrap();
        assert_eq!(e.mail_from.unwrap().to_string(), "a@example.com");
        let r: Vec<String> = e.rcpt_to.iter().map(|a| a.to_string()).collect();
        assert_eq!(r, ["b@example.net", "c@example.net", "d@example.net"]);
        let e = env("", &[("X-Postern-Mail-From", "<>"), ("X-Postern-Rcpt-To", "x@example.net"), ("X-Postern-Rcpt-To", "y@example.net")]).unwrap();
        assert_eq!((e.mail_from, e.rcpt_to.len()), (None, 2));
    }

    #[test]
    fn envelope_errors() {
        assert!(env("rcpt_to=b@example.net", &[]).unwrap_err().to_string().contains("mail_from is required"));
        assert!(env("mail_from=a@example.com", &[]).unwrap_err().to_string().contains("rcpt_to is required"));
        assert!(matches!(env("mail_from=a@example.com&rcpt_to=nope", &[]), Err(ApiError::BadAddress { .. })));
        assert!(env("mail_from=a@x.test&mail_from=b@x.test&rcpt_to=c@x.test", &[]).is_err());
    }

    #[test]
    fn a_message_starts_with_a_header_field() {
        assert!(check_first_line(b"Subject: x\r\n").is_ok());
        assert!(check_first_line(b"").is_err());
        assert!(check_first_line(b"just a body\r\n").is_err());
        assert!(check_first_line(b": no name\r\n").is_err());
    }
}
