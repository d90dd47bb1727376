//! `warroom programme [--json]`: every system against the testing programme (last tested, by
//! what, with what result, next due); `programme drill SYSTEM` runs a restore drill now;
//! `programme prune --before DATE` removes results past the keep.
//!
//! Exit codes: 0 every test in date, 1 one due soon, 2 one overdue (or never done).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::CliError;
use crate::engine::programme::ProgrammeView;
use crate::model::backup::when;
use crate::model::duration::human;

#[derive(Debug, Subcommand)]
pub enum ProgrammeCommand {
    /// Restore SYSTEM's newest verified backup into scratch now, check it file by file and time
    /// it against the RTO (the programme's restore drill)
    Drill {
        system: String,
        /// Approve without asking (audited)
        #[arg(long)]
        yes: bool,
    },
    /// Remove test results older than DATE (YYYY-MM-DD); refused for anything younger than
    /// the keep ([test_results] keep, 7 years by default)
    Prune {
        #[arg(long)]
        before: String,
    },
}

const BAD_INPUT: u8 = 3;

pub async fn run(
    config: Option<PathBuf>,
    command: Option<ProgrammeCommand>,
    json: bool,
    demo: bool,
) -> Result<ExitCode, CliError> {
    let (engine, _log, _) = super::exercise::open(config, demo).await?;
    match command {
        Some(ProgrammeCommand::Drill { system, yes }) => {
            let (spec, plan) =
                engine.plan_restore_drill(&system).await.map_err(|e| CliError::message(e, BAD_INPUT))?;
            let code = super::backup::gate_and_run(&engine, spec, plan, yes).await?;
            engine.close().await;
            Ok(code)
        }
        Some(ProgrammeCommand::Prune { before }) => {
            let date = chrono::NaiveDate::parse_from_str(&before, "%Y-%m-%d").map_err(|e| {
                CliError::message(format!("--before {before}: {e}; write the date as YYYY-MM-DD"), BAD_INPUT)
            })?;
            let before = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
            let gone = engine.prune_test_results(before, engine.operator()).await.map_err(CliError::write)?;
            println!("{gone} test results older than {} removed", before.format("%Y-%m-%d"));
            engine.close().await;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let view = engine.programme().await.map_err(|e| CliError::message(e, BAD_INPUT))?;
            if json {
                let text = serde_json::to_string_pretty(&view)
                    .map_err(|e| CliError::message(format!("cannot encode the programme: {e}"), BAD_INPUT))?;
                println!("{text}");
            } else {
                print!("{}", render(&view, engine.now()));
            }
            engine.close().await;
            Ok(ExitCode::from(view.exit_code))
        }
    }
}

/// The programme for a person: a verdict line, then per system each test's standing.
pub fn render(view: &ProgrammeView, now: chrono::DateTime<chrono::Utc>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let count = |d| view.systems.iter().flat_map(|s| &s.tests).filter(|t| t.due == d).count();
    use crate::model::programme::Due;
    let _ = writeln!(
        out,
        "PROGRAMME {}: {} overdue · {} due soon · {} in date{}",
        view.due.name().to_uppercase(),
        count(Due::Overdue),
        count(Due::DueSoon),
        count(Due::Ok),
        if view.default { " (the standard's schedule: add [[programme]] to change it)" } else { "" }
    );
    for s in &view.systems {
        let restore = s
            .restore_takes_ms
            .map(|ms| {
                let rto = std::time::Duration::from_secs(s.rto_secs);
                format!(" · {}", crate::model::programme::restore_takes(ms, rto))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\n{} (tier {}) · RTO {}{restore}",
            s.system,
            s.tier,
            human(std::time::Duration::from_secs(s.rto_secs))
        );
        for t in &s.tests {
            let every = human(std::time::Duration::from_secs(t.every_secs));
            let last = match &t.last {
                Some(r) => format!("last {} by {}: {}", when(r.at), r.by, r.outcome.name()),
                None => "never tested".to_owned(),
            };
            let next = if t.last.is_none() {
                "due now".to_owned()
            } else if t.next_due <= now {
                format!("due since {}", when(t.next_due))
            } else {
                format!("next due {}", when(t.next_due))
            };
            let _ = writeln!(
                out,
                "  {:<9} {:<20} every {:<5} {last}; {next}",
                t.due.name(),
                t.test.name(),
                every
            );
        }
    }
    out
}
