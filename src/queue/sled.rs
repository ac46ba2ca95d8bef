//! The sled implementation of `Spool` (the only file that imports sled).
