//! `postern queue list|show`: asks the running daemon over its control socket, or reads
//! the queue directly when no daemon runs.
use super::{QueueCommand, exit};
use postern::config::Config;
use postern::queue::{Envelope, Queue, QueueId, RcptState};

pub fn run(cfg: &Config, cmd: QueueCommand) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        match cmd {
            QueueCommand::List { json } => match fetch::<Vec<Envelope>>(cfg, "/v1/queue").await {
                Ok(list) if json => {
                    println!("{}", serde_json::to_string_pretty(&list).expect("json"));
                    exit::OK
                }
                Ok(list) => {
                    print_mailq(&list);
                    exit::OK
                }
                Err(e) => fail(e),
            },
            QueueCommand::Show { id } => {
                let Some(id) = QueueId::parse(&id) else {
                    eprintln!("postern: {id:?} is not a queue id");
                    return exit::USAGE;
                };
                match fetch::<Envelope>(cfg, &format!("/v1/queue/{id}")).await {
                    Ok(env) => {
                        println!("{}", serde_json::to_string_pretty(&env).expect("json"));
                        exit::OK
                    }
                    Err(e) => fail(e),
                }
            }
        }
    })
}

fn fail(e: String) -> i32 {
    eprintln!("postern: {e}");
    exit::TEMPFAIL
}

/// GETs `path` from the daemon; falls back to opening the queue when no daemon answers.
async fn fetch<T: serde::de::DeserializeOwned>(cfg: &Config, path: &str) -> Result<T, String> {
    let sock = postern::http::control::socket_path(&cfg.server.data_dir);
    match tokio::net::UnixStream::connect(&sock).await {
        Ok(stream) => get(stream, path).await,
        Err(_) => offline(cfg, path),
    }
}

async fn get<T: serde::de::DeserializeOwned>(stream: tokio::net::UnixStream, path: &str) -> Result<T, String> {
    use http_body_util::{BodyExt, Empty};
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("control socket: {e}"))?;
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.map_err(|e| format!("control socket: {e}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(String::from_utf8_lossy(&body).into_owned());
    }
    serde_json::from_slice(&body).map_err(|e| format!("bad answer from the daemon: {e}"))
}

/// Reads the queue directly (no daemon running: sled's lock is free).
fn offline<T: serde::de::DeserializeOwned>(cfg: &Config, path: &str) -> Result<T, String> {
    if !cfg.server.data_dir.join("queue").exists() {
        return serde_json::from_str("[]").map_err(|_| "the queue is empty (no queue directory)".into());
    }
    let q = Queue::open(&cfg.server.data_dir).map_err(|e| format!("cannot open the queue: {e}"))?;
    let value = match path.strip_prefix("/v1/queue/") {
        None => serde_json::to_value(q.list().map_err(|e| e.to_string())?),
        Some(id) => {
            let id = QueueId::parse(id).ok_or("invalid queue id")?;
            let env = q.get(&id).map_err(|e| e.to_string())?.ok_or(format!("{id}: no such message"))?;
            serde_json::to_value(env)
        }
    };
    value.and_then(serde_json::from_value).map_err(|e| e.to_string())
}

/// Output in the shape of Postfix's `mailq`.
fn print_mailq(list: &[Envelope]) {
    if list.is_empty() {
        println!("Mail queue is empty");
        return;
    }
    println!("{:<20} {:>8} {:<20} Sender/Recipient", "-Queue ID-", "--Size--", "----Arrival Time----");
    let mut total = 0;
    for env in list {
        total += env.size;
        let arrived = time::OffsetDateTime::from_unix_timestamp(env.arrived as i64)
            .map(postern::rfc5322::date)
            .unwrap_or_default();
        let mark = if env.held { "!" } else { "" };
        let sender = if env.mail_from.is_empty() { "MAILER-DAEMON" } else { &env.mail_from };
        println!("{:<20} {:>8} {:<20} {sender}", format!("{}{mark}", env.id), env.size, arrived.get(..22).unwrap_or(&arrived));
        for r in &env.recipients {
            if let Some(err) = &r.last_error {
                println!("{:51}({err})", "");
            }
            let state = match r.state {
                RcptState::Pending => "",
                RcptState::Delivered => " (delivered)",
                RcptState::Failed => " (failed)",
            };
            println!("{:51}{}{state}", "", r.address);
        }
        println!();
    }
    println!("-- {} Kbytes in {} Request{}.", total.div_ceil(1024), list.len(), if list.len() == 1 { "" } else { "s" });
}
