//! `postern check config` and `postern check dns`.
use super::exit;
use postern::config::Loaded;

pub fn config(loaded: &Loaded, print: bool) -> i32 {
    let source = loaded.source.as_ref().map_or("embedded default".into(), |p| p.display().to_string());
    eprintln!("configuration ok ({source})");
    for name in &loaded.env_applied {
        eprintln!("applied environment variable {name}");
    }
    for why in &loaded.env_ignored {
        eprintln!("warning: environment variable has no effect: {why}");
    }
    if let Err(e) = postern::net::tls::check_files(&loaded.config) {
        eprintln!("postern: {e}");
        return exit::CONFIG;
    }
    if print {
        print!("{}", loaded.config.to_toml_masked());
    }
    exit::OK
}

/// `postern check dns [DOMAIN] [--ip ADDRESS]...`: prints one line per check for DOMAIN, or
/// for each of `relay.local_domains`; exit 0 when nothing failed, 1 otherwise (64 for a bad
/// or missing domain, 78 for a bad resolver/CA setting).
pub fn dns(cfg: &postern::config::Config, domain: Option<String>, ips: Vec<std::net::IpAddr>) -> i32 {
    let domains = match domain {
        Some(d) => vec![d],
        None if cfg.relay.local_domains.is_empty() => {
            eprintln!("postern: give a DOMAIN (relay.local_domains is empty)");
            return exit::USAGE;
        }
        None => cfg.relay.local_domains.clone(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("postern: cannot start the runtime: {e}");
            return exit::SOFTWARE;
        }
    };
    let mut code = exit::OK;
    for (i, domain) in domains.into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        let options = postern::dnscheck::Options { domain, ips: ips.clone() };
        match rt.block_on(postern::dnscheck::check(cfg, &options)) {
            Ok(report) => {
                print!("{report}");
                code = code.max(report.exit_code());
            }
            Err(e @ postern::dnscheck::CheckError::Domain { .. }) => {
                eprintln!("postern: {e}");
                return exit::USAGE;
            }
            Err(e) => {
                eprintln!("postern: {e}");
                return exit::CONFIG;
            }
        }
    }
    code
}
