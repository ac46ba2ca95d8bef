//! TLS reporting (RFC 8460), the sending half: every `delivery.tlsrpt_interval` the
//! recorded sessions are taken, one report per policy domain is built (tlsrpt.rs) and sent
//! to each `rua` of the domain's `_smtp._tls` TXT record (§3): `mailto:` as a message
//! through our own queue (§5.3), `https:` as a POST of `application/tlsrpt+gzip` (§5.4).
//!
//! Owns: discovery of the rua, both ways of sending, the run loop. Must not touch: the
//! report's content (tlsrpt.rs), the SMTP dialogue (the queued report is ordinary mail).
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tlsrpt::{Reporter, build, by_domain};
use crate::queue::{Content, Envelope, Queue, QueueId, Recipient};
use crate::smtp_client::mx::DnsResolver;
use crate::smtp_client::tls::server_name;
use crate::smtp_client::tlsrpt::{SessionLog, read_batch};

const POST_TIMEOUT: Duration = Duration::from_secs(60);
/// RFC 8460 §3: a record has at most a few URIs; more are ignored.
const MAX_RUA: usize = 10;

/// Where one domain wants its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rua {
    Mailto(String),
    Https(String),
}

/// §3: the single `v=TLSRPTv1` record's `rua=` URIs (comma-separated). More than one
/// TLSRPTv1 record, or none, means no reporting.
pub fn parse_txt(records: &[String]) -> Vec<Rua> {
    let ours: Vec<&String> = records.iter().filter(|r| r.trim_start().starts_with("v=TLSRPTv1")).collect();
    let [record] = ours.as_slice() else { return Vec::new() };
    let fields = record.split(';').map(str::trim);
    let Some(rua) = fields.filter_map(|f| f.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("rua")) else {
        return Vec::new();
    };
    rua.1
        .split(',')
        .filter_map(|uri| {
            let uri = uri.trim();
            if let Some(addr) = uri.strip_prefix("mailto:") {
                let addr = addr.split('?').next().unwrap_or("");
                addr.contains('@').then(|| Rua::Mailto(addr.to_string()))
            } else if uri.starts_with("https://") {
                Some(Rua::Https(uri.to_string()))
            } else {
                None
            }
        })
        .take(MAX_RUA)
        .collect()
}

pub struct TlsRptSender {
    pub me: Reporter,
    /// Header From of mailed reports (the envelope sender is null, like a DSN).
    pub from: String,
    pub queue: Queue,
    pub resolver: Arc<DnsResolver>,
    /// Verified TLS (WebPKI + delivery.tls_ca_file) for https rua.
    pub https: Arc<rustls::ClientConfig>,
    pub log: Arc<SessionLog>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl TlsRptSender {
    /// Sends a report run every `interval`, forever.
    pub async fn run(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            self.send_reports().await;
        }
    }

    /// One run: every waiting batch is reported, then removed. Returns the reports sent
    /// (counting each rua that accepted one).
    pub async fn send_reports(&self) -> usize {
        let end = now();
        let batches = match self.log.take_batches(end) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "TLS-RPT: cannot read the session records");
                return 0;
            }
        };
        let mut records = Vec::new();
        for b in &batches {
            match read_batch(b) {
                Ok(r) => records.extend(r),
                Err(e) => tracing::warn!(file = %b.display(), error = %e, "TLS-RPT: unreadable batch"),
            }
        }
        let mut sent = 0;
        if !records.is_empty() {
            let start = records.iter().map(|r| r.at).min().unwrap_or(end);
            for (domain, recs) in by_domain(records) {
                sent += self.report_domain(&domain, &recs, start, end).await;
            }
        }
        for b in batches {
            let _ = std::fs::remove_file(b);
        }
        sent
    }

    async fn report_domain(&self, domain: &str, recs: &[crate::smtp_client::tlsrpt::SessionRecord], start: u64, end: u64) -> usize {
        let txt = match self.resolver.lookup_txt(&format!("_smtp._tls.{domain}")).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(domain, error = %e.text(), "TLS-RPT: no reporting record");
                return 0;
            }
        };
        let ruas = parse_txt(&txt);
        if ruas.is_empty() {
            tracing::debug!(domain, "TLS-RPT: the domain asks for no reports");
            return 0;
        }
        let report = build(&self.me, domain, recs, start, end);
        let mut sent = 0;
        for rua in ruas {
            let result = match &rua {
                Rua::Mailto(to) => self.mail(&report, to).await,
                Rua::Https(url) => tokio::time::timeout(POST_TIMEOUT, self.post(&report, url))
                    .await
                    .unwrap_or_else(|_| Err(format!("timed out after {POST_TIMEOUT:?}"))),
            };
            match result {
                Ok(()) => {
                    sent += 1;
                    tracing::info!(domain, rua = ?rua, report_id = %report.report_id, "TLS-RPT report sent");
                }
                Err(e) => tracing::warn!(domain, rua = ?rua, error = %e, "TLS-RPT report not sent"),
            }
        }
        sent
    }

    async fn mail(&self, report: &super::tlsrpt::Report, to: &str) -> Result<(), String> {
        let message = report.message(&self.me, &self.from, to);
        let env = Envelope::new(QueueId::generate(), "", vec![Recipient::new(to)]);
        self.queue.enqueue(env, Content::inline(message)).await.map_err(|e| e.to_string())
    }

    /// §5.4: POST the gzipped report; any 2xx is success.
    async fn post(&self, report: &super::tlsrpt::Report, url: &str) -> Result<(), String> {
        let rest = url.strip_prefix("https://").ok_or("not an https URL")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, p.parse::<u16>().map_err(|_| "bad port")?),
            _ => (authority, 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host.parse() {
            Ok(ip) => ip,
            Err(_) => *self.resolver.lookup_ip(host).await.map_err(|e| e.text())?.first().ok_or("no address")?,
        };
        let tcp = TcpStream::connect(SocketAddr::new(ip, port)).await.map_err(|e| format!("connect: {e}"))?;
        let tls = TlsConnector::from(self.https.clone())
            .connect(server_name(host)?, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| format!("HTTP: {e}"))?;
        tokio::spawn(conn);
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/tlsrpt+gzip")
            .body(Full::new(Bytes::from(report.gzip())))
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"))?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        if !status.is_success() {
            return Err(format!("HTTP status {status}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rua_from_txt() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_txt(&s(&["v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x"])),
            vec![Rua::Mailto("tls@example.com".into()), Rua::Https("https://r.example.com/x".into())]
        );
        assert_eq!(parse_txt(&s(&["v=TLSRPTv1;rua=mailto:a@b?subject=x"])), vec![Rua::Mailto("a@b".into())]);
        assert!(parse_txt(&s(&["v=TLSRPTv1; rua=mailto:a@b", "v=TLSRPTv1; rua=mailto:c@d"])).is_empty(), "two records");
        assert!(parse_txt(&s(&["v=spf1 -all"])).is_empty());
        assert!(parse_txt(&s(&["v=TLSRPTv1; rua=http://insecure/"])).is_empty(), "http is not allowed");
    }
}
