//! One file per command group; `dispatch` is the one match over parsed commands. Each
//! handler queues its responses on the connection and returns how the session goes on.
pub mod append;
mod auth;
mod copy;
mod expunge;
mod fetch;
mod idle;
mod mailboxes;
mod search;
mod store;

use super::conn::{Conn, ConnError};
use super::session::{Flow, Session};
use crate::proto::imap::command::{Body, Command};
use crate::proto::imap::condstore::{FetchModifiers, SelectParams};

pub async fn dispatch(s: &mut Session, conn: &mut Conn, c: Command) -> Result<Flow, ConnError> {
    let tag = c.tag;
    if enables_condstore(&c.body) {
        s.enable_condstore();
    }
    let flow = match c.body {
        Body::Capability => {
            conn.line(format!("* CAPABILITY {}", s.capabilities()));
            ok(conn, &tag, "CAPABILITY completed")
        }
        Body::Noop | Body::Check => {
            refresh(s, conn, true).await?;
            ok(conn, &tag, "NOOP completed")
        }
        Body::Logout => {
            conn.line("* BYE Logging out");
            conn.line(format!("{tag} OK LOGOUT completed"));
            Flow::Close
        }
        Body::StartTls => auth::starttls(s, conn, &tag).await?,
        Body::Login { user, password } => auth::login(s, conn, &tag, &user, &password).await?,
        Body::Authenticate { mechanism, initial } => auth::authenticate(s, conn, &tag, &mechanism, initial).await?,
        Body::Id => {
            conn.line("* ID (\"name\" \"postern\")");
            ok(conn, &tag, "ID completed")
        }
        Body::Enable(caps) => auth::enable(s, conn, &tag, &caps),
        Body::Namespace => {
            conn.line("* NAMESPACE ((\"\" \".\")) NIL NIL");
            ok(conn, &tag, "NAMESPACE completed")
        }
        Body::Select { params: SelectParams { qresync: Some(_), .. }, .. } if !s.qresync => {
            conn.line(format!("{tag} BAD QRESYNC is not enabled"));
            s.bad()
        }
        Body::Select { mailbox, read_only, params } => mailboxes::select(s, conn, &tag, &mailbox, read_only, params.qresync).await?,
        Body::Create(m) => mailboxes::create(s, conn, &tag, &m).await,
        Body::Delete(m) => mailboxes::delete(s, conn, &tag, &m).await,
        Body::Rename { from, to } => mailboxes::rename(s, conn, &tag, &from, &to).await,
        Body::Subscribe(m) => mailboxes::subscribe(s, conn, &tag, &m, true).await,
        Body::Unsubscribe(m) => mailboxes::subscribe(s, conn, &tag, &m, false).await,
        Body::List(l) => mailboxes::list(s, conn, &tag, &l).await,
        Body::Status { mailbox, items } => mailboxes::status(s, conn, &tag, &mailbox, &items).await,
        Body::GetQuota(root) => mailboxes::quota(s, conn, &tag, None, &root).await,
        Body::GetQuotaRoot(m) => mailboxes::quota(s, conn, &tag, Some(&m), "").await,
        Body::Append { mailbox, flags, date, .. } => append::finish(s, conn, &tag, &mailbox, &flags, date).await?,
        Body::Close => expunge::close(s, conn, &tag).await,
        Body::Unselect => {
            s.selected = None;
            ok(conn, &tag, "UNSELECT completed")
        }
        Body::Expunge { uids } => expunge::expunge(s, conn, &tag, uids.as_ref()).await?,
        Body::Search { uid, key } => search::search(s, conn, &tag, uid, key).await?,
        Body::Fetch { modifiers: FetchModifiers { vanished: true, .. }, .. } if !s.qresync => {
            conn.line(format!("{tag} BAD QRESYNC is not enabled"));
            s.bad()
        }
        Body::Fetch { uid, set, items, modifiers } => fetch::fetch(s, conn, &tag, uid, &set, &items, modifiers).await?,
        Body::Store { uid, set, mode, silent, flags, unchanged_since } => {
            let req = store::Request { uid, set: &set, mode, silent, flags: &flags, unchanged_since };
            store::store(s, conn, &tag, req).await?
        }
        Body::Copy { uid, set, mailbox } => copy::copy(s, conn, &tag, uid, &set, &mailbox, false).await?,
        Body::Move { uid, set, mailbox } => copy::copy(s, conn, &tag, uid, &set, &mailbox, true).await?,
        Body::Idle => idle::idle(s, conn, &tag).await?,
    };
    Ok(flow)
}

/// RFC 7162 §3.1: the commands that enable CONDSTORE by using it.
fn enables_condstore(b: &Body) -> bool {
    use crate::proto::imap::command::{FetchItem, StatusItem};
    match b {
        Body::Select { params, .. } => params.condstore || params.qresync.is_some(),
        Body::Fetch { items, modifiers, .. } => modifiers.changed_since.is_some() || items.contains(&FetchItem::ModSeq),
        Body::Store { unchanged_since, .. } => unchanged_since.is_some(),
        Body::Search { key, .. } => key.has_modseq(),
        Body::Status { items, .. } => items.contains(&StatusItem::HighestModSeq),
        Body::List(l) => l.return_status.as_ref().is_some_and(|i| i.contains(&StatusItem::HighestModSeq)),
        _ => false,
    }
}

pub fn ok(conn: &mut Conn, tag: &str, text: &str) -> Flow {
    conn.line(format!("{tag} OK {text}"));
    Flow::Continue
}

pub fn no(conn: &mut Conn, tag: &str, text: &str) -> Flow {
    conn.line(format!("{tag} NO {text}"));
    Flow::Continue
}

/// Sends pending mailbox updates (EXPUNGE only when `expunge` is allowed).
pub async fn refresh(s: &mut Session, conn: &mut Conn, expunge: bool) -> Result<(), ConnError> {
    if let Some(sel) = s.selected.as_mut() {
        sel.refresh(conn, expunge).await?;
    }
    Ok(())
}

/// A mail store error as a tagged NO with its response code.
pub fn store_error(conn: &mut Conn, tag: &str, e: &crate::mailstore::Error) -> Flow {
    use crate::mailstore::Error as E;
    let text = match e {
        E::NoSuchFolder => "[NONEXISTENT] No such mailbox".to_string(),
        E::Exists => "[ALREADYEXISTS] Mailbox already exists".to_string(),
        E::BadName => "[CANNOT] Invalid mailbox name".to_string(),
        E::Expunged => "[EXPUNGEISSUED] Message was expunged".to_string(),
        E::OverQuota => "[OVERQUOTA] Quota exceeded".to_string(),
        E::Io(err) => {
            tracing::error!(error = %err, "imap: mail store error");
            "[SERVERBUG] Internal error, try again later".to_string()
        }
    };
    no(conn, tag, &text)
}

/// A mailbox name from the wire as stored on disk (modified UTF-7).
pub fn to_disk(s: &Session, name: &str) -> String {
    let name = name.trim_end_matches(crate::mailstore::SEPARATOR);
    if s.utf8 && !name.is_ascii() { crate::proto::imap::utf7::encode(name) } else { name.to_string() }
}

/// A stored mailbox name as the client wants it.
pub fn to_wire(s: &Session, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if s.utf8 && name.contains('&') {
        let decoded = crate::proto::imap::utf7::decode(name).unwrap_or_else(|| name.to_string());
        crate::proto::imap::response::write_utf8_string(&mut out, &decoded, true);
    } else {
        crate::proto::imap::response::write_string(&mut out, name.as_bytes());
    }
    out
}
