//! Configuration: TOML schema, defaults, `POSTERN_*` environment overrides, validation.
//!
//! Owns: turning a file + environment into a validated `Config`, with every error naming
//! its key. Read by everyone, written by nobody (the daemon never writes config).
mod acme;
mod compat;
mod duration;
mod rate;
mod env;
mod routing;
pub mod reference;
mod schema;
pub mod smarthost;
mod validate;

pub use acme::{Acme, AcmeChallenge, MtaSts, StsMode};
pub use duration::Duration;
pub use rate::Rate;
pub use routing::{Aliases, Directory, DirectoryBackend, DirectorySchema, Mailboxes, QuotaFull, Rewrite, Route, RouteTransport, Srs, parse_header_tag};
pub use schema::*;
pub use validate::is_domain;

use std::path::{Path, PathBuf};

/// A loaded configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, or None for the embedded default.
    pub source: Option<PathBuf>,
    /// Environment variables that changed the configuration.
    pub env_applied: Vec<String>,
    /// Environment variables without effect, each with the reason (warned at start).
    pub env_ignored: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration{}:\n  {}", self.source_name(), .errors.join("\n  "))]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub errors: Vec<String>,
}

impl ConfigError {
    fn source_name(&self) -> String {
        self.file.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default()
    }
}

/// Loads `path` (or the embedded default when None), applies the environment, validates.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_with_env(path, std::env::vars())
}

pub fn load_with_env(
    path: Option<&Path>,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let fail = |errors: Vec<String>| ConfigError { file: path.map(Path::to_path_buf), errors };
    let text = match path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| fail(vec![format!("cannot read {}: {e}", p.display())]))?,
        None => String::new(),
    };
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| fail(vec![e.to_string()]))?;
    let defaults = toml::Table::try_from(Config::default()).expect("default config serializes");
    let vars: std::collections::BTreeMap<String, String> = vars.collect();
    let compat = compat::apply(&mut table, &vars).map_err(fail)?;
    let mut env_applied = compat.applied;
    env_applied.extend(env::apply(&mut table, &defaults, vars.into_iter()).map_err(|e| fail(vec![e]))?);
    let mut config: Config = serde_path_to_error::deserialize(table)
        .map_err(|e| fail(vec![format!("{}: {}", e.path(), e.inner())]))?;
    if config.listeners.is_empty() {
        config.listeners = default_listeners();
    }
    config.users.env_accounts =
        compat.accounts.into_iter().map(|(name, password)| EnvAccount { name, password }).collect();
    normalize(&mut config);
    let errors = validate::validate(&config);
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    Ok(Loaded { config, source: path.map(Path::to_path_buf), env_applied, env_ignored: compat.ignored })
}

fn normalize(c: &mut Config) {
    for list in [&mut c.relay.local_domains, &mut c.relay.allowed_sender_domains] {
        for d in list.iter_mut() {
            *d = crate::proto::smtp::address::normalize_domain(d);
        }
    }
}

impl Config {
    /// The effective configuration as TOML, secrets masked (`check config --print`).
    pub fn to_toml_masked(&self) -> String {
        let mut c = self.clone();
        for secret in [
            &mut c.delivery.smarthost_password,
            &mut c.delivery.xoauth2_client_secret,
            &mut c.delivery.xoauth2_refresh_token,
            &mut c.delivery.xoauth2_access_token,
            &mut c.directory.url,
        ] {
            if !secret.is_empty() {
                *secret = "********".into();
            }
        }
        for t in c.http.tokens.iter_mut().chain(c.http.admin_tokens.iter_mut()) {
            *t = "********".into();
        }
        for r in c.routes.iter_mut().filter(|r| !r.token.is_empty()) {
            r.token = "********".into();
        }
        if !c.srs.secret.is_empty() {
            c.srs.secret = "********".into();
        }
        toml::to_string_pretty(&c).unwrap_or_default()
    }

    /// A final destination of ours: `relay.local_domains`, or a domain the directory lists.
    pub fn is_local_domain(&self, ascii_domain: &str) -> bool {
        self.relay.local_domains.iter().any(|d| d.eq_ignore_ascii_case(ascii_domain))
            || self.relay.listed.is_local(&ascii_domain.to_ascii_lowercase())
    }

    /// A domain we are backup MX for (the directory's `backupmx` domains): accepted from
    /// anyone, relayed on.
    pub fn is_relay_domain(&self, ascii_domain: &str) -> bool {
        self.relay.listed.is_relay(&ascii_domain.to_ascii_lowercase())
    }

    /// Where Maildirs live: `mailboxes.root`, else `data_dir/mail`.
    pub fn mail_root(&self) -> PathBuf {
        if self.mailboxes.root.as_os_str().is_empty() { self.server.data_dir.join("mail") } else { self.mailboxes.root.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(s: &str, vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("postern.toml");
        std::fs::write(&p, s).unwrap();
        load_with_env(Some(&p), vars.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn embedded_default_listens_for_smtp_imap_and_pop3_on_loopback() {
        let l = load_with_env(None, std::iter::empty()).unwrap();
        let binds: Vec<_> = l.config.listeners.iter().map(|l| (l.bind.as_str(), l.kind.name())).collect();
        assert_eq!(
            binds,
            [
                ("127.0.0.1:2525", "smtp"),
                ("127.0.0.1:2587", "submission"),
                ("127.0.0.1:2465", "submissions"),
                ("127.0.0.1:2143", "imap"),
                ("127.0.0.1:2993", "imaps"),
                ("127.0.0.1:2110", "pop3"),
                ("127.0.0.1:2995", "pop3s"),
            ]
        );
        assert_eq!(l.config.limits.message_size, 52_428_800);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = load_str("[limits]\nrecipientz = 5\n", &[]).unwrap_err().to_string();
        assert!(e.contains("limits") && e.contains("recipientz"), "{e}");
    }

    #[test]
    fn invalid_values_are_all_reported() {
        let e = load_str(
            "[[listener]]\nbind = \"nope\"\nkind = \"smtp\"\n[delivery]\ntls = \"maybe\"\n[http]\ntokens = [\"short\"]\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.errors.len(), 3, "{e}");
        let s = e.to_string();
        assert!(s.contains("listener[0].bind") && s.contains("delivery.tls") && s.contains("http.tokens[0]"));
    }

    #[test]
    fn bad_kind_and_duration_fail_with_key() {
        let e = load_str("[[listener]]\nbind = \"127.0.0.1:1\"\nkind = \"smtps\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("listener[0].kind"), "{e}");
        let e = load_str("[limits]\ncommand_timeout = \"soon\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("limits.command_timeout"), "{e}");
    }

    #[test]
    fn env_overrides_file() {
        let l = load_str(
            "[relay]\nlocal_domains = [\"a.test\"]\n",
            &[("POSTERN_RELAY__LOCAL_DOMAINS", "B.test,c.test"), ("POSTERN_LIMITS__RECIPIENTS", "3")],
        )
        .unwrap();
        assert_eq!(l.config.relay.local_domains, ["b.test", "c.test"]);
        assert_eq!(l.config.limits.recipients, 3);
        assert_eq!(l.env_applied.len(), 2);
    }

    #[test]
    fn env_with_bad_value_names_key() {
        let e = load_str("", &[("POSTERN_LIMITS__RECIPIENTS", "many")]).unwrap_err();
        assert!(e.to_string().contains("limits.recipients"), "{e}");
    }

    #[test]
    fn documented_example_is_valid() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/postern.toml");
        load_with_env(Some(&p), std::iter::empty()).unwrap();
    }
}
