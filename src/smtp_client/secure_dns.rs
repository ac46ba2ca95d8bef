//! DNSSEC-aware lookups for DANE (RFC 7672): one query at a time to a *trusted, validating*
//! resolver on loopback, answered with the resolver's verdict (the AD bit).
//!
//! Why the AD bit and not in-process validation: like Postfix (`smtp_dns_support_level =
//! dnssec`), postern leaves validation to a local validating resolver (unbound, BIND,
//! Knot Resolver) and trusts its AD bit only over loopback (RFC 6698 §4.1, RFC 7672 §1.3:
//! the channel to the resolver must be secure). An answer without AD is never secure; a
//! SERVFAIL from a validating resolver is what "bogus" looks like and fails closed.
//!
//! Owns: building the query (RD, AD and EDNS DO set), UDP with a TCP retry on truncation,
//! and classifying the response. Must not touch: TLSA semantics (dane.rs), the ordinary
//! resolver and its cache (mx.rs).
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::op::{Edns, Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A DNS answer with the resolver's DNSSEC verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secured {
    /// NOERROR with records; `secure` = AD bit set.
    Records { secure: bool, data: Vec<RData> },
    /// NXDOMAIN or NODATA; `secure` = the denial was validated.
    Empty { secure: bool },
}

impl Secured {
    pub fn is_secure(&self) -> bool {
        match self {
            Secured::Records { secure, .. } | Secured::Empty { secure } => *secure,
        }
    }
}

/// The validating resolver DANE asks.
#[derive(Debug, Clone)]
pub struct SecureDns {
    server: SocketAddr,
    timeout: Duration,
}

impl SecureDns {
    /// The resolver behind `spec` (`delivery.resolver`: "ip:port" or "system", then the
    /// first `nameserver` of /etc/resolv.conf), or `Err` when it is not on loopback, since
    /// its AD bit could then be forged on the way.
    pub fn from_spec(spec: &str, timeout: Duration) -> Result<SecureDns, String> {
        let server = if spec.trim().eq_ignore_ascii_case("system") {
            let conf = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| format!("/etc/resolv.conf: {e}"))?;
            let ip = first_nameserver(&conf).ok_or("/etc/resolv.conf names no nameserver")?;
            SocketAddr::new(ip, 53)
        } else {
            spec.trim().parse::<SocketAddr>().map_err(|_| format!("invalid resolver {spec:?}"))?
        };
        if !server.ip().is_loopback() {
            return Err(format!(
                "resolver {server} is not on loopback: its DNSSEC verdict (AD bit) cannot be trusted"
            ));
        }
        Ok(SecureDns { server, timeout })
    }

    /// Looks `name` up; `Err` for SERVFAIL (bogus data at a validating resolver), other
    /// error codes, timeouts and malformed answers.
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> Result<Secured, String> {
        let fqdn = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).map_err(|e| format!("invalid name {name:?}: {e}"))?;
        let mut msg = Message::query();
        msg.metadata.recursion_desired = true;
        // RFC 6840 §5.7: AD in the query asks for the AD bit in the answer; DO as well.
        msg.metadata.authentic_data = true;
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true).set_max_payload(1232);
        msg.set_edns(edns);
        msg.add_query(Query::query(fqdn, rtype));
        let wire = msg.to_vec().map_err(|e| e.to_string())?;
        let reply = tokio::time::timeout(self.timeout, self.exchange(&wire, msg.metadata.id))
            .await
            .map_err(|_| format!("DNS query {name} {rtype} to {} timed out", self.server))??;
        classify(&reply, rtype).map_err(|why| format!("{name} {rtype}: {why}"))
    }

    async fn exchange(&self, wire: &[u8], id: u16) -> Result<Message, String> {
        let bind: SocketAddr = if self.server.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" }.parse().unwrap();
        let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
        sock.connect(self.server).await.map_err(|e| e.to_string())?;
        sock.send(wire).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 4096];
        let reply = loop {
            let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
            match Message::from_vec(&buf[..n]) {
                Ok(m) if m.metadata.id == id => break m,
                _ => continue, // not ours: keep waiting (bounded by the caller's timeout)
            }
        };
        if !reply.metadata.truncation {
            return Ok(reply);
        }
        self.exchange_tcp(wire, id).await
    }

    async fn exchange_tcp(&self, wire: &[u8], id: u16) -> Result<Message, String> {
        let mut tcp = TcpStream::connect(self.server).await.map_err(|e| e.to_string())?;
        let len = u16::try_from(wire.len()).map_err(|_| "query too long")?;
        tcp.write_all(&len.to_be_bytes()).await.map_err(|e| e.to_string())?;
        tcp.write_all(wire).await.map_err(|e| e.to_string())?;
        let n = tcp.read_u16().await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; usize::from(n)];
        tcp.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        let m = Message::from_vec(&buf).map_err(|e| e.to_string())?;
        if m.metadata.id != id {
            return Err("answer with a wrong id".into());
        }
        Ok(m)
    }
}

fn classify(reply: &Message, rtype: RecordType) -> Result<Secured, String> {
    let secure = reply.metadata.authentic_data;
    match reply.metadata.response_code {
        ResponseCode::NoError => {
            let data: Vec<RData> = reply
                .answers
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect();
            Ok(if data.is_empty() { Secured::Empty { secure } } else { Secured::Records { secure, data } })
        }
        ResponseCode::NXDomain => Ok(Secured::Empty { secure }),
        ResponseCode::ServFail => Err("SERVFAIL (DNSSEC validation failure or unreachable servers)".into()),
        other => Err(format!("resolver answered {other}")),
    }
}

fn first_nameserver(conf: &str) -> Option<IpAddr> {
    conf.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("nameserver")).then(|| words.next()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_resolvers_are_trusted() {
        let t = Duration::from_secs(1);
        assert!(SecureDns::from_spec("127.0.0.1:5353", t).is_ok());
        assert!(SecureDns::from_spec("[::1]:53", t).is_ok());
        let err = SecureDns::from_spec("192.0.2.1:53", t).unwrap_err();
        assert!(err.contains("not on loopback"), "{err}");
        assert!(SecureDns::from_spec("nonsense", t).is_err());
    }

    #[test]
    fn resolv_conf_first_nameserver() {
        let conf = "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n";
        assert_eq!(first_nameserver(conf), Some("127.0.0.53".parse().unwrap()));
        assert_eq!(first_nameserver("search x\n"), None);
    }

    #[test]
    fn unsigned_answers_are_not_secure_and_servfail_is_an_error() {
        let mut m = Message::response(1, hickory_resolver::proto::op::OpCode::Query);
        m.metadata.response_code = ResponseCode::NoError;
        assert_eq!(classify(&m, RecordType::TLSA).unwrap(), Secured::Empty { secure: false });
        m.metadata.authentic_data = true;
        assert!(classify(&m, RecordType::TLSA).unwrap().is_secure());
        m.metadata.response_code = ResponseCode::ServFail;
        assert!(classify(&m, RecordType::TLSA).is_err());
    }
}
