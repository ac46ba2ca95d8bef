//! `postern user add|list|delete`: edits the users file (the daemon only reads it).
use super::{UserCommand, exit};
use postern::config::Config;
use postern::directory::Users;
use std::io::Read;

pub fn run(cfg: &Config, cmd: UserCommand) -> i32 {
    let path = &cfg.users.file;
    let mut users = match Users::load(path) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("postern: {e}");
            return exit::CONFIG;
        }
    };
    let result = match cmd {
        UserCommand::List => {
            users.names().for_each(|n| println!("{n}"));
            Ok(())
        }
        UserCommand::Add { name } => {
            let mut password = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut password) {
                eprintln!("postern: cannot read the password from stdin: {e}");
                return exit::DATAERR;
            }
            // `echo pw | postern user add` adds a newline that is not part of the password.
            let password = password.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&password);
            users.set_password(path, &name, password).map(|()| eprintln!("user {name} saved in {}", path.display()))
        }
        UserCommand::Delete { name } => {
            users.delete(path, &name).map(|()| eprintln!("user {name} deleted from {}", path.display()))
        }
    };
    match result {
        Ok(()) => exit::OK,
        Err(e @ postern::directory::UserError::NoSuchUser(_)) => {
            eprintln!("postern: {e}");
            exit::NOUSER
        }
        Err(e) => {
            eprintln!("postern: {e}");
            exit::DATAERR
        }
    }
}
