//! `warroom state migrate --from sqlite:PATH --to postgres`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::error::load_config;
use super::{CliError, StateCommand};

pub async fn run(config: Option<PathBuf>, command: StateCommand) -> Result<ExitCode, CliError> {
    let StateCommand::Migrate { from, to, json } = command;
    let Some(path) = from.strip_prefix("sqlite:") else {
        return Err(CliError::message(
            format!("--from {from}: write sqlite:PATH, the state folder (or its warroom.db) to copy"),
            3,
        ));
    };
    if to != "postgres" {
        return Err(CliError::message(
            format!("--to {to}: the copy goes to the configuration's PostgreSQL state; write --to postgres"),
            3,
        ));
    }
    let path = Path::new(path);
    let dir = if path.file_name().is_some_and(|n| n == "warroom.db") {
        path.parent().unwrap_or(Path::new(".")).to_owned()
    } else {
        path.to_owned()
    };
    if !dir.join("warroom.db").is_file() {
        return Err(CliError::message(
            format!(
                "there is no state database at {} (a state folder holds warroom.db)",
                dir.join("warroom.db").display()
            ),
            3,
        ));
    }
    let loaded = load_config(config.as_deref(), 3)?;
    let console = &loaded.config.console;
    if !matches!(console.state, crate::config::console::StateStore::Postgres(_)) {
        return Err(CliError::message(
            "the configuration's console.state is not \"postgres\": set state = \"postgres\" and state_url_env \
             (or state_url_file) to the database the team will share; the copy goes there",
            3,
        ));
    }
    let report = crate::engine::migrate_state(&dir, loaded.config).await.map_err(|e| {
        let code = if matches!(e, crate::engine::EngineError::Refused(_)) { 2 } else { 1 };
        CliError::engine(e, code)
    })?;
    let ok = report.verification.ok();
    if json {
        let doc = serde_json::json!({
            "schema": "warroom.state-migrate/1",
            "ok": ok,
            "tables": report.tables.iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect::<Vec<_>>(),
            "verification": report.verification,
        });
        println!("{}", super::audit::to_json(&doc)?);
    } else {
        for (table, rows) in &report.tables {
            println!("{table:<20} {rows:>8} rows");
        }
        match &report.verification.problem {
            None => println!(
                "copied {} into the PostgreSQL state; audit chain verified: {} records",
                dir.join("warroom.db").display(),
                report.verification.records
            ),
            Some(p) => println!("copied, but the audit chain does not verify: {p}"),
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
