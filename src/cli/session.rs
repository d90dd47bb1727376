//! What every command that touches state starts with: the configuration, the store, the clock
//! and who is acting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config, LoadError, ProcessEnv};
use crate::store::{NewAuditRecord, Outcome, Store, StoreError};

/// An error a command reports, with the exit code it ends with.
#[derive(Debug)]
pub struct CliError {
    kind: CliErrorKind,
    exit: u8,
}

#[derive(Debug)]
enum CliErrorKind {
    Config(LoadError),
    Store(StoreError),
    Message(String),
}

impl CliError {
    pub fn config(e: LoadError, exit: u8) -> Self {
        CliError {
            kind: CliErrorKind::Config(e),
            exit,
        }
    }

    pub fn store(e: StoreError, exit: u8) -> Self {
        CliError {
            kind: CliErrorKind::Store(e),
            exit,
        }
    }

    pub fn message(m: impl Into<String>, exit: u8) -> Self {
        CliError {
            kind: CliErrorKind::Message(m.into()),
            exit,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.exit
    }

    pub fn render(&self, color: bool) -> String {
        match &self.kind {
            CliErrorKind::Config(LoadError::Invalid(report)) => report.render(color),
            CliErrorKind::Config(e) => format!("error: {e}"),
            CliErrorKind::Store(e) => format!("error: {e}"),
            CliErrorKind::Message(m) => format!("error: {m}"),
        }
    }
}

/// A loaded configuration with its open store.
pub struct Session {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

/// Load the configuration (`explicit` from --config, else the usual places).
pub fn load_config(explicit: Option<&Path>, exit: u8) -> Result<config::Loaded, CliError> {
    let path = config::locate(explicit, &ProcessEnv).map_err(|e| CliError::config(e, exit))?;
    config::load(&path, &ProcessEnv).map_err(|e| CliError::config(e, exit))
}

impl Session {
    /// Load the configuration, open the state store, start logging, and record a configuration
    /// change since the last run in the audit log. Errors end the command with `exit`.
    pub async fn open(
        explicit: Option<PathBuf>,
        exit: u8,
    ) -> Result<(Session, super::logging::Guard), CliError> {
        let loaded = load_config(explicit.as_deref(), exit)?;
        let config = loaded.config;
        let guard = super::logging::init(&config.console.state_dir);
        let store = Store::open(&config.console.state_dir)
            .await
            .map_err(|e| CliError::store(e, exit))?;
        let session = Session {
            config,
            store,
            clock: Arc::new(SystemClock),
        };
        session
            .note_config_change()
            .await
            .map_err(|e| CliError::store(e, exit))?;
        Ok((session, guard))
    }

    pub fn operator(&self) -> &str {
        &self.config.console.operator
    }

    /// Append to the audit log, at the clock's time.
    pub async fn audit(&self, record: NewAuditRecord) -> Result<(), StoreError> {
        self.store
            .append_audit(&record, self.clock.now())
            .await
            .map(|_| ())
    }

    /// If the configuration's hash differs from the last run's, audit the change.
    async fn note_config_change(&self) -> Result<(), StoreError> {
        const KEY: &str = "config.hash";
        let previous = self.store.meta(KEY).await?;
        if previous.as_deref() == Some(self.config.hash.as_str()) {
            return Ok(());
        }
        let path =
            std::fs::canonicalize(&self.config.path).unwrap_or_else(|_| self.config.path.clone());
        tracing::info!(path = %path.display(), hash = %self.config.hash, "configuration changed since the last run");
        self.audit(
            NewAuditRecord::new(
                self.operator(),
                "config.changed",
                &path.display().to_string(),
                Outcome::Recorded,
            )
            .details(serde_json::json!({
                "previous_hash": previous,
                "hash": self.config.hash,
                "systems": self.config.estate.systems().len(),
            })),
        )
        .await?;
        self.store.set_meta(KEY, &self.config.hash).await
    }
}
