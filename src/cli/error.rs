//! Errors a command reports, each with the exit code it ends with.

use std::path::Path;

use crate::config::{self, LoadError, ProcessEnv};
use crate::engine::EngineError;

#[derive(Debug)]
pub struct CliError {
    kind: CliErrorKind,
    exit: u8,
}

#[derive(Debug)]
enum CliErrorKind {
    Config(LoadError),
    Engine(EngineError),
    Message(String),
}

impl CliError {
    pub fn config(e: LoadError, exit: u8) -> Self {
        CliError { kind: CliErrorKind::Config(e), exit }
    }

    pub fn engine(e: impl Into<EngineError>, exit: u8) -> Self {
        CliError { kind: CliErrorKind::Engine(e.into()), exit }
    }

    pub fn message(m: impl Into<String>, exit: u8) -> Self {
        CliError { kind: CliErrorKind::Message(m.into()), exit }
    }

    /// An operator's write that did not happen: bad input 3, refused 2 (as the gate's
    /// refusals), failed 1.
    pub fn write(e: crate::engine::access::WriteError) -> Self {
        use crate::engine::access::WriteError;
        match e {
            WriteError::Input(m) => CliError::message(m, 3),
            WriteError::Refused(r) => CliError::message(format!("refused, nothing was written: {r}"), 2),
            WriteError::Failed(m) => CliError::message(m, 1),
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.exit
    }

    pub fn render(&self, color: bool) -> String {
        match &self.kind {
            CliErrorKind::Config(LoadError::Invalid(report)) => report.render(color),
            CliErrorKind::Config(e) => format!("error: {e}"),
            CliErrorKind::Engine(e) => format!("error: {e}"),
            CliErrorKind::Message(m) => format!("error: {m}"),
        }
    }
}

/// Who acts, from `--operator`: set once, before any configuration is loaded.
static OPERATOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn set_operator(name: &str) {
    let _ = OPERATOR.set(name.to_owned());
}

pub fn operator_given() -> bool {
    OPERATOR.get().is_some()
}

/// Load the configuration (`explicit` from --config, else the usual places); `--operator`
/// overrides the operator it names.
pub fn load_config(explicit: Option<&Path>, exit: u8) -> Result<config::Loaded, CliError> {
    let path = config::locate(explicit, &ProcessEnv).map_err(|e| CliError::config(e, exit))?;
    let mut loaded = config::load(&path, &ProcessEnv).map_err(|e| CliError::config(e, exit))?;
    override_operator(&mut loaded.config);
    Ok(loaded)
}

/// Apply `--operator`, if given, to `config`.
pub fn override_operator(config: &mut config::Config) {
    if let Some(name) = OPERATOR.get() {
        config.console.operator = name.clone();
        config.console.operator_named = true;
    }
}
