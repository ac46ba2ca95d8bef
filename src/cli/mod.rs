//! Command-line interface: argument parsing and one function per subcommand.
//!
//! Owns: clap definitions, exit codes, human output. Calls the library only.
mod check;
mod queue;
mod serve;
mod user;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "postern", version, about = "A mail transfer agent that replaces Postfix")]
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
    /// Inspect and act on the mail queue.
    #[command(subcommand)]
    Queue(QueueCommand),
}

#[derive(Subcommand, Debug)]
pub enum CheckCommand {
    /// Validate the configuration; exit 1 naming every bad key.
    Config {
        /// Print the effective configuration (file + environment + defaults), secrets masked.
        #[arg(long)]
        print: bool,
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
pub enum QueueCommand {
    /// List queued messages like mailq.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one message: envelope, recipient states and headers.
    Show { id: String },
}

/// sysexits.h codes used by the CLI.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 64;
    pub const DATAERR: i32 = 65;
    pub const NOUSER: i32 = 67;
    pub const SOFTWARE: i32 = 70;
    pub const TEMPFAIL: i32 = 75;
    pub const CONFIG: i32 = 78;
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
        Command::User(u) => user::run(&loaded.config, u),
        Command::Queue(q) => queue::run(&loaded.config, q),
    }
}
