//! `postern check config`.
use super::exit;
use postern::config::Loaded;

pub fn config(loaded: &Loaded, print: bool) -> i32 {
    let source = loaded.source.as_ref().map_or("embedded default".into(), |p| p.display().to_string());
    eprintln!("configuration ok ({source})");
    for name in &loaded.env_applied {
        eprintln!("applied environment variable {name}");
    }
    if let Err(e) = postern::inbound::tls::check_files(&loaded.config) {
        eprintln!("postern: {e}");
        return exit::CONFIG;
    }
    if print {
        print!("{}", loaded.config.to_toml_masked());
    }
    exit::OK
}
