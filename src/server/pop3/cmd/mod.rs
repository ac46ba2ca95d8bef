//! One file per POP3 command (or per family: STAT/LIST/UIDL, RETR/TOP, DELE/RSET); each
//! returns a `Step` for the session loop.
pub mod auth;
pub mod capa;
pub mod dele;
pub mod list;
pub mod quit;
pub mod retr;
pub mod stls;
