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
    if let Some(standbys) = standby_counts(c) {
        out.pop();
        let _ = writeln!(out, " · {standbys}");
    }
    for w in &report.plan_warnings {
        let _ = writeln!(out, "plan: {w}");
    }
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
        if let Some(r) = &s.replication {
            let _ = writeln!(out, "  {:<width$}  {}", "", replication_words(r, &s.objectives.rpo));
        }
        if let Some(line) = testing_line(s) {
            let _ = writeln!(out, "  {:<width$}  {line}", "");
        }
        for a in &s.open_actions {
            let _ = writeln!(
                out,
                "  {:<width$}  action {} {} (due {}, {}): {}",
                "",
                a.id,
                a.status.name(),
                a.due.get(..10).unwrap_or(&a.due),
                a.owner,
                a.issue
            );
        }
    }
    out
}

/// `standby lag: 1 past the RPO, 0 at risk, 0 unknown`, when a standby is not compliant.
pub fn standby_counts(c: &crate::engine::assessment::Counts) -> Option<String> {
    (c.standby_breached + c.standby_at_risk + c.standby_unknown > 0).then(|| {
        format!(
            "standby lag ⇄ {} past the RPO, {} at risk, {} unknown",
            c.standby_breached, c.standby_at_risk, c.standby_unknown
        )
    })
}

/// `standby ● ⇄ lag 42s: a failover now loses about that (RPO 5m)`, and at risk, breached or
/// unknown: the RPO a failover would achieve, beside the backups' above.
pub fn replication_words(r: &crate::engine::assessment::ReplicationJson, rpo: &str) -> String {
    let lag =
        r.lag_seconds.map(|l| crate::model::duration::human(std::time::Duration::from_secs_f64(l.round())));
    match (r.state, lag) {
        ("compliant", Some(l)) => format!("standby ● ⇄ lag {l}: a failover now loses about that (RPO {rpo})"),
        ("at_risk", Some(l)) => format!("standby ▲ ⇄ lag {l}: at risk, near the RPO {rpo}"),
        ("breached", Some(l)) => format!("standby ✖ ⇄ lag {l}: a failover now BREACHES the RPO {rpo}"),
        _ => format!("standby ? ⇄ lag unknown: {}", r.why.as_deref().unwrap_or("no good reading")),
    }
}

/// "tests: OVERDUE drill (never tested) · a restore takes 2m10s": only when a test is due or a
/// restore drill has been timed.
fn testing_line(s: &crate::engine::assessment::SystemStatus) -> Option<String> {
    use crate::model::programme::Due;
    let t = s.testing.as_ref()?;
    let rto = std::time::Duration::from_secs(s.objectives.rto_seconds);
    let restore = t.restore_takes_ms.map(|ms| crate::model::programme::restore_takes(ms, rto));
    let due = match t.due {
        Due::Ok => None,
        due => Some(format!(
            "test {}: {} ({})",
            due.name(),
            t.next_test,
            match &t.last_test {
                None => "never tested".to_owned(),
                Some(_) => format!("due {}", t.next_due.get(..10).unwrap_or(&t.next_due)),
            }
        )),
    };
    let parts: Vec<String> = due.into_iter().chain(restore).collect();
    (!parts.is_empty()).then(|| format!("tests: {}", parts.join(" · ")))
}

fn secs(s: Option<u64>) -> std::time::Duration {
    std::time::Duration::from_secs(s.unwrap_or(0))
}
