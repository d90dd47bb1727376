//! The backup engine: taking, listing, verifying, restoring and pruning backups at every
//! configured location. See docs/backup.md for the repository layout, formats and trust model.

pub mod anchor;
pub mod catalog;
pub mod contain;
pub mod keys;
pub mod manifest;
pub mod objectlock;
pub mod plans;
pub mod read;
pub mod repo;
pub mod schedule;
pub mod write;
