//! HTTP: the local control socket used by the CLI (and, later, the public API).
pub mod control;
