//! The storage contract the rest of postern relies on.
