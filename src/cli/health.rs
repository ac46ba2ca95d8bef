//! `postern health`: GET /health on the configured http.bind, for container
//! healthchecks. Exit 0 on `200`, 1 otherwise (with the reason on stderr).
//!
//! With `http.tls` the request goes over TLS and the server must present exactly the
//! daemon's certificate (pinned, as loaded from tls.cert or the generated one), so no CA
//! or host name is needed for a loopback probe.
use super::exit;
use postern::config::Config;
use postern::http::client::exchange;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(cfg: &Config) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    match rt.block_on(async { tokio::time::timeout(TIMEOUT, probe(cfg)).await }) {
        Ok(Ok(())) => exit::OK,
        Ok(Err(e)) => {
            eprintln!("postern: unhealthy: {e}");
            exit::FAILURE
        }
        Err(_) => {
            eprintln!("postern: unhealthy: no answer within {TIMEOUT:?}");
            exit::FAILURE
        }
    }
}

/// The address to probe: http.bind, with a wildcard IP replaced by loopback.
fn target(bind: &str) -> Result<SocketAddr, String> {
    if bind.is_empty() {
        return Err("the HTTP API is disabled (http.bind is empty)".into());
    }
    let mut addr: SocketAddr = bind.parse().map_err(|_| format!("http.bind {bind:?} is not ip:port"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

async fn probe(cfg: &Config) -> Result<(), String> {
    let addr = target(&cfg.http.bind)?;
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let answer = if cfg.http.tls {
        let tls = super::health_tls::connect(cfg, tcp).await?;
        exchange(tls, "GET", "/health", &[], Vec::new()).await
    } else {
        exchange(tcp, "GET", "/health", &[], Vec::new()).await
    }
    .map_err(|e| e.to_string())?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(format!("GET /health on {addr} answered {}: {}", answer.status, answer.error_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        assert_eq!(target("0.0.0.0:8025").unwrap(), "127.0.0.1:8025".parse().unwrap());
        assert_eq!(target("[::]:8025").unwrap(), "[::1]:8025".parse().unwrap());
        assert_eq!(target("192.0.2.1:80").unwrap(), "192.0.2.1:80".parse().unwrap());
        assert!(target("").is_err());
    }
}
