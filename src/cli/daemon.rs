//! Talking to the running daemon over its control socket (data_dir/postern.sock).
use postern::config::Config;
use postern::http::client::{Answer, exchange};
use std::path::PathBuf;

/// Why the daemon could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No daemon listens (socket missing or refused): the caller may fall back or retry.
    #[error("the postern daemon is not running (cannot connect to {path}: {source})")]
    NotRunning { path: PathBuf, source: std::io::Error },
    #[error("the postern daemon did not answer properly: {0}")]
    Broken(String),
}

pub fn socket(cfg: &Config) -> PathBuf {
    postern::http::control::socket_path(&cfg.server.data_dir)
}

/// One request to the daemon.
pub async fn call(cfg: &Config, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Result<Answer, CallError> {
    let path_buf = socket(cfg);
    let stream = tokio::net::UnixStream::connect(&path_buf)
        .await
        .map_err(|source| CallError::NotRunning { path: path_buf, source })?;
    exchange(stream, method, path, headers, body).await.map_err(|e| CallError::Broken(e.to_string()))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encode_query_values() {
        assert_eq!(super::encode("a+b@x.test"), "a%2Bb@x.test");
        assert_eq!(super::encode("jörg@x"), "j%C3%B6rg@x");
        assert_eq!(super::encode("a,b &="), "a%2Cb%20%26%3D");
    }
}
