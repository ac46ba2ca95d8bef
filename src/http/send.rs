//! `POST /v1/send` and `POST /send`: JSON in, MIME message built, queued, `202` out.
use super::api::Queued;
use super::error::ApiError;
use super::state::{Client, Shared};
use super::submit::{self, Envelope};
use super::{body, mime, request};
use crate::app::draft::Message;
use crate::proto::smtp::address::Address;
use crate::queue::QueueId;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};

pub async fn send(
    State(api): State<Shared>,
    ConnectInfo(client): ConnectInfo<Client>,
    headers: HeaderMap,
    req: axum::body::Body,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    body::require_json(&headers)?;
    let raw = body::read(&headers, req, api.body_limit).await?;
    let cfg = &api.ctx.config;
    let mail = request::parse(&raw)?.validate(cfg.limits.recipients)?;
    let rcpts = mail.to.iter().chain(&mail.cc).chain(&mail.bcc).map(|m| m.address.clone()).collect();
    let env = Envelope { mail_from: Some(mail.from.address.clone()), rcpt_to: dedup(rcpts) };
    // Policy before building: a refused sender costs no MIME work.
    submit::check_sender(&api.ctx, env.mail_from.as_ref())?;
    let message = Message::from_vec(QueueId::generate(), mime::build(mail, &cfg.server.hostname));
    let queued = submit::queue(&api.ctx, env, submit::origin(Some(&client), "HTTP"), message).await?;
    Ok(submit::accepted(queued))
}

/// Each envelope recipient once, however often it appears in to, cc and bcc.
fn dedup(list: Vec<Address>) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::with_capacity(list.len());
    for a in list {
        let key = submit::ascii(&a);
        if !out.iter().any(|o| submit::ascii(o).eq_ignore_ascii_case(&key)) {
            out.push(a);
        }
    }
    out
}
