//! What can go wrong in the engine, typed; each message says what to do next. The console and
//! the commands show these (the console as "state unreadable: …" while reads fail), and the
//! binary's edge turns them into reports.

use std::path::PathBuf;

use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The state database could not be read or written.
    #[error(transparent)]
    State(#[from] StoreError),
    /// The state directory could not be made (private, 0700) before anything is written there.
    #[error("cannot make the state directory {}: {reason}; check console.state_dir and its permissions", path.display())]
    StateDir { path: PathBuf, reason: String },
    /// A stored record reads but does not make sense (its first event is not its start).
    #[error("{what} is damaged: {reason}; run `warroom audit verify` and keep the state for investigation")]
    Damaged { what: String, reason: String },
    /// Who asked may not (`[[operators]]`): nothing was done.
    #[error("refused, nothing was done: {0}")]
    Refused(String),
}

impl EngineError {
    /// Another process held the state for longer than we wait: trying again may work.
    pub fn is_busy(&self) -> bool {
        matches!(self, EngineError::State(e) if e.is_busy())
    }
}

/// Make the state directory `path` (and its parents), private to this user.
pub fn create_state_dir(path: &std::path::Path) -> Result<(), EngineError> {
    crate::store::create_private_dir(path)
        .map_err(|reason| EngineError::StateDir { path: path.to_owned(), reason })
}
