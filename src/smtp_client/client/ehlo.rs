//! Session setup on an open connection: EHLO (HELO fallback) and the extensions it
//! advertises, STARTTLS, and AUTH PLAIN/LOGIN (passwords) or XOAUTH2 (OAuth2 tokens).
use std::sync::Arc;

use super::{ClientError, SmtpClient, Stage};
use crate::proto::smtp::Command;
use crate::proto::smtp::reply::Reply;
use crate::proto::smtp::sasl::{encode_login, encode_plain, encode_xoauth2};

/// What proves who we are to a smarthost.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    Password(&'a str),
    /// An OAuth2 access token, sent with AUTH XOAUTH2.
    Bearer(&'a str),
}

/// ESMTP extensions from the EHLO reply (RFC 5321 §4.1.1.1); all false after HELO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// EHLO (not HELO) succeeded.
    pub esmtp: bool,
    pub starttls: bool,
    pub pipelining: bool,
    /// SIZE advertised: `Some(0)` without a limit, `Some(n)` with one (RFC 1870).
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    /// AUTH mechanisms, upper-cased.
    pub auth: Vec<String>,
    pub dsn: bool,
    pub chunking: bool,
    pub enhanced_status_codes: bool,
}

impl Extensions {
    /// Reads the keyword lines after the first (greeting) line of a 250 EHLO reply.
    pub fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            esmtp: true,
            ..Extensions::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            match keyword.as_str() {
                "STARTTLS" => ext.starttls = true,
                "PIPELINING" => ext.pipelining = true,
                "SIZE" => ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => ext.eightbitmime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "DSN" => ext.dsn = true,
                "CHUNKING" => ext.chunking = true,
                "ENHANCEDSTATUSCODES" => ext.enhanced_status_codes = true,
                "AUTH" => ext.add_auth(words),
                // Pre-RFC 2554 servers (old Exchange, Postfix broken_sasl_auth_clients).
                k if k.starts_with("AUTH=") => {
                    ext.add_auth(std::iter::once(&k[5..]).chain(words));
                }
                _ => {}
            }
        }
        ext
    }

    fn add_auth<'a>(&mut self, mechs: impl Iterator<Item = &'a str>) {
        for m in mechs.flat_map(str::split_ascii_whitespace) {
            let m = m.to_ascii_uppercase();
            if !self.auth.contains(&m) {
                self.auth.push(m);
            }
        }
    }

    /// The SIZE limit when the server declared one.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }
}

impl SmtpClient {
    /// EHLO; when the server rejects it with 5xx (it does not speak ESMTP), HELO.
    pub async fn ehlo(&mut self, name: &str) -> Result<&Extensions, ClientError> {
        self.helo_name = Some(name.to_string());
        let reply = self
            .command(&Command::Ehlo(name.to_string()), Stage::Ehlo)
            .await?;
        if reply.code == 250 {
            self.ext = Extensions::parse(&reply);
            return Ok(&self.ext);
        }
        if !reply.is_permanent() {
            return Err(self.rejected(Stage::Ehlo, reply));
        }
        let reply = self
            .command(&Command::Helo(name.to_string()), Stage::Helo)
            .await?;
        if reply.code != 250 {
            return Err(self.rejected(Stage::Helo, reply));
        }
        self.ext = Extensions::default();
        Ok(&self.ext)
    }

    /// STARTTLS, handshake (certificate checked per `config`, against `server_name`), then
    /// EHLO again (RFC 3207 §4.2: forget everything learnt before TLS).
    ///
    /// A 4xx/5xx to STARTTLS returns `Rejected` with the session still usable in plaintext;
    /// a handshake failure returns `TlsFailed` and the connection is gone.
    pub async fn starttls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<&Extensions, ClientError> {
        if !self.ext.starttls {
            return Err(ClientError::TlsNotOffered {
                peer: self.peer.clone(),
            });
        }
        let reply = self.command(&Command::StartTls, Stage::StartTls).await?;
        if reply.code != 220 {
            return Err(self.rejected(Stage::StartTls, reply));
        }
        if !self.rbuf.is_empty() {
            // Plaintext sent after the 220 would be read as if it came over TLS
            // (response injection, CVE-2011-0411 class): refuse the session.
            let detail = format!(
                "{} bytes of plaintext after the STARTTLS reply",
                self.rbuf.len()
            );
            return Err(self.protocol(Stage::StartTls, detail));
        }
        self.handshake(config, server_name).await?;
        self.ext = Extensions::default();
        let name = self
            .helo_name
            .clone()
            .unwrap_or_else(|| "localhost".to_string());
        self.ehlo(&name).await
    }

    /// AUTH with PLAIN if offered, else LOGIN; XOAUTH2 for a token. Refused over
    /// plaintext unless `set_allow_plaintext_auth(true)`.
    pub async fn auth(&mut self, user: &str, secret: Secret<'_>) -> Result<(), ClientError> {
        if !self.is_tls() && !self.allow_plaintext_auth {
            return Err(self.auth_unavailable("refusing to send credentials without TLS"));
        }
        let offers = |m: &str| self.ext.auth.iter().any(|a| a == m);
        let reply = match secret {
            Secret::Bearer(token) if offers("XOAUTH2") => {
                let cmd = Command::Auth { mechanism: "XOAUTH2".into(), initial: Some(encode_xoauth2(user, token)) };
                let reply = self.command(&cmd, Stage::Auth).await?;
                if reply.code == 334 {
                    // The challenge carries the error as JSON; an empty response ends the
                    // exchange and the server's final reply says why (Google's protocol).
                    self.write(b"\r\n", Stage::Auth).await?;
                    let reply = self.read_reply(Stage::Auth).await?;
                    return Err(ClientError::AuthFailed { peer: self.peer.clone(), reply });
                }
                reply
            }
            Secret::Password(pass) if offers("PLAIN") => {
                let cmd = Command::Auth { mechanism: "PLAIN".into(), initial: Some(encode_plain(user, pass)) };
                self.command(&cmd, Stage::Auth).await?
            }
            Secret::Password(pass) if offers("LOGIN") => self.auth_login(user, pass).await?,
            _ => {
                let wanted = if matches!(secret, Secret::Bearer(_)) { "XOAUTH2" } else { "PLAIN or LOGIN" };
                let offered = if self.ext.auth.is_empty() {
                    "server offers no AUTH mechanism".to_string()
                } else {
                    format!("no {wanted} in: {}", self.ext.auth.join(" "))
                };
                return Err(self.auth_unavailable(&offered));
            }
        };
        match reply.code {
            235 => Ok(()),
            334 => {
                // A challenge we cannot answer: cancel the exchange (RFC 4954 §4).
                let _ = self.write(b"*\r\n", Stage::Auth).await;
                let _ = self.read_reply(Stage::Auth).await;
                Err(ClientError::AuthFailed {
                    peer: self.peer.clone(),
                    reply,
                })
            }
            _ => Err(ClientError::AuthFailed {
                peer: self.peer.clone(),
                reply,
            }),
        }
    }

    /// RFC 4954 LOGIN: username and password each answer a 334 challenge.
    async fn auth_login(&mut self, user: &str, pass: &str) -> Result<Reply, ClientError> {
        let cmd = Command::Auth {
            mechanism: "LOGIN".into(),
            initial: None,
        };
        let mut reply = self.command(&cmd, Stage::Auth).await?;
        for secret in [user, pass] {
            if reply.code != 334 {
                return Ok(reply);
            }
            let mut line = encode_login(secret).into_bytes();
            line.extend_from_slice(b"\r\n");
            self.write(&line, Stage::Auth).await?;
            reply = self.read_reply(Stage::Auth).await?;
        }
        Ok(reply)
    }

    fn auth_unavailable(&self, reason: &str) -> ClientError {
        ClientError::AuthUnavailable {
            peer: self.peer.clone(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postfix_ehlo() {
        let lines = [
            "pf.test",
            "PIPELINING",
            "SIZE 10240000",
            "VRFY",
            "ETRN",
            "STARTTLS",
            "AUTH PLAIN LOGIN",
            "AUTH=PLAIN LOGIN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
            "CHUNKING",
        ];
        let reply = Reply::multiline(250, None, lines.iter().map(|s| s.to_string()).collect());
        let ext = Extensions::parse(&reply);
        assert!(ext.esmtp && ext.pipelining && ext.starttls && ext.eightbitmime && ext.dsn);
        assert!(ext.smtputf8 && ext.chunking && ext.enhanced_status_codes);
        assert_eq!(ext.size, Some(10_240_000));
        assert_eq!(ext.size_limit(), Some(10_240_000));
        assert_eq!(ext.auth, ["PLAIN", "LOGIN"]);
    }

    #[test]
    fn size_without_limit_and_greeting_line_ignored() {
        let reply = Reply::multiline(250, None, vec!["STARTTLS greeting".into(), "size".into()]);
        let ext = Extensions::parse(&reply);
        assert!(
            !ext.starttls,
            "the first line is the server name, not a keyword"
        );
        assert_eq!(ext.size, Some(0));
        assert_eq!(ext.size_limit(), None);
    }
}
