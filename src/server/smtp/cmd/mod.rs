//! One file per SMTP command; each returns the `Step` the session loop carries out.
pub mod auth;
pub mod bdat;
pub mod data;
pub mod ehlo;
pub mod mail;
pub mod rcpt;
pub mod starttls;
