//! Command-line interface: argument parsing and one function per subcommand.
//!
//! Owns: clap definitions, exit codes (sysexits), human output, and the sendmail/mailq
//! personalities chosen by the name the binary is invoked as. Calls the library only.
mod accounts;
mod admin;
mod check;
mod acme;
mod cluster;
mod daemon;
mod dkim;
mod health;
mod health_tls;
mod mailq;
mod queue;
mod send;
mod sendmail;
mod serve;
mod user;
mod vacation;

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

// `Parser` is implemented by hand (below) so that `Cli::parse()` can pick the sendmail /
// mailq personality from argv[0].
/// A mail transfer agent that replaces Postfix
#[derive(Args, Debug)]
pub struct Cli {
    /// Configuration file (default: the embedded configuration).
    #[arg(long, short = 'c', global = true, env = "POSTERN_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon.
    Serve,
    /// Check the configuration or DNS.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Manage SMTP AUTH accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the directory's domains (any backend: files, sqlite, postgres).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Manage mailboxes: an address with a password, a quota and a Maildir.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Manage aliases (`@domain` is a catch-all).
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Manage alias domains: mail for user@ALIAS goes to user@TARGET.
    #[command(subcommand, name = "alias-domain")]
    AliasDomain(AliasDomainCommand),
    /// Vacation auto-replies of mailboxes (RFC 3834; any backend).
    #[command(subcommand)]
    Vacation(VacationCommand),
    /// Move the directory to another store.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Inspect and act on the mail queue (through the running daemon).
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Submit a message from stdin, sendmail-compatible (also: the binary run as `sendmail`).
    Send(SendArgs),
    /// Exit 0 when the HTTP API on http.bind answers GET /health with 200, else 1.
    Health,
    /// DKIM keys.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Nodes sharing a Redis (`[cluster]`).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Certificates from an ACME CA (`[acme]`).
    #[command(subcommand)]
    Acme(AcmeCommand),
    /// Stop accepting (listeners closed, /health 503), deliver what is queued, and exit
    /// when the queue is empty or after --timeout.
    Drain {
        /// How long to deliver before stopping anyway (e.g. 10m, 1h).
        #[arg(long, default_value = "10m")]
        timeout: humantime::Duration,
    },
    /// Administrators of the web UI (admin.bind).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The nodes with a current heartbeat: queue size, delivery rate, draining or not.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AcmeCommand {
    /// Names, issuer, expiry, next renewal and last error of the ACME certificate.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Add (or replace) an administrator; the password is read from stdin. Without
    /// --domain a superadmin, with it an admin of those domains only.
    Add {
        name: String,
        /// A domain this admin manages (repeatable).
        #[arg(long = "domain", value_name = "DOMAIN")]
        domains: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Write a new signing key and print the DNS TXT record that publishes it.
    Keygen {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        selector: String,
        /// rsa (2048-bit, what every receiver verifies) or ed25519 (RFC 8463).
        #[arg(long, default_value = "rsa")]
        algorithm: String,
        /// Where the key goes (default: config/dkim).
        #[arg(long, default_value = "config/dkim")]
        out_dir: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CheckCommand {
    /// Validate the configuration; exit 1 naming every bad key.
    Config {
        /// Print the effective configuration (file + environment + defaults), secrets masked.
        #[arg(long)]
        print: bool,
    },
    /// Check the DNS records receivers look at for mail from DOMAIN and print the MTA-STS,
    /// TLS-RPT and TLSA records to publish; exit 1 on any fail.
    Dns {
        /// The mail domain (what follows @ in the addresses you send from); default: each
        /// of relay.local_domains in turn.
        domain: Option<String>,
        /// Public IP mail leaves from (repeatable; default: server.public_ips, then the
        /// A/AAAA records of server.hostname).
        #[arg(long = "ip", value_name = "ADDRESS")]
        ips: Vec<std::net::IpAddr>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user or change a password; the password is read from stdin.
    Add { name: String },
    /// List user names.
    List,
    /// Delete a user.
    Delete { name: String },
}

#[derive(Subcommand, Debug)]
pub enum DomainCommand {
    /// Add a domain we receive mail for.
    Add {
        domain: String,
        #[arg(long, default_value = "")]
        description: String,
        /// We are its backup MX: accept from anyone and relay on, store nothing.
        #[arg(long)]
        backupmx: bool,
        /// Bytes all its mailboxes may hold together (default: no domain quota).
        #[arg(long)]
        quota: Option<u64>,
        /// Most mailboxes it may have (0: unlimited, the default; -1: none).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        max_mailboxes: i64,
        /// Most aliases it may have (0: unlimited, the default; -1: none).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        max_aliases: i64,
        /// Largest quota in bytes one of its mailboxes may get (0: no limit, the default).
        #[arg(long, default_value_t = 0)]
        max_quota: u64,
    },
    /// List domains.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a domain that has no mailboxes or aliases left.
    Delete { domain: String },
}

#[derive(Subcommand, Debug)]
pub enum MailboxCommand {
    /// Add a mailbox; the password is read from stdin.
    Add {
        address: String,
        /// Bytes (0: unlimited; default: mailboxes.quota).
        #[arg(long)]
        quota: Option<u64>,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List mailboxes.
    List {
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a mailbox's password (read from stdin).
    Passwd { address: String },
    /// Delete a mailbox (its Maildir stays on disk).
    Delete { address: String },
}

#[derive(Subcommand, Debug)]
pub enum DirectoryCommand {
    /// Copy domains, mailboxes (with their password hashes) and aliases of the configured
    /// directory into the database at URL (sqlite:///path or postgres://...); entries it
    /// already has are kept. Then point directory.url at it.
    Migrate {
        #[arg(long)]
        to: String,
        /// The target's table layout: postern (created when missing) or postfixadmin.
        #[arg(long, default_value = "postern")]
        schema: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// Add an alias: mail for ADDRESS goes to every TARGET.
    Add {
        address: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List aliases.
    List {
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an alias.
    Delete { address: String },
}

#[derive(Subcommand, Debug)]
pub enum AliasDomainCommand {
    /// Add an alias domain: mail for user@ALIAS goes to user@TARGET (both domains must exist).
    Add { alias: String, target: String },
    /// List alias domains.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an alias domain.
    Delete { alias: String },
}

#[derive(Subcommand, Debug)]
pub enum VacationCommand {
    /// Switch a mailbox's auto-reply on (replacing the one it had).
    Set {
        address: String,
        /// Subject of the replies; "": "Auto: " and the subject answered ($SUBJECT is
        /// replaced by that subject).
        #[arg(long)]
        subject: String,
        /// The reply text (UTF-8 plain text); "-": stdin.
        #[arg(long, value_name = "FILE")]
        body_file: PathBuf,
        /// First day (YYYY-MM-DD, UTC) or time (RFC 3339) to answer; default: now.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day (YYYY-MM-DD, through its end, UTC) or time (RFC 3339); default: until
        /// switched off.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Seconds before the same sender is answered again (0: only once).
        #[arg(long, default_value_t = 604_800)]
        interval: u64,
    },
    /// Switch it off (its text is kept).
    Off { address: String },
    /// Show it.
    Show {
        address: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List queued messages like mailq (also: the binary run as `mailq`).
    List {
        /// JSON array of messages (envelope, recipient states, derived state).
        #[arg(long)]
        json: bool,
        /// Only messages with a recipient in this domain.
        #[arg(long)]
        domain: Option<String>,
        /// Only messages in this state: held, deferred, active, done.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one message: envelope, recipient states and headers.
    Show {
        id: String,
        #[arg(long, conflicts_with = "raw")]
        json: bool,
        /// Print the whole stored message as is (like Postfix's `postcat -q`).
        #[arg(long)]
        raw: bool,
    },
    /// Make a message (or all, or all for a domain) due for delivery now.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
        /// With --all: only recipients in this domain.
        #[arg(long, requires = "all")]
        domain: Option<String>,
    },
    /// Remove a message from the queue without delivering it.
    Delete { id: String },
    /// Put a message on hold: it stays queued but is not delivered.
    Hold { id: String },
    /// Release a held message.
    Release { id: String },
    /// Move every message of this (stopped) node's queue into DIR (one .json envelope and
    /// one .eml message each), removing it from the queue, for `queue import` on another node.
    Export { dir: std::path::PathBuf },
    /// Queue the messages a `queue export` wrote to DIR (the daemon stopped); each keeps its
    /// queue id, so importing twice queues nothing twice. Imported files are removed.
    Import { dir: std::path::PathBuf },
}

/// sendmail's command line (the flags mail programs use).
#[derive(Args, Debug, Default)]
pub struct SendArgs {
    /// Take recipients from the To, Cc and Bcc headers (added to any given as arguments).
    #[arg(short = 't')]
    pub extract: bool,
    /// A line with a single dot does not end the message (also -oi).
    #[arg(short = 'i')]
    pub ignore_dots: bool,
    /// Envelope sender (default: your login name at server.hostname); -r is the same.
    #[arg(short = 'f', short_alias = 'r', value_name = "SENDER")]
    pub from: Option<String>,
    /// Full name used in the From header added when the message has none.
    #[arg(short = 'F', value_name = "NAME")]
    pub full_name: Option<String>,
    /// sendmail options: -oi means -i; other -oX options are accepted and ignored.
    #[arg(short = 'o', value_name = "OPTION")]
    pub options: Vec<String>,
    /// Mode: -bm (the default) delivers mail; -bs, -bd, -bv, -bp, -bi are refused.
    #[arg(short = 'b', value_name = "MODE")]
    pub mode: Option<String>,
    /// Body type (7BIT, 8BITMIME): accepted; postern detects 8-bit content itself.
    #[arg(short = 'B', value_name = "TYPE")]
    pub body_type: Option<String>,
    /// Print the queue id on success.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Recipients.
    pub recipients: Vec<String>,
}

/// sysexits.h codes used by the CLI.
pub mod exit {
    pub const OK: i32 = 0;
    /// Generic failure (`postern health`: not healthy).
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 64;
    pub const CANTCREAT: i32 = 73;
    pub const DATAERR: i32 = 65;
    pub const NOINPUT: i32 = 66;
    pub const NOUSER: i32 = 67;
    pub const SOFTWARE: i32 = 70;
    pub const TEMPFAIL: i32 = 75;
    pub const CONFIG: i32 = 78;
}

/// The personality chosen by argv[0].
fn personality(argv0: &OsString) -> &'static str {
    let name = std::path::Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or("postern");
    match name {
        "sendmail" => "sendmail",
        "mailq" => "mailq",
        _ => "postern",
    }
}

/// `sendmail ARGS` → `postern send ARGS`, `mailq ARGS` → `postern queue list ARGS`.
fn rewrite(args: Vec<OsString>) -> (Vec<OsString>, bool) {
    let Some(argv0) = args.first() else { return (args, false) };
    let prefix: &[&str] = match personality(argv0) {
        "sendmail" => &["postern", "send"],
        "mailq" => &["postern", "queue", "list"],
        _ => {
            let send = args.get(1).is_some_and(|a| a == "send");
            return (args, send);
        }
    };
    let sendmail = prefix.len() == 2;
    let mut out: Vec<OsString> = prefix.iter().map(OsString::from).collect();
    out.extend(args.into_iter().skip(1));
    (out, sendmail)
}

impl clap::CommandFactory for Cli {
    fn command() -> clap::Command {
        Self::augment_args(top())
    }
    fn command_for_update() -> clap::Command {
        Self::augment_args_for_update(top())
    }
}

fn top() -> clap::Command {
    clap::Command::new("postern")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A mail transfer agent that replaces Postfix")
        .subcommand_required(true)
        .arg_required_else_help(true)
}

impl Parser for Cli {
    /// Parses the process arguments so that the binary invoked as `sendmail` or `mailq`
    /// acts as those commands, and sendmail usage errors exit 64 (EX_USAGE, what mail
    /// programs expect) instead of clap's 2.
    fn parse() -> Cli {
        let (args, sendmail) = rewrite(std::env::args_os().collect());
        match <Cli as Parser>::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) if sendmail && e.use_stderr() => {
                let _ = e.print();
                std::process::exit(exit::USAGE)
            }
            Err(e) => e.exit(),
        }
    }
}

pub fn run(cli: Cli) -> i32 {
    let loaded = match postern::config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("postern: {e}");
            return exit::CONFIG;
        }
    };
    match cli.command {
        Command::Serve => serve::run(loaded),
        Command::Check(CheckCommand::Config { print }) => check::config(&loaded, print),
        Command::Check(CheckCommand::Dns { domain, ips }) => check::dns(&loaded.config, domain, ips),
        Command::User(u) => user::run(&loaded.config, u),
        Command::Domain(c) => accounts::run(&loaded.config, accounts::Cmd::Domain(c)),
        Command::Mailbox(c) => accounts::run(&loaded.config, accounts::Cmd::Mailbox(c)),
        Command::Alias(c) => accounts::run(&loaded.config, accounts::Cmd::Alias(c)),
        Command::AliasDomain(c) => accounts::run(&loaded.config, accounts::Cmd::AliasDomain(c)),
        Command::Vacation(c) => vacation::run(&loaded.config, c),
        Command::Directory(DirectoryCommand::Migrate { to, schema }) => accounts::migrate(&loaded.config, &to, &schema),
        Command::Queue(q) => queue::run(&loaded.config, q),
        Command::Send(args) => send::run(&loaded.config, args),
        Command::Health => health::run(&loaded.config),
        Command::Cluster(ClusterCommand::Status { json }) => cluster::status(&loaded.config, json),
        Command::Acme(AcmeCommand::Status { json }) => acme::status(&loaded.config, json),
        Command::Drain { timeout } => cluster::drain(&loaded.config, timeout.into()),
        Command::Admin(AdminCommand::Add { name, domains }) => admin::add(&loaded.config, &name, &domains),
        Command::Dkim(DkimCommand::Keygen { domain, selector, algorithm, out_dir }) => {
            dkim::keygen(&domain, &selector, &algorithm, &out_dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let (args, _) = rewrite(args.iter().map(OsString::from).collect());
        <Cli as Parser>::try_parse_from(args)
    }

    #[test]
    fn sendmail_flags_parse() {
        let cli = parse(&["/usr/sbin/sendmail", "-t", "-oi", "-f", "a@example.com", "-FCron Daemon", "-oem", "x@example.net"]).unwrap();
        let Command::Send(a) = cli.command else { panic!("not send") };
        assert!(a.extract && !a.ignore_dots);
        assert_eq!(a.options, ["i", "em"]);
        assert_eq!(a.from.as_deref(), Some("a@example.com"));
        assert_eq!(a.full_name.as_deref(), Some("Cron Daemon"));
        assert_eq!(a.recipients, ["x@example.net"]);
        let cli = parse(&["postern", "send", "-ti", "-ra@example.com", "-bs"]).unwrap();
        let Command::Send(a) = cli.command else { panic!("not send") };
        assert!(a.extract && a.ignore_dots && a.mode.as_deref() == Some("s"));
        assert_eq!(a.from.as_deref(), Some("a@example.com"));
    }

    #[test]
    fn mailq_and_unknown_flags() {
        let cli = parse(&["mailq", "--json"]).unwrap();
        assert!(matches!(cli.command, Command::Queue(QueueCommand::List { json: true, .. })));
        assert!(parse(&["sendmail", "-q15m"]).is_err());
        assert!(rewrite(vec!["postern".into(), "send".into()]).1);
        assert!(!rewrite(vec!["postern".into(), "serve".into()]).1);
        assert!(parse(&["postern", "queue", "retry"]).is_err(), "retry needs an id or --all");
        assert!(parse(&["postern", "queue", "retry", "--all", "--domain", "x.test"]).is_ok());
    }
}
