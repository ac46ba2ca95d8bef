//! Copying a directory to another store (`postern directory migrate --to URL`): domains,
//! then mailboxes with their password hashes as stored (any scheme: nobody needs a new
//! password), then aliases and alias domains. Entries the target already has are kept and counted, so a
//! migration can be run again after a partial one.
use super::admin::{Admin, AdminError};

/// What one migration did, per kind: (copied, already there).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub domains: (usize, usize),
    pub mailboxes: (usize, usize),
    pub aliases: (usize, usize),
    pub alias_domains: (usize, usize),
    /// Mailboxes copied without a password (the source had none): they cannot log in.
    pub without_password: Vec<String>,
}

fn count(r: Result<(), AdminError>, n: &mut (usize, usize)) -> Result<(), AdminError> {
    match r {
        Ok(()) => n.0 += 1,
        Err(AdminError::Exists(_)) => n.1 += 1,
        Err(e) => return Err(e),
    }
    Ok(())
}

pub async fn copy(from: &dyn Admin, to: &dyn Admin) -> Result<Report, AdminError> {
    let mut report = Report::default();
    for d in from.domains().await? {
        count(to.create_domain(d).await, &mut report.domains)?;
    }
    for m in from.mailboxes(None).await? {
        let hash = from.password_hash(&m.address).await?;
        if hash.is_none() {
            report.without_password.push(m.address.clone());
        }
        let address = m.address.clone();
        count(to.create_mailbox(m, hash.unwrap_or_default()).await, &mut report.mailboxes)
            .map_err(|e| AdminError::Failed(format!("mailbox {address}: {e}")))?;
    }
    for a in from.aliases(None).await? {
        let address = a.address.clone();
        count(to.create_alias(a).await, &mut report.aliases).map_err(|e| AdminError::Failed(format!("alias {address}: {e}")))?;
    }
    for a in from.alias_domains().await? {
        let alias = a.alias_domain.clone();
        count(to.create_alias_domain(a).await, &mut report.alias_domains)
            .map_err(|e| AdminError::Failed(format!("alias domain {alias}: {e}")))?;
    }
    Ok(report)
}
