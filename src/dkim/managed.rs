//! DKIM keys made from the web UI, kept under `data_dir/dkim/<domain>/<selector>.pem`, so
//! a key can be added without editing the config file: the daemon signs with these and
//! with the `[[dkim]]` entries of the file (an entry of the file wins for the same domain
//! and selector).
//!
//! Owns: that directory's layout, listing it, generating into it, and the effective key
//! list (`effective`). Must not touch: the config file (the daemon never writes it).
use super::keygen::{Algorithm, GeneratedKey, keygen};
use super::keys::{check_selector, normalize_domain};
use super::{DkimError, DkimKeyConfig};
use crate::config::Config;
use std::path::{Path, PathBuf};

/// `data_dir/dkim`.
pub fn dir(cfg: &Config) -> PathBuf {
    cfg.server.data_dir.join("dkim")
}

/// The keys under `dir` (domain directories holding `<selector>.pem` files), sorted.
/// Names that are not a domain or a selector are skipped.
pub fn list(dir: &Path) -> Vec<DkimKeyConfig> {
    let mut out = Vec::new();
    let Ok(domains) = std::fs::read_dir(dir) else { return out };
    for d in domains.flatten() {
        let Some(domain) = d.file_name().to_str().map(str::to_string) else { continue };
        if normalize_domain(&domain).ok().as_deref() != Some(domain.as_str()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(d.path()) else { continue };
        for f in files.flatten() {
            let name = f.file_name();
            let Some(selector) = name.to_str().and_then(|n| n.strip_suffix(".pem")) else { continue };
            if check_selector(selector).is_ok() {
                out.push(DkimKeyConfig { domain: domain.clone(), selector: selector.to_string(), key: f.path() });
            }
        }
    }
    out.sort_by(|a, b| (&a.domain, &a.selector).cmp(&(&b.domain, &b.selector)));
    out
}

/// The `[[dkim]]` entries of the config followed by the managed keys not configured there.
pub fn effective(cfg: &Config) -> Vec<DkimKeyConfig> {
    let mut keys = cfg.dkim.clone();
    let configured = |k: &DkimKeyConfig| {
        cfg.dkim.iter().any(|c| {
            normalize_domain(&c.domain).is_ok_and(|d| d == k.domain) && c.selector.eq_ignore_ascii_case(&k.selector)
        })
    };
    keys.extend(list(&dir(cfg)).into_iter().filter(|k| !configured(k)));
    keys
}

/// Makes a key for `selector._domainkey.domain` under `dir` (never replacing one).
pub fn generate(dir: &Path, domain: &str, selector: &str, algorithm: Algorithm) -> Result<GeneratedKey, DkimError> {
    let domain = normalize_domain(domain)?;
    check_selector(selector)?;
    let sub = dir.join(&domain);
    let made = keygen(&domain, selector, algorithm, &sub)?;
    // keygen names the file `<domain>.<selector>.pem`; this layout keeps `<selector>.pem`.
    let path = sub.join(format!("{selector}.pem"));
    if path.exists() {
        let _ = std::fs::remove_file(&made.path);
        return Err(DkimError::Exists { path });
    }
    std::fs::rename(&made.path, &path).map_err(|source| DkimError::Write { path: path.clone(), source })?;
    Ok(GeneratedKey { path, ..made })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_listed_and_configured_ones_win() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.server.data_dir = tmp.path().to_path_buf();
        let k = generate(&dir(&cfg), "Example.ORG", "s1", Algorithm::Ed25519).unwrap();
        assert!(k.path.ends_with("dkim/example.org/s1.pem"));
        assert!(k.txt.starts_with("v=DKIM1; k=ed25519; p="));
        assert!(matches!(generate(&dir(&cfg), "example.org", "s1", Algorithm::Ed25519), Err(DkimError::Exists { .. })));
        assert_eq!(list(&dir(&cfg)).len(), 1);
        assert_eq!(effective(&cfg).len(), 1);
        cfg.dkim.push(DkimKeyConfig { domain: "example.org".into(), selector: "S1".into(), key: "elsewhere.pem".into() });
        let eff = effective(&cfg);
        assert_eq!(eff.len(), 1);
        assert_eq!(eff[0].key, PathBuf::from("elsewhere.pem"));
        crate::dkim::DkimSigner::load(&list(&dir(&cfg))).unwrap();
    }
}
