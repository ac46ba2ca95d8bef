//! `postern admin add NAME [--domain D ...]`: creates (or replaces) a web UI administrator
//! in the admins file (`admin.file` under data_dir); the password is read from stdin.
//! Without `--domain` a superadmin; with it an admin of those domains only.
use super::exit;
use postern::config::Config;
use std::io::Read;

pub fn add(cfg: &Config, name: &str, domains: &[String]) -> i32 {
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut password) {
        eprintln!("postern: cannot read the password from stdin: {e}");
        return exit::DATAERR;
    }
    // `echo pw | postern admin add` adds a newline that is not part of the password.
    let password = password.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&password);
    let path = cfg.admins_file();
    match postern::admin::accounts::add(&path, name, password, domains) {
        Ok(replaced) => {
            let role = if domains.is_empty() { "superadmin".to_string() } else { format!("admin of {}", domains.join(", ")) };
            let verb = if replaced { "replaced" } else { "added" };
            eprintln!("{verb} {name} ({role}) in {}", path.display());
            if cfg.admin.bind.is_empty() {
                eprintln!("note: admin.bind is empty, the web UI is disabled");
            } else {
                let scheme = if cfg.admin.tls { "https" } else { "http" };
                eprintln!("log in at {scheme}://{}/", cfg.admin.bind);
            }
            exit::OK
        }
        Err(e @ postern::admin::accounts::AdminsError::Invalid(_)) => {
            eprintln!("postern: {e}");
            exit::USAGE
        }
        Err(e) => {
            eprintln!("postern: {e}");
            exit::CANTCREAT
        }
    }
}
