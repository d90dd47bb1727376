//! `warroom status [--json]`: every system by tier with its objectives and RPO status.
//!
//! Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING (a system at risk),
//! 2 CRITICAL (a system breached or never backed up), 3 UNKNOWN (could not tell).
//! The JSON schema is documented in docs/json.md and is stable.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, open_engine};
use crate::engine::assessment::EstateAssessment;
use crate::model::duration::clock;

/// Between `status --probe`'s rounds of probes.
const PROBE_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// `status` and `rpo` exit with 3 when they cannot tell.
pub const UNKNOWN: u8 = 3;

pub async fn run(config: Option<PathBuf>, json: bool, probe: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, UNKNOWN).await?;
    // RPO counts verified backups only, as the repositories hold them now; an unreadable
    // state is UNKNOWN, never "never backed up".
    let (report, problems) =
        engine.assess_estate(probe.then_some(PROBE_GAP)).await.map_err(|e| CliError::message(e, UNKNOWN))?;
    for problem in problems {
        eprintln!("warning: {problem}");
    }
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::message(format!("cannot encode the status as JSON: {e}"), UNKNOWN))?;
        println!("{text}");
    } else {
        print!("{}", render(&report));
    }
    engine.close().await;
    Ok(ExitCode::from(report.exit_code))
}

/// Text for a person or a monitoring plugin: a one-line verdict first, then the estate.
pub fn render(report: &EstateAssessment) -> String {
    let c = &report.counts;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "WARROOM {}: {} systems · RPO {} breached · {} never backed up · {} at risk · {} ok",
        report.overall.to_uppercase(),
        c.systems,
        c.breached,
        c.never_backed_up,
        c.at_risk,
        c.compliant
    );
    let width = report.systems.iter().map(|s| s.name.chars().count()).max().unwrap_or(4).max(4);
    let mut current_tier = 0;
    for s in &report.systems {
        if s.tier != current_tier {
            current_tier = s.tier;
            let _ = writeln!(out, "\nTIER {} · {}", s.tier, s.tier_label);
        }
        let rpo = match s.rpo.state {
            "compliant" => format!("● ok, {} left", clock(secs(s.rpo.remaining_seconds))),
            "at_risk" => format!("▲ at risk, {} left", clock(secs(s.rpo.remaining_seconds))),
            "breached" => format!("✖ breached by {}", clock(secs(s.rpo.overdue_seconds))),
            _ => "✖ never backed up".to_owned(),
        };
        let health = match &s.health {
            None => String::new(),
            Some(None) => "   ◌ no health check".to_owned(),
            Some(Some(h)) => format!(
                "   {} {:<8} {}{}{}",
                h.state.symbol(),
                h.state.word(),
                h.decision.verdict.words(),
                h.impacted_by.as_deref().map(|root| format!(", impacted by {root}")).unwrap_or_default(),
                if h.decision.score > 0 { super::health::reasons(&h.decision) } else { String::new() }
            ),
        };
        let rpo = if health.is_empty() { rpo } else { format!("{rpo:<26}") };
        let _ = writeln!(
            out,
            "  {:<width$}  RTO {:<5} RPO {:<5} {rpo}{health}",
            s.name, s.objectives.rto, s.objectives.rpo
        );
    }
    out
}

fn secs(s: Option<u64>) -> std::time::Duration {
    std::time::Duration::from_secs(s.unwrap_or(0))
}
