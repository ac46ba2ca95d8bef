//! The configuration schema: every key postern reads, with its default.
//!
//! `config/postern.toml` documents each key; `check config --print` shows the effective values.
use super::duration::Duration;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    #[serde(rename = "listener")]
    pub listeners: Vec<Listener>,
    pub tls: Tls,
    pub limits: Limits,
    pub relay: Relay,
    pub users: Users,
    pub delivery: Delivery,
    pub http: Http,
    pub admin: Admin,
    pub log: Log,
    /// `[[dkim]]` signing keys: domain, selector, key (PEM file).
    pub dkim: Vec<DkimKeyConfig>,
    /// `[[route]]` transport map, first match wins (see `routing.rs`).
    #[serde(rename = "route")]
    pub routes: Vec<super::routing::Route>,
    pub aliases: super::routing::Aliases,
    pub mailboxes: super::routing::Mailboxes,
    pub directory: super::routing::Directory,
    pub srs: super::routing::Srs,
    pub rewrite: super::routing::Rewrite,
    pub inbound: Inbound,
    pub cluster: Cluster,
}

/// `[cluster]`: several nodes sharing limits through Redis (docs/scaling.md).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    /// `redis://[:password@]host:port[/db]`; empty (and no `redis_file`): everything
    /// stays in this process. A secret (never logged).
    pub redis: String,
    /// File holding the Redis URL on its first line.
    pub redis_file: Option<PathBuf>,
    /// This node's name in the cluster; empty: `server.hostname`.
    pub node: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("redis", &if self.redis.is_empty() { "" } else { "********" })
            .field("redis_file", &self.redis_file)
            .field("node", &self.node)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// EHLO name and the host named in Received headers; default: the system host name.
    pub hostname: String,
    /// Queue, generated certificates and (later) mailboxes live here.
    pub data_dir: PathBuf,
    /// Name the authenticated user in the Received header (Postfix:
    /// smtpd_sasl_authenticated_header). Off by default: it leaks account names.
    pub received_auth: bool,
    /// Public addresses mail leaves from, checked by `postern check dns` (PTR, SPF);
    /// empty: the A/AAAA records of `hostname`.
    pub public_ips: Vec<std::net::IpAddr>,
    /// Domain `postern send` appends to a bare login name (Postfix: myorigin); empty:
    /// `hostname`.
    pub origin: String,
}

impl Server {
    /// The domain of locally submitted mail from an unqualified sender.
    pub fn origin(&self) -> &str {
        if self.origin.is_empty() { &self.hostname } else { &self.origin }
    }
}

impl Default for Server {
    fn default() -> Self {
        Server {
            hostname: system_hostname(),
            data_dir: "data".into(),
            received_auth: false,
            public_ips: Vec::new(),
            origin: String::new(),
        }
    }
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    /// MX traffic (port 25): STARTTLS offered, AUTH only after TLS.
    Smtp,
    /// Message submission (port 587): STARTTLS, AUTH required before MAIL.
    Submission,
    /// Submission over implicit TLS (port 465), AUTH required before MAIL.
    Submissions,
    /// IMAP (port 143): STARTTLS, login only after TLS.
    Imap,
    /// IMAP over implicit TLS (port 993).
    Imaps,
    /// POP3 (port 110): STLS, login only after TLS.
    Pop3,
    /// POP3 over implicit TLS (port 995).
    Pop3s,
}

impl ListenerKind {
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
            ListenerKind::Imap => "imap",
            ListenerKind::Imaps => "imaps",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Pop3s => "pop3s",
        }
    }
    pub fn requires_auth(self) -> bool {
        !matches!(self, ListenerKind::Smtp)
    }
    /// Implicit TLS from the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(self, ListenerKind::Submissions | ListenerKind::Imaps | ListenerKind::Pop3s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub bind: String,
    pub kind: ListenerKind,
}

/// The embedded default: unprivileged loopback ports, so `postern serve` works anywhere.
pub fn default_listeners() -> Vec<Listener> {
    [
        ("127.0.0.1:2525", ListenerKind::Smtp),
        ("127.0.0.1:2587", ListenerKind::Submission),
        ("127.0.0.1:2465", ListenerKind::Submissions),
        ("127.0.0.1:2143", ListenerKind::Imap),
        ("127.0.0.1:2993", ListenerKind::Imaps),
        ("127.0.0.1:2110", ListenerKind::Pop3),
        ("127.0.0.1:2995", ListenerKind::Pop3s),
    ]
    .into_iter()
    .map(|(bind, kind)| Listener { bind: bind.into(), kind })
    .collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// PEM certificate chain; with `key` unset too, a self-signed pair is generated.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// TLS on the `smtp` listener (Postfix main.cf smtpd_tls_security_level; submission
    /// always needs TLS before AUTH).
    pub inbound: InboundTls,
    /// Allow IMAP LOGIN and POP3 USER/PASS without TLS on `imap`/`pop3` listeners, for
    /// clients on loopback only (a local webmail); other clients always need TLS first.
    pub plaintext_login_loopback: bool,
}

/// What the `smtp` listener asks of clients before MAIL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundTls {
    /// STARTTLS is not offered.
    None,
    /// STARTTLS offered, plaintext allowed (the default, as on any public MX).
    #[default]
    May,
    /// MAIL before STARTTLS gets 530 5.7.0 (internal relays only: RFC 3207 §4).
    Encrypt,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub message_size: u64,
    /// Recipients per message; more get 452 4.5.3.
    pub recipients: usize,
    /// Idle time allowed while waiting for a command or a data block (RFC 5321: 5 min).
    pub command_timeout: Duration,
    /// Longest a whole session may last.
    pub session_timeout: Duration,
    /// Concurrent sessions in total and per client IP.
    pub connections: usize,
    pub connections_per_ip: usize,
    /// Error replies after which the session is closed (Postfix: smtpd_hard_error_limit).
    pub errors: u32,
    /// Failed AUTH attempts per client IP (within 15 minutes) before delay + 421.
    pub auth_failures: u32,
    /// Delay before the 421 that ends a session over the AUTH failure limit.
    pub auth_failure_delay: Duration,
    /// How long sessions in progress may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// New connections per client IP (Postfix: smtpd_client_connection_rate_limit); 421.
    pub connection_rate: super::Rate,
    /// MAIL commands per client IP (smtpd_client_message_rate_limit); 450 4.7.1.
    pub message_rate: super::Rate,
    /// Messages per authenticated user, whatever port or client; 450 4.7.1.
    pub sender_rate: super::Rate,
    /// A CR or LF outside CRLF in message content: `normalize` stores it as CRLF (Postfix
    /// 3.9 default), `reject` refuses the message with 550 5.6.0.
    pub bare_newline: crate::proto::smtp::data::BareNewline,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_size: 52_428_800,
            recipients: 100,
            command_timeout: Duration::from_secs(300),
            session_timeout: Duration::from_secs(3600),
            connections: 1000,
            connections_per_ip: 50,
            errors: 20,
            auth_failures: 5,
            auth_failure_delay: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
            connection_rate: super::Rate::default(),
            message_rate: super::Rate::default(),
            sender_rate: super::Rate::default(),
            bare_newline: crate::proto::smtp::data::BareNewline::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Relay {
    /// Domains we accept mail for from anyone.
    pub local_domains: Vec<String>,
    /// Clients that may relay to any domain without AUTH (Postfix: mynetworks).
    pub trusted_networks: Vec<IpNet>,
    /// When set, authenticated/trusted clients may only use these sender domains.
    pub allowed_sender_domains: Vec<String>,
    /// An authenticated client may use only MAIL FROM and From addresses its login owns:
    /// the login itself or an alias whose targets include it (Postfix
    /// reject_sender_login_mismatch).
    pub sender_login: bool,
    /// Domains the directory lists (its SQL `domain` table), kept current by the directory:
    /// local like `local_domains`, or relayed for when a backup MX.
    #[serde(skip)]
    pub listed: ListedDomains,
}

/// The domains an SQL directory lists, shared between the directory (which refreshes them
/// every `directory.cache_ttl`) and the relay policy and transport map (which read them).
#[derive(Debug, Clone, Default)]
pub struct ListedDomains(std::sync::Arc<std::sync::RwLock<DomainSets>>);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DomainSets {
    /// Final destination: mailboxes and aliases live here.
    pub local: std::collections::HashSet<String>,
    /// Backup MX: accepted from anyone and relayed on.
    pub relay: std::collections::HashSet<String>,
}

impl ListedDomains {
    pub fn replace(&self, sets: DomainSets) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = sets;
    }

    pub fn is_local(&self, domain: &str) -> bool {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).local.contains(domain)
    }

    pub fn is_relay(&self, domain: &str) -> bool {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).relay.contains(domain)
    }
}

impl Default for Relay {
    fn default() -> Self {
        Relay {
            local_domains: Vec::new(),
            trusted_networks: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            allowed_sender_domains: Vec::new(),
            sender_login: false,
            listed: ListedDomains::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Users {
    /// TOML file of `[[user]] name = "...", password_hash = "$argon2id$..."`.
    pub file: PathBuf,
    /// Also read `address|{SCHEME}hash` or `address|password` lines from this file
    /// (docker-mailserver's postfix-accounts.cf), at start and on SIGHUP or change.
    pub accounts_file: Option<PathBuf>,
    /// Accounts from the environment (ENABLE_SASL with SMTP_USERNAME/SMTP_PASSWORD):
    /// held in memory only, hashed with argon2id when loaded, never written or printed.
    #[serde(skip)]
    pub env_accounts: Vec<EnvAccount>,
}

/// A login from the environment; the password never shows in Debug output.
#[derive(Clone)]
pub struct EnvAccount {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for EnvAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvAccount({:?}, ********)", self.name)
    }
}

impl Default for Users {
    fn default() -> Self {
        Users { file: "config/users.toml".into(), accounts_file: None, env_accounts: Vec::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// "system" (resolv.conf) or "ip:port" of a DNS server.
    pub resolver: String,
    /// Port used on MX hosts (25 in production; tests point it elsewhere).
    pub smtp_port: u16,
    /// Relay everything through these hosts, tried in order: "[host]:port" or "host:port".
    pub smarthost: Vec<String>,
    pub smarthost_username: String,
    pub smarthost_password: String,
    pub smarthost_password_file: Option<PathBuf>,
    /// AUTH XOAUTH2 to the smarthosts instead of a password, when set (boky/postfix's
    /// XOAUTH2_*): `smarthost_username` with an access token from `xoauth2_token_endpoint`,
    /// refreshed with the refresh token before it expires (tokens kept in data_dir).
    pub xoauth2_client_id: String,
    pub xoauth2_client_secret: String,
    pub xoauth2_token_endpoint: String,
    /// Initial tokens; the current ones live in `data_dir/xoauth2.json` once refreshed.
    pub xoauth2_refresh_token: String,
    pub xoauth2_access_token: String,
    /// First retry delay; doubles per attempt up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// Queue lifetime before a message bounces (Postfix: maximal_queue_lifetime).
    pub lifetime: Duration,
    /// Send a delay notice once a message has waited this long (Postfix: delay_warning_time).
    pub delay_notice: Duration,
    /// TLS for outbound SMTP: none | may | encrypt | verify.
    pub tls: String,
    /// Extra CA certificates (PEM) trusted for `verify`, besides the public roots.
    pub tls_ca_file: Option<PathBuf>,
    /// Honour MTA-STS (RFC 8461) policies of recipient domains.
    pub mta_sts: bool,
    /// HTTPS port for fetching MTA-STS policies (443; tests use another).
    pub mta_sts_port: u16,
    /// Messages per destination (domain or smarthost); more wait without counting as an attempt.
    pub destination_rate: super::Rate,
    /// Simultaneous connections per destination and in total.
    pub concurrency_per_destination: usize,
    pub concurrency: usize,
    /// Timeout applied to each SMTP client stage (RFC 5321 §4.5.3.2 minimums are longer).
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            resolver: "system".into(),
            smtp_port: 25,
            smarthost: Vec::new(),
            smarthost_username: String::new(),
            smarthost_password: String::new(),
            smarthost_password_file: None,
            xoauth2_client_id: String::new(),
            xoauth2_client_secret: String::new(),
            xoauth2_token_endpoint: "https://accounts.google.com/o/oauth2/token".into(),
            xoauth2_refresh_token: String::new(),
            xoauth2_access_token: String::new(),
            retry_initial: Duration::from_secs(60),
            retry_max: Duration::from_secs(3600),
            lifetime: Duration::from_secs(5 * 86400),
            delay_notice: Duration::from_secs(4 * 3600),
            tls: "may".into(),
            tls_ca_file: None,
            mta_sts: true,
            mta_sts_port: 443,
            destination_rate: super::Rate::default(),
            concurrency_per_destination: 20,
            concurrency: 100,
            timeout: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Address of the HTTP API (send, health, metrics, queue admin); "" disables it.
    pub bind: String,
    /// Bearer tokens accepted by the send routes, each at least 32 bytes. None: only
    /// clients in `relay.trusted_networks` may send over HTTP.
    pub tokens: Vec<String>,
    /// Bearer tokens for the queue admin routes, each at least 32 bytes. None: queue
    /// administration only over the local control socket (`postern queue`).
    pub admin_tokens: Vec<String>,
    /// Largest request body accepted, in bytes (413 above).
    pub body_limit: u64,
    /// API requests per client IP per minute (429 above); 0 disables the limit.
    pub rate_limit: u32,
    /// Serve HTTPS with the `[tls]` certificate instead of plain HTTP.
    pub tls: bool,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            bind: "127.0.0.1:8025".into(),
            tokens: Vec::new(),
            admin_tokens: Vec::new(),
            body_limit: 512 * 1024,
            rate_limit: 60,
            tls: false,
        }
    }
}

/// `[admin]`: the web administration UI (`admin/`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admin {
    /// Address of the web UI; "" disables it. Loopback by default: put it behind a
    /// reverse proxy or an SSH tunnel rather than on a public address.
    pub bind: String,
    /// Serve HTTPS with the `[tls]` certificate (the session cookie is then `Secure`).
    pub tls: bool,
    /// A session ends after this long without a request.
    pub session_timeout: Duration,
    /// The administrators' file (`postern admin add`); relative paths are under `data_dir`.
    pub file: PathBuf,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            bind: "127.0.0.1:8026".into(),
            tls: false,
            session_timeout: Duration::from_secs(3600),
            file: "admins.toml".into(),
        }
    }
}

impl Config {
    /// Where the administrators' file is: `admin.file`, under `data_dir` when relative.
    pub fn admins_file(&self) -> PathBuf {
        self.server.data_dir.join(&self.admin.file)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// tracing filter, e.g. "info" or "postern=debug".
    pub level: String,
    /// Mask the local part of every mail address in the log (`rewrite::anonymize`).
    pub anonymize: bool,
}

impl Default for Log {
    fn default() -> Self {
        Log { level: "info".into(), anonymize: false }
    }
}

/// `[inbound]`: authentication checks on mail from untrusted clients of `smtp` listeners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Inbound {
    /// Reverse DNS, SPF, DKIM, DMARC and ARC checks plus an Authentication-Results header.
    pub checks: bool,
    /// authserv-id of our Authentication-Results headers; "" means `server.hostname`.
    pub authserv_id: String,
    /// What SPF `fail` for MAIL FROM does when DMARC does not pass.
    pub spf_fail: SpfFailAction,
    /// What a DMARC failure under the sender's `p=reject` does.
    pub dmarc_reject: DmarcRejectAction,
    /// What a DNS failure that leaves the verdict open does.
    pub temperror: TempErrorAction,
    /// DNS server for the checks: "" (same as `delivery.resolver`), "system" or "ip:port".
    pub resolver: String,
    /// Budget for all DNS work on one message; what is unanswered by then is a temperror.
    pub timeout: Duration,
    /// Add an ARC set (RFC 8617) to checked mail, sealed with the `[[dkim]]` key of `arc_domain`.
    pub arc_seal: bool,
    /// `[[dkim]]` domain whose key seals; "" means the first `[[dkim]]` entry.
    pub arc_domain: String,
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            checks: true,
            authserv_id: String::new(),
            spf_fail: SpfFailAction::Tag,
            dmarc_reject: DmarcRejectAction::Enforce,
            temperror: TempErrorAction::Defer,
            resolver: String::new(),
            timeout: Duration::from_secs(20),
            arc_seal: false,
            arc_domain: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfFailAction {
    /// 550 5.7.23.
    Reject,
    /// Accept with the quarantine header.
    Tag,
    /// Accept; only Authentication-Results records it.
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcRejectAction {
    /// `p=reject` gets 550 5.7.1, `p=quarantine` the quarantine header.
    Enforce,
    /// Both policies get the quarantine header.
    Quarantine,
    /// Neither policy is applied; only Authentication-Results records the result.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TempErrorAction {
    /// 451 4.7.5: the client tries again later.
    Defer,
    /// Accept; Authentication-Results says temperror.
    Accept,
}

/// One `[[dkim]]` entry of the config file: sign mail from `domain` with the key in `key`,
/// published at `<selector>._domainkey.<domain>`. The algorithm is read from the PEM.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DkimKeyConfig {
    pub domain: String,
    pub selector: String,
    pub key: PathBuf,
}

