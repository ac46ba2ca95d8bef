//! postern: a mail transfer agent that replaces Postfix.
pub mod queue;
pub mod smtp;
