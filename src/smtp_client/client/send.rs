//! One mail transaction: MAIL, RCPTs, DATA and the body, with per-recipient outcomes.
//! PIPELINING (RFC 2920) sends MAIL+RCPTs+DATA in one write; otherwise lockstep.
use super::{ClientError, SmtpClient, Stage};
use crate::proto::smtp::Command;
use crate::proto::smtp::address::{Address, ForwardPath, ReversePath};
use crate::proto::smtp::command::{Body, MailParams, Notify, RcptParams, Ret};
use crate::proto::smtp::data::DotStuffer;
use crate::queue::Content;
use futures_util::StreamExt;
use crate::proto::smtp::reply::Reply;

/// Largest single write of message data (each write gets the data-block timeout).
const BODY_CHUNK: usize = 64 * 1024;

/// A recipient as the queue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRcpt<'a> {
    pub address: &'a str,
    pub notify: Option<Notify>,
    /// DSN ORCPT as `addr-type;address`.
    pub orcpt: Option<&'a str>,
}

/// What to send: envelope plus the complete message (headers included, CRLF lines).
#[derive(Debug, Clone)]
pub struct OutboundMessage<'a> {
    /// Empty for the null reverse-path `<>` (bounces).
    pub mail_from: &'a str,
    pub recipients: Vec<OutboundRcpt<'a>>,
    /// The message as queued; streamed from its file when it has one.
    pub body: Content,
    /// The envelope or headers need SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// The body has 8-bit octets: send BODY=8BITMIME when the server offers it.
    pub body_8bit: bool,
    pub envid: Option<&'a str>,
    pub ret: Option<Ret>,
}

/// What became of one recipient in this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeKind {
    /// The server took responsibility (2xx after the final dot).
    Delivered,
    /// Try again later.
    Deferred,
    /// Permanent failure: bounce.
    Bounced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptOutcome {
    pub address: String,
    /// `Ok(final reply)` when delivered; otherwise why not.
    pub result: Result<Reply, ClientError>,
}

impl RcptOutcome {
    pub fn kind(&self) -> OutcomeKind {
        match &self.result {
            Ok(_) => OutcomeKind::Delivered,
            Err(e) if e.is_permanent() => OutcomeKind::Bounced,
            Err(_) => OutcomeKind::Deferred,
        }
    }

    /// Log/DSN text: the accepting reply, or the Postfix-style failure text.
    pub fn text(&self) -> String {
        match &self.result {
            Ok(reply) => reply.to_string(),
            Err(e) => e.text(),
        }
    }
}

/// Per-recipient slots while the transaction runs; `None` = accepted by RCPT so far.
type Slots = Vec<Option<Result<Reply, ClientError>>>;

impl SmtpClient {
    /// Runs one transaction on an established session. The connection stays reusable
    /// afterwards unless `is_usable()` says otherwise.
    ///
    /// `Err` means no recipient got a definitive answer (session broke before all RCPT
    /// replies, MAIL FROM rejected, 421 during the envelope, message too big, SMTPUTF8
    /// unsupported). Once every
    /// RCPT was answered the result is `Ok` with one outcome per recipient, in order; a
    /// failure during DATA then becomes the outcome of each accepted recipient.
    pub async fn send(
        &mut self,
        msg: &OutboundMessage<'_>,
    ) -> Result<Vec<RcptOutcome>, ClientError> {
        self.check_usable()?;
        let size = msg.body.len();
        if let Some(limit) = self.ext.size_limit().filter(|&limit| size > limit) {
            return Err(ClientError::TooBig {
                peer: self.peer.clone(),
                size,
                limit,
            });
        }
        if msg.smtputf8 && !self.ext.smtputf8 {
            return Err(ClientError::Smtputf8NotOffered {
                peer: self.peer.clone(),
            });
        }
        let mail = self.mail_command(msg)?;
        let mut slots: Slots = vec![None; msg.recipients.len()];
        let mut rcpts = Vec::with_capacity(msg.recipients.len());
        for (i, rcpt) in msg.recipients.iter().enumerate() {
            match self.rcpt_command(msg, rcpt) {
                Ok(cmd) => rcpts.push((i, cmd)),
                Err(e) => slots[i] = Some(Err(e)),
            }
        }
        if !rcpts.is_empty() {
            let data_reply = if self.ext.pipelining {
                self.envelope_pipelined(&mail, &rcpts, &mut slots).await?
            } else {
                self.envelope_lockstep(&mail, &rcpts, &mut slots).await?
            };
            self.finish(msg, data_reply, &mut slots).await;
        }
        Ok(msg
            .recipients
            .iter()
            .zip(slots)
            .map(|(rcpt, slot)| RcptOutcome {
                address: rcpt.address.to_string(),
                result: slot.unwrap_or_else(|| {
                    Err(ClientError::Closed {
                        peer: self.peer.clone(),
                    })
                }),
            })
            .collect())
    }

    /// MAIL, RCPTs and DATA in one write, then the replies in order (RFC 2920 §3.1).
    /// Returns the DATA reply; fills `slots` for rejected recipients.
    async fn envelope_pipelined(
        &mut self,
        mail: &Command,
        rcpts: &[(usize, Command)],
        slots: &mut Slots,
    ) -> Result<Option<Reply>, ClientError> {
        let mut batch = mail.encode();
        for (_, cmd) in rcpts {
            batch.extend_from_slice(&cmd.encode());
        }
        batch.extend_from_slice(&Command::Data.encode());
        self.write(&batch, Stage::MailFrom).await?;
        let mail_reply = self.read_reply(Stage::MailFrom).await?;
        if mail_reply.code == 421 {
            return Err(self.rejected(Stage::MailFrom, mail_reply));
        }
        // After a rejected MAIL the other replies are noise; that rejection is the news.
        let mail_reject =
            (!is_2xx(&mail_reply)).then(|| self.rejected(Stage::MailFrom, mail_reply));
        let mut rcpt_replies = Vec::with_capacity(rcpts.len());
        for _ in rcpts {
            match self.read_reply(Stage::RcptTo).await {
                // The server is closing: nothing after this will be answered.
                Ok(reply) if reply.code == 421 => return Err(self.rejected(Stage::RcptTo, reply)),
                Ok(reply) => rcpt_replies.push(reply),
                Err(e) => return Err(mail_reject.unwrap_or(e)),
            }
        }
        let data_reply = match self.read_reply(Stage::Data).await {
            Ok(reply) => reply,
            Err(e) => return Err(mail_reject.unwrap_or(e)),
        };
        if let Some(err) = mail_reject {
            if data_reply.code == 354 {
                // A server that accepted DATA anyway gets an empty message (RFC 2920 §3.1).
                self.end_empty_data().await;
            }
            return Err(err);
        }
        for ((i, _), reply) in rcpts.iter().zip(rcpt_replies) {
            if !is_2xx(&reply) {
                slots[*i] = Some(Err(self.rejected(Stage::RcptTo, reply)));
            }
        }
        if slots.iter().all(Option::is_some) && data_reply.code == 354 {
            self.end_empty_data().await;
            return Ok(None);
        }
        Ok(Some(data_reply))
    }

    /// One command at a time; DATA only when a recipient was accepted.
    async fn envelope_lockstep(
        &mut self,
        mail: &Command,
        rcpts: &[(usize, Command)],
        slots: &mut Slots,
    ) -> Result<Option<Reply>, ClientError> {
        let reply = self.command(mail, Stage::MailFrom).await?;
        if !is_2xx(&reply) {
            return Err(self.rejected(Stage::MailFrom, reply));
        }
        for (i, cmd) in rcpts {
            let reply = self.command(cmd, Stage::RcptTo).await?;
            if reply.code == 421 {
                return Err(self.rejected(Stage::RcptTo, reply));
            }
            if !is_2xx(&reply) {
                slots[*i] = Some(Err(self.rejected(Stage::RcptTo, reply)));
            }
        }
        if slots.iter().all(Option::is_some) {
            return Ok(None);
        }
        Ok(Some(self.command(&Command::Data, Stage::Data).await?))
    }

    /// After the envelope: RSET when nothing was accepted, else the body and final reply.
    async fn finish(&mut self, msg: &OutboundMessage<'_>, data: Option<Reply>, slots: &mut Slots) {
        let Some(data_reply) = data else {
            let _ = self.rset().await;
            return;
        };
        if data_reply.code != 354 {
            let err = self.rejected(Stage::Data, data_reply);
            fill_accepted(slots, &Err(err));
            let _ = self.rset().await;
            return;
        }
        let result = self.transfer_body(&msg.body).await;
        let result = match result {
            Ok(reply) if is_2xx(&reply) => Ok(reply),
            Ok(reply) => Err(self.rejected(Stage::EndOfData, reply)),
            Err(e) => Err(e),
        };
        fill_accepted(slots, &result);
    }

    /// The body dot-stuffed while it is streamed (from memory or its file, in chunks),
    /// then `.` and the final reply. A read error drops the connection mid-DATA, so the
    /// server never takes a partial message.
    async fn transfer_body(&mut self, body: &Content) -> Result<Reply, ClientError> {
        let mut stuffer = DotStuffer::default();
        let mut wire = Vec::with_capacity(BODY_CHUNK + BODY_CHUNK / 16);
        let mut parts = body.stream();
        while let Some(part) = parts.next().await {
            let part = part.map_err(|e| self.lost(Stage::Body, format!("cannot read the queued message: {e}")))?;
            for chunk in part.chunks(BODY_CHUNK) {
                wire.clear();
                stuffer.push(chunk, &mut wire);
                self.write(&wire, Stage::Body).await?;
            }
        }
        wire.clear();
        stuffer.finish(&mut wire);
        self.write(&wire, Stage::EndOfData).await?;
        self.read_reply(Stage::EndOfData).await
    }

    /// Ends a DATA that should not have been accepted with an empty message, and resets.
    async fn end_empty_data(&mut self) {
        if self.write(b".\r\n", Stage::EndOfData).await.is_ok() {
            let _ = self.read_reply(Stage::EndOfData).await;
        }
    }

    fn mail_command(&self, msg: &OutboundMessage<'_>) -> Result<Command, ClientError> {
        let from = if msg.mail_from.is_empty() {
            ReversePath::Null
        } else {
            ReversePath::Path(self.wire_address(msg.mail_from, msg.smtputf8, true)?)
        };
        let ext = &self.ext;
        let params = MailParams {
            size: ext.size.map(|_| msg.body.len()),
            body: (msg.body_8bit && ext.eightbitmime).then_some(Body::EightBitMime),
            smtputf8: msg.smtputf8,
            ret: msg.ret.filter(|_| ext.dsn),
            envid: msg.envid.filter(|_| ext.dsn).map(str::to_string),
            auth: None,
        };
        Ok(Command::Mail { from, params })
    }

    fn rcpt_command(
        &self,
        msg: &OutboundMessage<'_>,
        rcpt: &OutboundRcpt<'_>,
    ) -> Result<Command, ClientError> {
        let address = self.wire_address(rcpt.address, msg.smtputf8, false)?;
        let params = if self.ext.dsn {
            RcptParams {
                notify: rcpt.notify,
                orcpt: rcpt.orcpt.map(str::to_string),
            }
        } else {
            RcptParams::default()
        };
        Ok(Command::Rcpt {
            to: ForwardPath {
                address,
                source_route: Vec::new(),
            },
            params,
        })
    }

    /// Parses a stored address; without SMTPUTF8 an IDN domain goes out as A-labels.
    fn wire_address(&self, s: &str, smtputf8: bool, sender: bool) -> Result<Address, ClientError> {
        let mut address = Address::parse(s, true).map_err(|e| ClientError::BadAddress {
            address: s.to_string(),
            sender,
            reason: e.to_string(),
        })?;
        if !smtputf8 {
            address.domain = address.domain_ascii();
        }
        Ok(address)
    }
}

/// Gives every still-accepted recipient the same result.
fn fill_accepted(slots: &mut Slots, result: &Result<Reply, ClientError>) {
    for slot in slots.iter_mut().filter(|s| s.is_none()) {
        *slot = Some(result.clone());
    }
}

/// Only 2xx accepts MAIL, RCPT or the message (a 3xx there is a protocol oddity).
fn is_2xx(reply: &Reply) -> bool {
    (200..300).contains(&reply.code)
}
