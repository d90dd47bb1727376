//! Logging to a daily-rolling file in `state_dir/logs/`, level from `WARROOM_LOG`.
//!
//! Never to the terminal: the console owns the screen, and headless output is for machines.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keeps the background log writer alive; drop it last (it flushes).
pub struct Guard(#[allow(dead_code)] Option<WorkerGuard>);

/// Start logging into `state_dir/logs/warroom.log.YYYY-MM-DD`. If the folder cannot be made,
/// the program runs without a log file rather than failing.
pub fn init(state_dir: &Path) -> Guard {
    let dir = state_dir.join("logs");
    if std::fs::create_dir_all(&dir).is_err() {
        return Guard(None);
    }
    let appender = match tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("warroom.log")
        .max_log_files(30)
        .build(&dir)
    {
        Ok(a) => a,
        Err(_) => return Guard(None),
    };
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = match std::env::var("WARROOM_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: WARROOM_LOG={spec} is not a log filter ({e}); logging at info. Try WARROOM_LOG=debug");
            EnvFilter::new("info")
        }),
        Err(_) => EnvFilter::new("info"),
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    Guard(installed.then_some(guard))
}
