//! APPEND: the message literal is checked (size limit, quota) when announced, streamed
//! into an unlinked temp file in the account's Maildir `tmp/` (bounded memory), and
//! stored by `Folder::append` when the command line completes; UIDPLUS APPENDUID.
use super::{no, ok, store_error, to_disk};
use crate::mailstore::{self, Flags};
use crate::server::imap::conn::{Conn, ConnError};
use crate::server::imap::mailbox::{blocking, set_flag};
use crate::server::imap::session::{Flow, PendingAppend, Session};
use std::io::{Seek, Write};
use std::time::{Duration, UNIX_EPOCH};

/// The message literal was announced. Returns whether it was accepted (and received).
pub async fn receive(s: &mut Session, conn: &mut Conn, tag: &str, size: u64, sync: bool) -> Result<bool, ConnError> {
    s.append = None;
    let Some(login) = s.login.as_ref() else {
        conn.line(format!("{tag} BAD Log in first"));
        return Ok(false);
    };
    if size > s.ctx.config.limits.message_size {
        conn.line(format!("{tag} NO [TOOBIG] Message too large"));
        return Ok(false);
    }
    let (store, quota) = (login.store.clone(), login.quota);
    if quota > 0 {
        let st = store.clone();
        let used = blocking(move || st.usage()).await.map(|u| u.bytes).unwrap_or(0);
        if used.saturating_add(size) > quota {
            conn.line(format!("{tag} NO [OVERQUOTA] Quota exceeded"));
            return Ok(false);
        }
    }
    let tmp = store.root().join("tmp");
    let mut file = match blocking(move || anonymous_file(&tmp)).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "imap: cannot create an APPEND temp file");
            conn.line(format!("{tag} NO [SERVERBUG] Cannot store the message now"));
            return Ok(false);
        }
    };
    if sync {
        conn.line("+ Ready for literal data");
    }
    let mut left = size;
    while left > 0 {
        if conn.buffered().is_empty() {
            conn.fill(s.timeout()).await?;
        }
        let n = (conn.buffered().len() as u64).min(left) as usize;
        file.write_all(&conn.buffered()[..n])?;
        conn.consume(n);
        left -= n as u64;
    }
    s.append = Some(PendingAppend { file, size });
    Ok(true)
}

/// A new file in `dir`, unlinked at once: it disappears with its handle, whatever
/// happens to the session.
fn anonymous_file(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let path = dir.join(format!("imap-append.{}.{n}.{nanos}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

pub async fn finish(s: &mut Session, conn: &mut Conn, tag: &str, mailbox: &str, flags: &[String], date: Option<i64>) -> Result<Flow, ConnError> {
    let Some(PendingAppend { mut file, .. }) = s.append.take() else {
        return Ok(no(conn, tag, "APPEND without its message"));
    };
    let disk = to_disk(s, mailbox);
    let store = s.login.as_ref().expect("state checked").store.clone();
    let mut f = Flags::default();
    for name in flags {
        set_flag(&mut f, name, true);
    }
    let date = date.map(|d| if d >= 0 { UNIX_EPOCH + Duration::from_secs(d as u64) } else { UNIX_EPOCH });
    let res = blocking(move || -> mailstore::Result<(u32, u32)> {
        let folder = store.folder(&disk)?;
        file.rewind()?;
        let uid = folder.append(&mut file, &f, date)?;
        let validity = folder.uid_validity()?;
        Ok((validity, uid))
    })
    .await;
    match res {
        Ok((validity, uid)) => {
            super::refresh(s, conn, true).await?;
            Ok(ok(conn, tag, &format!("[APPENDUID {validity} {uid}] APPEND completed")))
        }
        Err(mailstore::Error::NoSuchFolder) => Ok(no(conn, tag, "[TRYCREATE] No such mailbox")),
        Err(e) => Ok(store_error(conn, tag, &e)),
    }
}
