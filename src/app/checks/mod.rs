//! Inbound mail authentication for mail from untrusted clients of `smtp` listeners:
//! reverse DNS (FCrDNS), SPF for MAIL FROM and HELO, DKIM, DMARC with alignment and policy,
//! ARC chain validation, one Authentication-Results header (RFC 8601), optional ARC seal.
//!
//! Owns: the `Checker` built once at start-up (mail-auth over a hickory resolver with its
//! cache), the verdict for one message at end of DATA, and removing forged
//! Authentication-Results for our authserv-id. Must not touch: the queue, session state,
//! reply texts (picked from `smtp::Reply`).
mod forged;
mod policy;
mod report;
pub mod resolver;
mod seal;
mod spf_syntax;
mod verify;

use policy::Action;
pub use report::QUARANTINE_HEADER;

use super::Services;
use super::draft::Message;
use super::received::Origin;
use crate::config::{Config, Inbound, ListenerKind};
use crate::proto::smtp::Reply;
use mail_auth::MessageAuthenticator;

/// Why the checker could not be built at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("inbound.resolver: {0}")]
    Resolver(String),
    #[error("inbound.arc_seal: {0}")]
    Seal(String),
}

/// Everything the checks need, shared by all sessions.
pub struct Checker {
    auth: MessageAuthenticator,
    settings: Inbound,
    authserv_id: String,
    /// Our host name, for SPF's %{r} macro.
    hostname: String,
    sealer: Option<seal::Sealer>,
}

impl Checker {
    /// None when `inbound.checks` is off.
    pub fn from_config(cfg: &Config) -> Result<Option<Checker>, SetupError> {
        let i = &cfg.inbound;
        if !i.checks {
            return Ok(None);
        }
        let spec = if i.resolver.is_empty() { &cfg.delivery.resolver } else { &i.resolver };
        let auth = resolver::authenticator(spec).map_err(SetupError::Resolver)?;
        let sealer = match i.arc_seal {
            true => Some(seal::Sealer::load(&cfg.dkim, &i.arc_domain).map_err(SetupError::Seal)?),
            false => None,
        };
        Ok(Some(Checker {
            auth,
            settings: i.clone(),
            authserv_id: authserv_id(cfg),
            hostname: cfg.server.hostname.clone(),
            sealer,
        }))
    }

    /// Runs every check; Ok holds the header fields to put on top of the message.
    pub async fn evaluate(&self, origin: &Origin, mail_from: &str, body: &[u8]) -> Result<String, Reply> {
        let verified = verify::run(self, origin, mail_from, body).await;
        match verified.action {
            Action::Accept => Ok(verified.header_fields),
            Action::Quarantine(why) => {
                tracing::info!(client = %origin.ip, reason = %why, "marked for quarantine");
                Ok(verified.header_fields + &report::quarantine(&why))
            }
            Action::Reject(reply) | Action::Defer(reply) => {
                tracing::info!(client = %origin.ip, from = %format!("<{mail_from}>"), reply = %reply, "message refused by authentication policy");
                Err(reply)
            }
        }
    }
}

/// `inbound.authserv_id`, or the host name when unset.
pub fn authserv_id(cfg: &Config) -> String {
    let id = &cfg.inbound.authserv_id;
    if id.is_empty() { cfg.server.hostname.clone() } else { id.clone() }
}

/// End of DATA: mail from outside our domain (neither authenticated nor trusted) loses
/// Authentication-Results claiming to be ours; on `smtp` listeners it is then checked.
/// Returns the message to queue (only its header section changes), or the reply that
/// refuses it.
pub async fn screen(
    ctx: &Services,
    kind: ListenerKind,
    origin: &Origin,
    mail_from: &str,
    mut msg: Message,
) -> Result<Message, Reply> {
    if origin.may_relay {
        return Ok(msg);
    }
    // Verify what the sender sent (a signer may have covered any field), then clean up.
    let fields = match ctx.checks.as_ref().filter(|_| kind == ListenerKind::Smtp) {
        Some(checker) => {
            // A large message is read from its mapped file, not copied to the heap.
            let original = msg.original.map().map_err(|e| {
                tracing::error!(id = %msg.id, error = %e, "cannot read the received message");
                Reply::local_error()
            })?;
            checker.evaluate(origin, mail_from, &original).await?
        }
        None => String::new(),
    };
    let (header, removed) = forged::strip(std::mem::take(&mut msg.header), &authserv_id(&ctx.config));
    if removed > 0 {
        tracing::info!(client = %origin.ip, removed, "removed forged Authentication-Results");
    }
    msg.header = Vec::with_capacity(fields.len() + header.len());
    msg.header.extend_from_slice(fields.as_bytes());
    msg.header.extend_from_slice(&header);
    Ok(msg)
}
