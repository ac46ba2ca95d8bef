//! `postern cluster status` (the nodes' heartbeats in the shared Redis) and `postern
//! drain` (asks the running daemon to stop accepting, deliver its queue and exit).
use super::daemon::{self, CallError};
use super::exit;
use postern::config::Config;
use postern::limits::redis::Store;
use std::time::{Duration, Instant};

pub fn status(cfg: &Config, json: bool) -> i32 {
    let store = match Store::from_config(cfg) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!("postern: no cluster: set [cluster] redis (or redis_file) in the configuration");
            return exit::CONFIG;
        }
        Err(e) => {
            eprintln!("postern: {e}");
            return exit::CONFIG;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let Some(nodes) = rt.block_on(postern::cluster::nodes(&store)) else {
        eprintln!("postern: cannot reach the cluster's Redis");
        return exit::TEMPFAIL;
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&nodes).unwrap_or_default());
        return exit::OK;
    }
    let now = postern::proto::rfc5322::unix_now();
    println!("{:<24} {:<9} {:>8} {:>14} {:>9}  {}", "NODE", "STATE", "QUEUED", "DELIVERED/MIN", "SEEN", "HTTP");
    for n in &nodes {
        let state = if n.draining { "draining" } else { "up" };
        let seen = format!("{}s ago", now.saturating_sub(n.at));
        let http = if n.http.is_empty() { "-" } else { &n.http };
        println!("{:<24} {:<9} {:>8} {:>14.1} {:>9}  {http}", n.node, state, n.queued, n.delivered_per_min, seen);
    }
    println!("{} node(s)", nodes.len());
    exit::OK
}

pub fn drain(cfg: &Config, timeout: Duration) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let path = format!("/v1/drain?timeout={}", timeout.as_secs().max(1));
        match daemon::call(cfg, "POST", &path, &[], Vec::new()).await {
            Ok(a) if a.status == 202 => {}
            Ok(a) => {
                eprintln!("postern: drain refused: {}", a.error_text());
                return exit::SOFTWARE;
            }
            Err(e @ CallError::NotRunning { .. }) => {
                eprintln!("postern: {e}");
                return exit::TEMPFAIL;
            }
            Err(e) => {
                eprintln!("postern: {e}");
                return exit::TEMPFAIL;
            }
        }
        eprintln!("draining: listeners closed; delivering the queue (at most {})", humantime::format_duration(timeout));
        // The daemon exits when done; its control socket goes with it.
        let deadline = Instant::now() + timeout + Duration::from_secs(30);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if matches!(daemon::call(cfg, "GET", "/health", &[], Vec::new()).await, Err(CallError::NotRunning { .. })) {
                eprintln!("drained: the daemon has stopped");
                return exit::OK;
            }
        }
        eprintln!("postern: the daemon is still running after the drain timeout");
        exit::TEMPFAIL
    })
}
