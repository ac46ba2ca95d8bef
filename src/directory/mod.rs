//! Who exists: SMTP AUTH accounts (and, later, domains, mailboxes and aliases).
//!
//! Owns: reading/writing the users file and checking passwords. Read by `inbound`.
pub mod users;

pub use users::{UserError, Users};
