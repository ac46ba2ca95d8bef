//! The mailboxes file (Postfix `virtual_mailbox_maps`), TOML:
//! ```toml
//! [[mailbox]]
//! address = "alice@example.com"
//! [[mailbox]]
//! address = "bob@example.com"
//! quota = 104857600        # bytes; default mailboxes.quota (0 = unlimited)
//! ```
use super::{DirectoryError, normalize};
use crate::proto::smtp::Address;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    mailbox: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    address: String,
    quota: Option<u64>,
}

#[derive(Debug, Default, Clone)]
pub struct MailboxTable {
    /// Normalized address -> its own quota, if it has one.
    by_address: HashMap<String, Option<u64>>,
}

impl MailboxTable {
    pub fn parse(text: &str, path: &Path) -> Result<MailboxTable, DirectoryError> {
        let err = |msg: String| DirectoryError::Parse { path: path.display().to_string(), msg };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut by_address = HashMap::new();
        for (i, m) in file.mailbox.into_iter().enumerate() {
            Address::parse(&m.address, true).map_err(|e| err(format!("mailbox[{i}].address {:?}: {e}", m.address)))?;
            if by_address.insert(normalize(&m.address), m.quota).is_some() {
                return Err(err(format!("mailbox[{i}].address {:?} is listed twice", m.address)));
            }
        }
        Ok(MailboxTable { by_address })
    }

    /// `Some(own quota)` when `address` (normalized) is a mailbox.
    pub fn get(&self, address: &str) -> Option<Option<u64>> {
        self.by_address.get(address).copied()
    }

    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.by_address.keys().filter_map(|a| a.rsplit_once('@').map(|(_, d)| d))
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
