//! `postern check config`.
use super::exit;
use postern::config::Loaded;

pub fn config(loaded: &Loaded, print: bool) -> i32 {
    let source = loaded.source.as_ref().map_or("embedded default".into(), |p| p.display().to_string());
    // Keys the HTTP module added, checked here until config::validate covers them.
    let http_errors = postern::http::config_errors(&loaded.config);
    if !http_errors.is_empty() {
        eprintln!("postern: invalid configuration in {source}:\n  {}", http_errors.join("\n  "));
        return exit::CONFIG;
    }
    eprintln!("configuration ok ({source})");
    for name in &loaded.env_applied {
        eprintln!("applied environment variable {name}");
    }
    if let Err(e) = postern::inbound::tls::check_files(&loaded.config) {
        eprintln!("postern: {e}");
        return exit::CONFIG;
    }
    if print {
        // http.admin_tokens is masked here until Config::to_toml_masked learns the key.
        let mut masked = loaded.config.clone();
        masked.http.admin_tokens.iter_mut().for_each(|t| *t = "********".into());
        print!("{}", masked.to_toml_masked());
    }
    exit::OK
}
