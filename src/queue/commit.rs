//! Group commit: many writers share one flush.
