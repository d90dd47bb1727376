//! The headless commands: the same capabilities as the console, with machine-readable output
//! and exit codes a monitoring system understands.

pub mod audit;
pub mod check;
pub mod logging;
pub mod session;
pub mod status;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use session::{CliError, Session};

/// warroom: the war-room console for business continuity and disaster recovery.
#[derive(Debug, Parser)]
#[command(name = "warroom", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (else $WARROOM_CONFIG, ./warroom.toml, $XDG_CONFIG_HOME/warroom/config.toml)
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration and summarise the estate (exit 0 valid, 1 warnings, 2 invalid)
    Check {
        /// The file to check (same as --config)
        file: Option<PathBuf>,
    },
    /// Every system by tier with objectives and RPO status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    Status {
        /// Machine-readable output (schema in docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// The tamper-evident audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List records, newest first
    List {
        #[arg(long)]
        json: bool,
        /// Show only the newest N records
        #[arg(long, short = 'n', value_name = "N")]
        limit: Option<u32>,
    },
    /// Walk the chain and report the first record altered, removed or reordered (exit 0 intact, 2 broken)
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Record a note in the audit log (a decision taken outside warroom, a call made)
    Note {
        /// What to record
        message: String,
        /// What the note is about (a system, an incident)
        #[arg(long, default_value = "-")]
        target: String,
    },
}

/// Run the command line; returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Some(Command::Check { file }) => check::run(file.or(cli.config)).await,
        Some(Command::Status { json }) => status::run(cli.config, json).await,
        Some(Command::Audit { command }) => audit::run(cli.config, command).await,
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.render(stderr_color()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Colour diagnostics only on a terminal, and never when NO_COLOR is set.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
