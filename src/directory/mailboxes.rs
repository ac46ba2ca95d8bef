//! The mailboxes file (Postfix `virtual_mailbox_maps`), TOML:
//! ```toml
//! [[mailbox]]
//! address = "alice@example.com"
//! [[mailbox]]
//! address = "bob@example.com"
//! quota = 104857600        # bytes; default mailboxes.quota (0 = unlimited)
//! name = "Bob"              # optional
//! active = false            # optional: an inactive mailbox acts as absent
//! [[domain]]                # a domain of ours (beside relay.local_domains)
//! domain = "example.net"
//! quota = 1073741824       # optional: bytes all its mailboxes may hold together
//! max_mailboxes = 10        # optional: 0 unlimited, -1 none (PostfixAdmin domain.mailboxes)
//! max_aliases = 20          # optional: 0 unlimited, -1 none (PostfixAdmin domain.aliases)
//! max_quota = 1073741824    # optional: largest quota of one mailbox, bytes (0: no limit)
//! [[alias_domain]]          # mail for user@example.info goes to user@example.net
//! alias_domain = "example.info"
//! target_domain = "example.net"
//! active = true             # optional
//! ```
use super::{DirectoryError, normalize};
use crate::proto::smtp::Address;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain: Vec<crate::directory::admin::DomainEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alias_domain: Vec<crate::directory::admin::AliasDomainEntry>,
    #[serde(default)]
    pub mailbox: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl File {
    pub fn parse(text: &str, path: &Path) -> Result<File, DirectoryError> {
        toml::from_str(text).map_err(|e| DirectoryError::Parse { path: path.display().to_string(), msg: e.to_string() })
    }
}

#[derive(Debug, Default, Clone)]
pub struct MailboxTable {
    /// Normalized address -> its own quota, if it has one (active mailboxes only).
    by_address: HashMap<String, Option<u64>>,
    /// The `[[domain]]` entries: (normalized name, backup MX), active ones only.
    domains: Vec<(String, bool)>,
    /// Their domain quotas in bytes (those that have one).
    domain_quotas: HashMap<String, u64>,
    /// Active `[[alias_domain]]` entries: alias domain -> target domain (normalized).
    alias_domains: HashMap<String, String>,
}

impl MailboxTable {
    pub fn parse(text: &str, path: &Path) -> Result<MailboxTable, DirectoryError> {
        let err = |msg: String| DirectoryError::Parse { path: path.display().to_string(), msg };
        let file = File::parse(text, path)?;
        let mut by_address = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for (i, m) in file.mailbox.into_iter().enumerate() {
            Address::parse(&m.address, true).map_err(|e| err(format!("mailbox[{i}].address {:?}: {e}", m.address)))?;
            if !seen.insert(normalize(&m.address)) {
                return Err(err(format!("mailbox[{i}].address {:?} is listed twice", m.address)));
            }
            if m.active {
                by_address.insert(normalize(&m.address), m.quota);
            }
        }
        let domains = file.domain.iter().filter(|d| d.active).map(|d| (super::normalize_domain(&d.domain), d.backupmx)).collect();
        let domain_quotas = file.domain.iter().filter(|d| d.quota > 0).map(|d| (super::normalize_domain(&d.domain), d.quota)).collect();
        let mut alias_domains = HashMap::new();
        for (i, a) in file.alias_domain.iter().enumerate() {
            let (alias, target) = (super::normalize_domain(&a.alias_domain), super::normalize_domain(&a.target_domain));
            if !crate::config::is_domain(&alias) || !crate::config::is_domain(&target) {
                return Err(err(format!("alias_domain[{i}]: {:?} -> {:?} is not a pair of domain names", a.alias_domain, a.target_domain)));
            }
            if a.active {
                alias_domains.insert(alias, target);
            }
        }
        Ok(MailboxTable { by_address, domains, domain_quotas, alias_domains })
    }

    /// `Some(own quota)` when `address` (normalized) is a mailbox.
    pub fn get(&self, address: &str) -> Option<Option<u64>> {
        self.by_address.get(address).copied()
    }

    /// Domains with a mailbox, the local `[[domain]]` entries and the active alias domains
    /// (their users are the target's).
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        let listed = self.domains.iter().filter(|(_, backup)| !backup).map(|(d, _)| d.as_str());
        let aliased = self.alias_domains.keys().map(String::as_str);
        self.by_address.keys().filter_map(|a| a.rsplit_once('@').map(|(_, d)| d)).chain(listed).chain(aliased)
    }

    /// The quota of a `[[domain]]` entry in bytes; 0: none.
    pub fn domain_quota(&self, domain: &str) -> u64 {
        self.domain_quotas.get(domain).copied().unwrap_or(0)
    }

    /// The target of an active `[[alias_domain]]` entry.
    pub fn alias_domain(&self, domain: &str) -> Option<&str> {
        self.alias_domains.get(domain).map(String::as_str)
    }

    /// The active `[[domain]]` entries: (name, backup MX).
    pub fn listed_domains(&self) -> &[(String, bool)] {
        &self.domains
    }

    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_quotas_and_errors() {
        let p = Path::new("m.toml");
        let t = MailboxTable::parse("[[mailbox]]\naddress = \"Alice@Example.COM\"\n[[mailbox]]\naddress = \"b@example.com\"\nquota = 10\n", p).unwrap();
        assert_eq!(t.get("alice@example.com"), Some(None));
        assert_eq!(t.get("b@example.com"), Some(Some(10)));
        assert_eq!(t.get("c@example.com"), None);
        let dup = MailboxTable::parse("[[mailbox]]\naddress = \"a@x.test\"\n[[mailbox]]\naddress = \"A@x.test\"\n", p).unwrap_err();
        assert!(dup.to_string().contains("twice"), "{dup}");
        let typo = MailboxTable::parse("[[mailbox]]\nadress = \"a@x.test\"\n", p).unwrap_err();
        assert!(typo.to_string().contains("adress"), "{typo}");
    }
}
