//! `postern queue list|show|retry|delete|hold|release`: asks the running daemon over its
//! control socket. `list` and `show` read the queue directly when no daemon runs (sled
//! then lets us open it); actions need the daemon, whose scheduler must act on them.
use super::daemon::{self, CallError};
use super::{QueueCommand, exit, mailq};
use postern::config::Config;
use postern::http::api::{ActionDone, QueueEntry, QueueFilter, QueueMessage, QueuePage};
use postern::queue::{Queue, QueueId};

pub fn run(cfg: &Config, cmd: QueueCommand) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(dispatch(cfg, cmd)).unwrap_or_else(|code| code)
}

async fn dispatch(cfg: &Config, cmd: QueueCommand) -> Result<Code, Code> {
    match cmd {
        QueueCommand::List { json, domain, state } => list(cfg, json, domain, state).await,
        QueueCommand::Show { id, raw: true, .. } => raw(cfg, &id).await,
        QueueCommand::Show { id, json, .. } => show(cfg, &id, json).await,
        QueueCommand::Retry { id: Some(id), .. } => act(cfg, "POST", &format!("/v1/queue/{}/retry", checked(&id)?)).await,
        QueueCommand::Retry { id: None, domain, .. } => {
            let q = domain.map(|d| format!("?domain={}", daemon::encode(&d))).unwrap_or_default();
            act(cfg, "POST", &format!("/v1/queue/retry{q}")).await
        }
        QueueCommand::Delete { id } => act(cfg, "DELETE", &format!("/v1/queue/{}", checked(&id)?)).await,
        QueueCommand::Hold { id } => act(cfg, "POST", &format!("/v1/queue/{}/hold", checked(&id)?)).await,
        QueueCommand::Release { id } => act(cfg, "POST", &format!("/v1/queue/{}/release", checked(&id)?)).await,
        QueueCommand::Export { dir } => export(cfg, &dir).await,
        QueueCommand::Import { dir } => import(cfg, &dir).await,
    }
}

/// The queue opened directly for export/import: the daemon must be stopped.
fn stopped_queue(cfg: &Config) -> Result<Queue, Code> {
    Queue::open(&cfg.server.data_dir).map_err(|e| match e {
        postern::queue::SpoolError::Locked { .. } => fail(exit::TEMPFAIL, format!("{e}; stop it (or `postern drain`) before moving its queue")),
        e => fail(exit::TEMPFAIL, format!("cannot open the queue: {e}")),
    })
}

/// Writes `<id>.eml` then `<id>.json` (the envelope last: an import takes only complete
/// pairs), both fsynced with the directory, then removes the message from this queue.
async fn export(cfg: &Config, dir: &std::path::Path) -> Result<Code, Code> {
    use std::io::Write;
    let q = stopped_queue(cfg)?;
    std::fs::create_dir_all(dir).map_err(|e| fail(exit::CANTCREAT, format!("{}: {e}", dir.display())))?;
    let io = |e: std::io::Error| fail(exit::CANTCREAT, format!("{}: {e}", dir.display()));
    let mut n = 0;
    for env in q.list().map_err(|e| fail(exit::TEMPFAIL, e))? {
        let Some(content) = q.body(&env.id).map_err(|e| fail(exit::TEMPFAIL, e))? else { continue };
        let mut eml = std::fs::File::create(dir.join(format!("{}.eml", env.id))).map_err(io)?;
        content.copy_to(&mut eml).map_err(io)?;
        eml.sync_all().map_err(io)?;
        let json = serde_json::to_vec_pretty(&env).map_err(|e| fail(exit::SOFTWARE, e))?;
        let mut f = std::fs::File::create(dir.join(format!("{}.json", env.id))).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        q.remove(&env.id).await.map_err(|e| fail(exit::TEMPFAIL, e))?;
        n += 1;
    }
    eprintln!("exported {n} messages to {}", dir.display());
    Ok(exit::OK)
}

/// Queues each complete pair a `queue export` wrote, keeping its id (already queued: skipped,
/// so a second import duplicates nothing), then removes the pair.
async fn import(cfg: &Config, dir: &std::path::Path) -> Result<Code, Code> {
    use std::io::Read;
    let q = stopped_queue(cfg)?;
    let io = |e: std::io::Error| fail(exit::NOINPUT, format!("{}: {e}", dir.display()));
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let (mut imported, mut skipped) = (0, 0);
    for json in names {
        let eml = json.with_extension("eml");
        let env: postern::queue::Envelope = serde_json::from_slice(&std::fs::read(&json).map_err(io)?)
            .map_err(|e| fail(exit::DATAERR, format!("{}: {e}", json.display())))?;
        if q.get(&env.id).map_err(|e| fail(exit::TEMPFAIL, e))?.is_some() {
            skipped += 1;
        } else {
            let mut writer = q.writer(&env.id);
            let mut file = std::fs::File::open(&eml).map_err(io)?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = file.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                writer.write(&buf[..n]).await;
            }
            let tail = writer.finish().await.map_err(|e| fail(exit::TEMPFAIL, e))?;
            let content = postern::queue::Content { head: Default::default(), tail };
            match q.enqueue(env, content).await {
                Ok(()) => imported += 1,
                Err(postern::queue::SpoolError::Duplicate(_)) => skipped += 1,
                Err(e) => return Err(fail(exit::TEMPFAIL, e)),
            }
        }
        let _ = std::fs::remove_file(&json);
        let _ = std::fs::remove_file(&eml);
    }
    eprintln!("imported {imported} messages from {} ({skipped} already queued)", dir.display());
    Ok(exit::OK)
}

/// A failure already reported on stderr, as the exit code.
type Code = i32;

fn fail(code: Code, msg: impl std::fmt::Display) -> Code {
    eprintln!("postern: {msg}");
    code
}

fn checked(id: &str) -> Result<QueueId, Code> {
    QueueId::parse(id).ok_or_else(|| fail(exit::USAGE, format!("{id:?} is not a queue id")))
}

/// Maps an error answer: 404 → no such message, 400 → bad request, 503 → try again.
fn answer_error(status: u16, text: String) -> Code {
    let code = match status {
        404 => exit::NOINPUT,
        400 => exit::DATAERR,
        503 => exit::TEMPFAIL,
        _ => exit::SOFTWARE,
    };
    fail(code, text)
}

async fn get<T: serde::de::DeserializeOwned>(cfg: &Config, path: &str) -> Result<Option<T>, Code> {
    match daemon::call(cfg, "GET", path, &[], Vec::new()).await {
        Ok(a) if a.status == 200 => serde_json::from_slice(&a.body)
            .map(Some)
            .map_err(|e| fail(exit::SOFTWARE, format!("bad answer from the daemon: {e}"))),
        Ok(a) => Err(answer_error(a.status, a.error_text())),
        Err(CallError::NotRunning { .. }) => Ok(None),
        Err(e) => Err(fail(exit::TEMPFAIL, e)),
    }
}

async fn list(cfg: &Config, json: bool, domain: Option<String>, state: Option<String>) -> Result<Code, Code> {
    let filter = QueueFilter::new(domain.as_deref(), state.as_deref()).map_err(|e| fail(exit::USAGE, e))?;
    let mut query = String::new();
    for (k, v) in [("domain", &domain), ("state", &state)] {
        if let Some(v) = v {
            query.push_str(&format!("&{k}={}", daemon::encode(v)));
        }
    }
    let mut all: Vec<QueueEntry> = Vec::new();
    loop {
        let path = format!("/v1/queue?offset={}&limit={}{query}", all.len(), postern::http::api::MAX_PAGE);
        let Some(page) = get::<QueuePage>(cfg, &path).await? else {
            if let Some(q) = offline(cfg)? {
                let envs = q.list().map_err(|e| fail(exit::TEMPFAIL, e))?;
                all = envs.into_iter().filter(|e| filter.matches(e)).map(QueueEntry::from).collect();
            }
            break;
        };
        let done = page.messages.is_empty() || all.len() + page.messages.len() >= page.total;
        all.extend(page.messages);
        if done {
            break;
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all).expect("json"));
    } else {
        mailq::print_list(&all);
    }
    Ok(exit::OK)
}

async fn show(cfg: &Config, id: &str, json: bool) -> Result<Code, Code> {
    let id = checked(id)?;
    let msg = match get::<QueueMessage>(cfg, &format!("/v1/queue/{id}")).await? {
        Some(m) => m,
        None => offline_show(cfg, &id)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&msg).expect("json"));
    } else {
        mailq::print_message(&msg);
    }
    Ok(exit::OK)
}

async fn raw(cfg: &Config, id: &str) -> Result<Code, Code> {
    use std::io::Write;
    let id = checked(id)?;
    let body = match daemon::call(cfg, "GET", &format!("/v1/queue/{id}/message"), &[], Vec::new()).await {
        Ok(a) if a.status == 200 => a.body,
        Ok(a) => return Err(answer_error(a.status, a.error_text())),
        Err(CallError::NotRunning { .. }) => {
            let missing = || fail(exit::NOINPUT, format!("message {id} is not in the queue"));
            let q = offline(cfg)?.ok_or_else(missing)?;
            let content = q.body(&id).map_err(|e| fail(exit::TEMPFAIL, e))?.ok_or_else(missing)?;
            content.to_vec().map_err(|e| fail(exit::TEMPFAIL, e))?
        }
        Err(e) => return Err(fail(exit::TEMPFAIL, e)),
    };
    std::io::stdout().write_all(&body).map_err(|e| fail(exit::SOFTWARE, e))?;
    Ok(exit::OK)
}

async fn act(cfg: &Config, method: &str, path: &str) -> Result<Code, Code> {
    let a = daemon::call(cfg, method, path, &[], Vec::new()).await.map_err(|e| match e {
        CallError::NotRunning { .. } => fail(exit::TEMPFAIL, format!("{e}; queue actions need the daemon (start `postern serve`)")),
        e => fail(exit::TEMPFAIL, e),
    })?;
    if a.status != 200 {
        return Err(answer_error(a.status, a.error_text()));
    }
    let done: ActionDone = serde_json::from_slice(&a.body).map_err(|e| fail(exit::SOFTWARE, format!("bad answer from the daemon: {e}")))?;
    match done.ids.as_slice() {
        [] => eprintln!("{}: no message to act on", done.action),
        ids => ids.iter().for_each(|id| eprintln!("{id}: {}", done.action)),
    }
    Ok(exit::OK)
}

/// The queue opened directly (no daemon running); None when there is no queue yet.
fn offline(cfg: &Config) -> Result<Option<Queue>, Code> {
    if !cfg.server.data_dir.join("queue").exists() {
        return Ok(None);
    }
    Queue::open(&cfg.server.data_dir).map(Some).map_err(|e| fail(exit::TEMPFAIL, format!("cannot open the queue: {e}")))
}

fn offline_show(cfg: &Config, id: &QueueId) -> Result<QueueMessage, Code> {
    let missing = || fail(exit::NOINPUT, format!("message {id} is not in the queue"));
    let q = offline(cfg)?.ok_or_else(missing)?;
    let env = q.get(id).map_err(|e| fail(exit::TEMPFAIL, e))?.ok_or_else(missing)?;
    let content = q.body(id).map_err(|e| fail(exit::TEMPFAIL, e))?.ok_or_else(missing)?;
    let body = content.prefix(postern::queue::HEADER_MAX + content.head.len()).map_err(|e| fail(exit::TEMPFAIL, e))?;
    let end = memchr::memmem::find(&body, b"\r\n\r\n").map_or(body.len(), |i| i + 2);
    Ok(QueueMessage { ok: true, message: env.into(), headers: String::from_utf8_lossy(&body[..end]).into_owned() })
}
