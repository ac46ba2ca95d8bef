//! `postern dkim keygen`: the OpenDKIM `opendkim-genkey` replacement.
use super::exit;
use std::path::Path;

pub fn keygen(domain: &str, selector: &str, algorithm: &str, out_dir: &Path) -> i32 {
    let algorithm = match algorithm.parse::<postern::dkim::Algorithm>() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("postern: {e}");
            return exit::USAGE;
        }
    };
    match postern::dkim::keygen(domain, selector, algorithm, out_dir) {
        Ok(k) => {
            eprintln!("wrote {} ({algorithm}); add to postern.toml:", k.path.display());
            eprintln!("  [[dkim]]\n  domain = {domain:?}\n  selector = {selector:?}\n  key = {:?}", k.path.display().to_string());
            eprintln!("and publish this DNS record:");
            println!("{}. IN TXT {}", k.record_name, k.txt_zone_value());
            exit::OK
        }
        Err(e) => {
            eprintln!("postern: {e}");
            exit::CANTCREAT
        }
    }
}
