//! Library side of the fuzz crate: the checks every fuzz target runs (see `harness`).
pub mod harness;
pub use harness::*;
