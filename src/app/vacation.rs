//! Vacation auto-replies (RFC 3834): once a message is queued, each local mailbox among its
//! final recipients whose vacation is on now answers the envelope sender, at most once per
//! the vacation's interval, never to automated or list mail.
//!
//! Owns: the decision (who is answered, and why not), the reply message and its enqueue
//! (null sender, DKIM-signed like other outbound mail). The vacations themselves and the
//! record of whom each mailbox answered live in the directory (`directory::vacation`). It
//! runs in a task of its own after the message is durable: it never delays or fails the
//! accepted message.
use super::Services;
use crate::config::Config;
use crate::directory::vacation::{Vacation, VacationStore};
use crate::directory::{Directory, Resolved, normalize};
use crate::queue::{Envelope, Queue, QueueId, Recipient};
use mail_parser::{HeaderName, MessageParser};
use std::sync::Arc;

/// Header sections longer than this are cut here (the fields that matter come first).
const MAX_HEAD: usize = 64 * 1024;
/// References kept from the original (the newest ones).
const MAX_REFERENCES: usize = 20;

/// Decisions about whom a mailbox answered happen one at a time, so two messages from one
/// sender arriving together get one reply.
static DECIDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a queued message needs for its vacation replies, taken before it is queued.
pub struct Pending {
    config: Arc<Config>,
    directory: Arc<Directory>,
    queue: Queue,
    signer: crate::dkim::DkimSigner,
    sender: String,
    /// The final recipients in our local domains.
    recipients: Vec<Recipient>,
    head: Vec<u8>,
    /// In a cluster, one node claims each (mailbox, sender) reply in Redis first.
    cluster: Option<Arc<crate::limits::redis::Store>>,
}

/// The replies `env` may get, or None when it has no local recipient (or the directory
/// keeps no vacations). `message` is the message as queued (its header section is read).
pub fn prepare(ctx: &Services, env: &Envelope, message: &[u8]) -> Option<Pending> {
    ctx.directory.vacations()?;
    let recipients: Vec<Recipient> = env
        .recipients
        .iter()
        .filter(|r| r.address.rsplit_once('@').is_some_and(|(_, d)| ctx.config.is_local_domain(&crate::directory::normalize_domain(d))))
        .cloned()
        .collect();
    if recipients.is_empty() {
        return None;
    }
    Some(Pending {
        config: ctx.config.clone(),
        directory: ctx.directory.clone(),
        queue: ctx.queue.clone(),
        signer: ctx.dkim.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        sender: env.mail_from.clone(),
        recipients,
        head: header_section(message).to_vec(),
        cluster: ctx.cluster.clone(),
    })
}

/// The header section of `message` (at most `MAX_HEAD`).
fn header_section(message: &[u8]) -> &[u8] {
    let head = crate::proto::rfc5322::header_section(message);
    &head[..head.len().min(MAX_HEAD)]
}

impl Pending {
    /// Answers in a task of its own.
    pub fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(self) {
        let Some(store) = self.directory.vacations() else { return };
        let now = crate::proto::rfc5322::unix_now() as i64;
        // Each mailbox once, with every address it was reached by (+tag, alias, ORCPT).
        let mut mailboxes: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.recipients {
            let mailbox = match self.directory.resolve(&r.address).await {
                Ok(Resolved::Mailbox(m)) => m,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(rcpt = %r.address, error = %e, "vacation: recipient not looked up; no reply");
                    continue;
                }
            };
            let names = std::iter::once(normalize(&r.address)).chain(r.orcpt.as_deref().and_then(orcpt_address).map(normalize));
            match mailboxes.iter_mut().find(|(m, _)| *m == mailbox) {
                Some((_, n)) => n.extend(names),
                None => mailboxes.push((mailbox.clone(), std::iter::once(mailbox).chain(names).collect())),
            }
        }
        if mailboxes.is_empty() {
            return;
        }
        let original = Original::parse(&self.head, &self.config.mailboxes.recipient_delimiter);
        for (mailbox, names) in mailboxes {
            let v = match store.vacation(&mailbox).await {
                Ok(Some(v)) if v.applies_at(now) => v,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(mailbox = %mailbox, error = %e, "vacation not looked up; no reply");
                    continue;
                }
            };
            self.answer(store, &original, &mailbox, &names, &v, now).await;
        }
    }

    /// Replies for one mailbox whose vacation is on, unless a rule says not to.
    async fn answer(&self, store: &dyn VacationStore, original: &Original, mailbox: &str, names: &[String], v: &Vacation, now: i64) {
        let skip = |reason: &str| tracing::info!(mailbox = %mailbox, from = %format!("<{}>", self.sender), reason, "vacation reply skipped");
        if let Some(reason) = sender_reason(&self.sender, names).or(original.reason) {
            return skip(reason);
        }
        if !names.iter().any(|n| original.addressed.contains(n)) {
            return skip("not addressed in To or Cc");
        }
        let sender = normalize(&self.sender);
        {
            let _one_at_a_time = DECIDING.lock().await;
            let last = match store.last_notified(mailbox, &sender).await {
                Ok(last) => last,
                Err(e) => {
                    tracing::warn!(mailbox = %mailbox, error = %e, "vacation: cannot tell whether this sender was answered; no reply");
                    return;
                }
            };
            // Answers from before this vacation began do not count (PostfixAdmin drops them).
            if let Some(at) = last.filter(|at| v.from.is_none_or(|f| *at >= f)) {
                if v.interval == 0 {
                    return skip("sender already answered");
                }
                if now.saturating_sub(at) < v.interval as i64 {
                    return skip("sender answered within the interval");
                }
            }
            // Several nodes may take mail for this mailbox from this sender at once: the one
            // that claims the pair in Redis answers (held for the interval, at most 30 days;
            // with Redis down, each node's own record decides, as without a cluster).
            if let Some(cluster) = &self.cluster {
                let ttl = std::time::Duration::from_secs(if v.interval == 0 { 30 * 86400 } else { v.interval.min(30 * 86400) });
                let key = crate::limits::redis::Store::key(&["vacation", mailbox, &sender]);
                if cluster.claim(&key, ttl).await == Some(false) {
                    return skip("sender answered by another node");
                }
            }
            // Recorded first: a crash after this loses one reply rather than sending two.
            if let Err(e) = store.record_notified(mailbox, &sender, now).await {
                tracing::warn!(mailbox = %mailbox, error = %e, "vacation: cannot record the reply; no reply");
                return;
            }
        }
        let message = reply(&self.config.server.hostname, mailbox, &self.sender, v, original, now);
        match self.enqueue(mailbox, message).await {
            Ok(id) => tracing::info!(mailbox = %mailbox, to = %format!("<{}>", self.sender), id = %id, "vacation reply sent"),
            Err(e) => tracing::error!(mailbox = %mailbox, error = %e, "cannot queue vacation reply"),
        }
    }

    /// Queues the reply from `<>` to the sender, rewritten and DKIM-signed as mail from a
    /// client that may relay is (`ingest`); a sender that is an alias of ours is expanded.
    async fn enqueue(&self, mailbox: &str, message: Vec<u8>) -> Result<QueueId, crate::queue::SpoolError> {
        let cfg = &self.config;
        let message = crate::rewrite::message(cfg, message, true);
        let signature = match self.signer.sign(&message) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "DKIM signing of a vacation reply failed; sending unsigned");
                None
            }
        };
        let mut bytes = signature.unwrap_or_default();
        bytes.extend_from_slice(&message);
        let to = vec![Recipient::new(self.sender.clone())];
        let to = match self.directory.expand(cfg, "", to.clone()).await {
            Ok(expanded) => expanded,
            Err(e) => {
                tracing::warn!(error = %e, "vacation reply recipient not expanded");
                to
            }
        };
        let id = QueueId::generate();
        let mut env = Envelope::new(id.clone(), "", to);
        env.smtputf8 = !self.sender.is_ascii() || !mailbox.is_ascii();
        env.body_8bit = bytes.iter().any(|b| *b >= 0x80);
        self.queue.enqueue(env, crate::queue::Content::inline(bytes)).await?;
        Ok(id)
    }
}

/// `rfc822;addr` (or `utf-8;addr`) → addr.
fn orcpt_address(orcpt: &str) -> Option<&str> {
    let (kind, addr) = orcpt.split_once(';')?;
    (kind.eq_ignore_ascii_case("rfc822") || kind.eq_ignore_ascii_case("utf-8")).then(|| addr.trim())
}

/// Why mail from this envelope sender is never answered (RFC 3834 §2: not to bounces,
/// list software or other robots, and not to oneself).
fn sender_reason(sender: &str, names: &[String]) -> Option<&'static str> {
    if sender.is_empty() {
        return Some("null sender");
    }
    let key = normalize(sender);
    if names.contains(&key) {
        return Some("sender is the mailbox itself");
    }
    let local = key.rsplit_once('@').map_or(key.as_str(), |(l, _)| l);
    // VERP senders (`list-bounces+bob=remote.test@`) name the list before the `+`.
    let local = local.split('+').next().unwrap_or(local);
    const ROBOTS: &[&str] =
        &["mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply"];
    let automated = ROBOTS.contains(&local)
        || local.starts_with("owner-")
        || local.starts_with("bounces-")
        || ["-request", "-bounces", "-owner"].iter().any(|s| local.ends_with(s));
    automated.then_some("automated sender")
}

/// What the reply needs from the message answered.
#[derive(Debug, Default)]
struct Original {
    /// Why no message like this is answered (list, bulk, automatic).
    reason: Option<&'static str>,
    /// Addresses in To and Cc, normalized, each also without its `+tag`.
    addressed: Vec<String>,
    subject: String,
    /// Without angle brackets.
    message_id: Option<String>,
    references: Vec<String>,
}

impl Original {
    fn parse(head: &[u8], delimiter: &str) -> Original {
        let Some(msg) = MessageParser::default().parse_headers(head) else { return Original::default() };
        let mut o = Original::default();
        for h in msg.headers() {
            let raw = || {
                let bytes = head.get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default();
                String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ").trim().to_ascii_lowercase()
            };
            let token = |v: &str| v.split([';', ' ', '\t', '(']).next().unwrap_or("").to_string();
            let name = h.name.as_str();
            let reason = match name.to_ascii_lowercase().as_str() {
                "list-id" | "list-post" | "list-unsubscribe" | "list-help" => Some("mailing list (List-* header)"),
                "precedence" if ["bulk", "list", "junk"].contains(&token(&raw()).as_str()) => Some("Precedence: bulk, list or junk"),
                "auto-submitted" if token(&raw()) != "no" => Some("automatic message (Auto-Submitted)"),
                "x-auto-response-suppress" if raw().split([',', ' ']).any(|t| t == "oof" || t == "all") => {
                    Some("X-Auto-Response-Suppress")
                }
                "x-spam-flag" if token(&raw()) == "yes" => Some("marked as spam (X-Spam-Flag)"),
                _ => None,
            };
            o.reason = o.reason.or(reason);
            if matches!(h.name, HeaderName::To | HeaderName::Cc)
                && let Some(list) = h.value.as_address()
            {
                for a in list.iter().filter_map(|a| a.address()) {
                    let key = normalize(a);
                    if let Some(base) = untagged(&key, delimiter) {
                        o.addressed.push(base);
                    }
                    o.addressed.push(key);
                }
            }
        }
        o.subject = msg.subject().map(one_line).unwrap_or_default();
        o.message_id = msg.message_id().map(str::to_string).filter(|id| valid_id(id));
        if let Some(refs) = msg.header_raw("References") {
            // Every `<id>` in the field, folded or not.
            o.references = refs.split('<').skip(1).filter_map(|r| r.split_once('>')).map(|(id, _)| id.trim().to_string()).filter(|id| valid_id(id)).collect();
        }
        o
    }
}

/// `user+tag@d` → `user@d` with the configured delimiter.
fn untagged(key: &str, delimiter: &str) -> Option<String> {
    let delim = delimiter.chars().next()?;
    let (local, domain) = key.rsplit_once('@')?;
    let (user, _) = local.split_once(delim)?;
    (!user.is_empty()).then(|| format!("{user}@{domain}"))
}

/// A msg-id we can repeat in a header: printable, no brackets, `left@right`.
fn valid_id(id: &str) -> bool {
    id.len() <= 250 && id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>') && id.split_once('@').is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
}

/// Text for a one-line header: control characters become spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// The reply (RFC 3834 §3): from the mailbox to the sender, `Auto-Submitted: auto-replied`,
/// threaded under the original, the vacation's text as UTF-8 plain text.
fn reply(hostname: &str, mailbox: &str, sender: &str, v: &Vacation, original: &Original, now: i64) -> Vec<u8> {
    use mail_builder::MessageBuilder;
    use mail_builder::headers::address::Address;
    use mail_builder::headers::message_id::MessageId;
    use mail_builder::headers::raw::Raw;
    let subject = if v.subject.trim().is_empty() {
        format!("Auto: {}", original.subject).trim_end().to_string()
    } else {
        one_line(&v.subject.replace("$SUBJECT", &original.subject))
    };
    let id = format!("{:032x}.{now}@{hostname}", rand::random::<u128>());
    let mut b = MessageBuilder::new()
        .from(Address::new_address(None::<&str>, mailbox.to_string()))
        .to(Address::new_address(None::<&str>, sender.to_string()))
        .subject(subject)
        .date(now)
        .message_id(MessageId::new(id));
    if let Some(orig) = &original.message_id {
        let skip = original.references.len().saturating_sub(MAX_REFERENCES - 1);
        let refs: Vec<String> = original.references.iter().skip(skip).cloned().chain(std::iter::once(orig.clone())).collect();
        b = b.in_reply_to(MessageId::new(orig.clone())).references(MessageId::new_list(refs.into_iter()));
    }
    b = b.header("Auto-Submitted", Raw::new("auto-replied")).header("X-Auto-Response-Suppress", Raw::new("All"));
    let body = v.body.replace("\r\n", "\n").replace('\r', "\n");
    b.text_body(body).write_to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(extra: &str) -> Original {
        let text = format!(
            "From: Bob <bob@remote.test>\r\nTo: \"Alice\" <Alice+work@Example.org>, team@example.org\r\nCc: carol@example.org\r\n\
             Subject: =?utf-8?q?caf=C3=A9?= plans\r\nMessage-ID: <m2@remote.test>\r\nReferences: <m0@remote.test>\r\n <m1@remote.test>\r\n{extra}\r\nbody\r\n"
        );
        Original::parse(header_section(text.as_bytes()), "+")
    }

    #[test]
    fn original_fields() {
        let o = head("");
        assert_eq!(o.reason, None);
        assert!(["alice@example.org", "alice+work@example.org", "team@example.org", "carol@example.org"].iter().all(|a| o.addressed.contains(&a.to_string())), "{o:?}");
        assert_eq!(o.subject, "café plans");
        assert_eq!(o.message_id.as_deref(), Some("m2@remote.test"));
        assert_eq!(o.references, ["m0@remote.test", "m1@remote.test"]);
    }

    #[test]
    fn list_bulk_and_automatic_mail_is_not_answered() {
        for (h, want) in [
            ("List-Id: <news.remote.test>\r\n", true),
            ("List-Unsubscribe: <mailto:u@remote.test>\r\n", true),
            ("List-Help: <mailto:h@remote.test>\r\n", true),
            ("Precedence: Bulk\r\n", true),
            ("Precedence: first-class\r\n", false),
            ("Auto-Submitted: auto-generated\r\n", true),
            ("Auto-Submitted: No\r\n", false),
            ("Auto-Submitted: no (comment)\r\n", false),
            ("X-Auto-Response-Suppress: DR, OOF\r\n", true),
            ("X-Auto-Response-Suppress: DR\r\n", false),
            ("X-Spam-Flag: YES\r\n", true),
        ] {
            assert_eq!(head(h).reason.is_some(), want, "{h}");
        }
        let names = ["alice@example.org".to_string()];
        assert_eq!(sender_reason("", &names), Some("null sender"));
        assert_eq!(sender_reason("Alice@example.org", &names), Some("sender is the mailbox itself"));
        for robot in ["MAILER-DAEMON@remote.test", "postmaster@remote.test", "owner-list@remote.test", "list-request@remote.test", "list-bounces+bob=x.test@remote.test", "noreply@remote.test"] {
            assert_eq!(sender_reason(robot, &names), Some("automated sender"), "{robot}");
        }
        assert_eq!(sender_reason("bob@remote.test", &names), None);
    }

    #[test]
    fn the_reply() {
        let o = head("");
        let v = Vacation {
            address: "alice@example.org".into(),
            subject: String::new(),
            body: "Away until Monday.\nBack soon — Alice\n".into(),
            from: None,
            until: None,
            interval: 0,
            active: true,
        };
        let m = reply("mx.test", "alice@example.org", "bob@remote.test", &v, &o, 1_800_000_000);
        let parsed = MessageParser::default().parse(&m).unwrap();
        assert_eq!(parsed.subject(), Some("Auto: café plans"));
        assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("m2@remote.test"));
        let refs: Vec<&str> = parsed.references().as_text_list().unwrap().iter().map(|r| r.as_ref()).collect();
        assert_eq!(refs, ["m0@remote.test", "m1@remote.test", "m2@remote.test"]);
        assert_eq!(parsed.from().unwrap().first().unwrap().address(), Some("alice@example.org"));
        assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some("bob@remote.test"));
        assert!(parsed.message_id().unwrap().ends_with("@mx.test"));
        assert_eq!(parsed.body_text(0).unwrap().replace("\r\n", "\n"), v.body);
        let text = String::from_utf8_lossy(&m);
        assert!(text.contains("MIME-Version: 1.0\r\n") && text.to_ascii_lowercase().contains("content-type: text/plain; charset=\"utf-8\""), "{text}");
        let named = Vacation { subject: "Re: $SUBJECT (away)".into(), ..v };
        let m = reply("mx.test", "alice@example.org", "bob@remote.test", &named, &Original::default(), 0);
        assert_eq!(MessageParser::default().parse(&m).unwrap().subject(), Some("Re:  (away)"));
        assert!(!String::from_utf8_lossy(&m).contains("In-Reply-To"), "no original id, no threading");
    }
}
