//! The aliases file (Postfix `virtual_alias_maps`), TOML:
//! ```toml
//! "info@example.com" = ["alice@example.com", "bob@elsewhere.net"]
//! "sales@example.com" = "carol@example.com"
//! "@example.org" = ["catchall@example.com"]   # catch-all: any unknown user@example.org
//! "@old.example" = ["@new.example"]            # user@old.example -> user@new.example
//! ```
use super::{DirectoryError, normalize, normalize_domain};
use crate::proto::smtp::Address;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Default, Clone)]
pub struct AliasTable {
    exact: HashMap<String, Vec<String>>,
    catch_all: HashMap<String, Vec<String>>,
}

impl AliasTable {
    pub fn parse(text: &str, path: &Path) -> Result<AliasTable, DirectoryError> {
        let err = |msg: String| DirectoryError::Parse { path: path.display().to_string(), msg };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| err(e.to_string()))?;
        let mut out = AliasTable::default();
        for (key, value) in table {
            let targets: Vec<String> = match value {
                toml::Value::String(s) => vec![s],
                toml::Value::Array(a) => a
                    .into_iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or_else(|| err(format!("{key:?}: targets must be strings"))))
                    .collect::<Result<_, _>>()?,
                _ => return Err(err(format!("{key:?}: value must be an address or a list of addresses"))),
            };
            if targets.is_empty() {
                return Err(err(format!("{key:?}: needs at least one target")));
            }
            let catch_all = key.starts_with('@');
            for t in &targets {
                check_target(t, catch_all).map_err(|m| err(format!("{key:?}: target {t:?} {m}")))?;
            }
            let targets = targets.iter().map(|t| normalize_target(t)).collect();
            if let Some(domain) = key.strip_prefix('@') {
                check_domain(domain).map_err(|m| err(format!("{key:?}: {m}")))?;
                out.catch_all.insert(normalize_domain(domain), targets);
            } else {
                Address::parse(&key, true).map_err(|e| err(format!("{key:?}: {e}")))?;
                out.exact.insert(normalize(&key), targets);
            }
        }
        Ok(out)
    }

    /// Targets of an exact alias (`address` normalized).
    pub fn get(&self, address: &str) -> Option<&[String]> {
        self.exact.get(address).map(Vec::as_slice)
    }

    /// Targets of the catch-all of `domain` (ASCII, lower case).
    pub fn catch_all(&self, domain: &str) -> Option<&[String]> {
        self.catch_all.get(domain).map(Vec::as_slice)
    }

    /// Every domain with an alias or a catch-all.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        let exact = self.exact.keys().filter_map(|a| a.rsplit_once('@').map(|(_, d)| d));
        exact.chain(self.catch_all.keys().map(String::as_str))
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.catch_all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Targets keep the case of their local part (it matters to remote servers); the domain
/// is normalized.
fn normalize_target(t: &str) -> String {
    match t.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", normalize_domain(domain)),
        None => t.to_string(),
    }
}

fn check_domain(d: &str) -> Result<(), String> {
    if crate::config::is_domain(d) { Ok(()) } else { Err(format!("{d:?} is not a domain name")) }
}

fn check_target(t: &str, catch_all: bool) -> Result<(), String> {
    match t.strip_prefix('@') {
        Some(d) if catch_all => check_domain(d),
        Some(_) => Err("\"@domain\" targets are only allowed for \"@domain\" catch-alls".into()),
        None => Address::parse(t, true).map(|_| ()).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AliasTable, DirectoryError> {
        AliasTable::parse(s, Path::new("aliases.toml"))
    }

    #[test]
    fn exact_catch_all_and_single_string() {
        let t = parse(
            "\"Info@Example.com\" = [\"a@example.com\", \"B@Elsewhere.NET\"]\n\"x@example.com\" = \"y@example.com\"\n\
             \"@Example.org\" = [\"@example.com\"]\n",
        )
        .unwrap();
        assert_eq!(t.get("info@example.com").unwrap(), ["a@example.com", "B@elsewhere.net"]);
        assert_eq!(t.get("x@example.com").unwrap(), ["y@example.com"]);
        assert_eq!(t.catch_all("example.org").unwrap(), ["@example.com"]);
        let mut d: Vec<&str> = t.domains().collect();
        d.sort();
        assert_eq!(d, ["example.com", "example.com", "example.org"]);
    }

    #[test]
    fn errors_name_the_key() {
        for (bad, needle) in [
            ("\"a@example.com\" = []", "at least one"),
            ("\"a@example.com\" = [\"not an address\"]", "not an address"),
            ("\"a@example.com\" = [\"@example.net\"]", "only allowed"),
            ("\"@bad domain\" = [\"a@example.com\"]", "not a domain"),
            ("\"a@example.com\" = 5", "list of addresses"),
            ("nope = [\"a@example.com\"]", "\"nope\""),
            ("\"a@example.com\" = [", "aliases.toml"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
