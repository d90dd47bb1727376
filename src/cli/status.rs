//! `warroom status [--json]`: every system by tier with its objectives and RPO status.
//!
//! Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING (a system at risk),
//! 2 CRITICAL (a system breached or never backed up), 3 UNKNOWN (could not tell).
//! The JSON schema is documented in docs/json.md and is stable.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::health::{HealthLine, health_severity};
use super::{CliError, open_engine};
use crate::model::duration::{clock, human};
use crate::model::{Estate, RpoStatus, Severity, Tier};

/// Between `status --probe`'s rounds of probes.
const PROBE_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// `status` and `rpo` exit with 3 when they cannot tell.
pub const UNKNOWN: u8 = 3;

pub async fn run(config: Option<PathBuf>, json: bool, probe: bool) -> Result<ExitCode, CliError> {
    let (engine, _log) = open_engine(config, UNKNOWN).await?;
    let probed = if probe { Some(super::health::assess(&engine, PROBE_GAP).await?) } else { None };
    // RPO counts verified backups only, as the repositories hold them now.
    for problem in engine.refresh_catalog(None).await {
        eprintln!("warning: {problem}");
    }
    // An unreadable state is UNKNOWN, never "never backed up".
    let newest_verified: HashMap<String, DateTime<Utc>> = engine
        .newest_verified()
        .await
        .map_err(|e| CliError::message(format!("state unreadable: {e}"), UNKNOWN))?;
    let mut report = StatusReport::assess(&engine.config().estate, &newest_verified, engine.now());
    if let Some(lines) = probed {
        report.add_health(lines);
    }
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::message(format!("cannot encode the status as JSON: {e}"), UNKNOWN))?;
        println!("{text}");
    } else {
        print!("{}", report.render());
    }
    engine.close().await;
    Ok(ExitCode::from(report.exit_code))
}

/// The status of the estate at one moment: the `warroom.status/1` JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub schema: &'static str,
    pub generated_at: String,
    /// `ok`, `warning` or `critical`.
    pub overall: &'static str,
    pub exit_code: u8,
    pub counts: Counts,
    pub systems: Vec<SystemStatus>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub systems: usize,
    pub compliant: usize,
    pub at_risk: usize,
    pub breached: usize,
    pub never_backed_up: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SystemStatus {
    pub name: String,
    pub tier: u8,
    pub tier_label: &'static str,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub depends_on: Vec<String>,
    pub objectives: Objectives,
    pub rpo: RpoJson,
    /// `ok`, `warning` or `critical`.
    pub severity: &'static str,
    /// With `--probe`: the state and verdict after a short run of probes. Absent without
    /// `--probe`; `null` for a system with no health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Option<HealthLine>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Objectives {
    pub rto_seconds: u64,
    pub rpo_seconds: u64,
    pub rto: String,
    pub rpo: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RpoJson {
    /// `compliant`, `at_risk`, `breached` or `never_backed_up`.
    pub state: &'static str,
    pub newest_verified_backup: Option<String>,
    pub age_seconds: Option<u64>,
    pub remaining_seconds: Option<u64>,
    pub overdue_seconds: Option<u64>,
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

impl StatusReport {
    pub fn assess(
        estate: &Estate,
        newest_verified: &HashMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut counts = Counts::default();
        let mut worst = Severity::Ok;
        let mut systems = Vec::new();
        for tier in Tier::ALL {
            for (_, s) in estate.tier(tier) {
                let newest = newest_verified.get(&s.name).copied();
                let rpo = RpoStatus::assess(newest, s.objective.rpo, estate.rpo_policy, now);
                counts.systems += 1;
                match rpo {
                    RpoStatus::NeverBackedUp => counts.never_backed_up += 1,
                    RpoStatus::Compliant { .. } => counts.compliant += 1,
                    RpoStatus::AtRisk { .. } => counts.at_risk += 1,
                    RpoStatus::Breached { .. } => counts.breached += 1,
                }
                worst = worst.max(rpo.severity());
                systems.push(SystemStatus {
                    name: s.name.clone(),
                    tier: tier.number(),
                    tier_label: tier.label(),
                    owner: s.owner.clone(),
                    description: s.description.clone(),
                    depends_on: s.depends_on.clone(),
                    objectives: Objectives {
                        rto_seconds: s.objective.rto.as_secs(),
                        rpo_seconds: s.objective.rpo.as_secs(),
                        rto: human(s.objective.rto),
                        rpo: human(s.objective.rpo),
                    },
                    rpo: RpoJson {
                        state: rpo.key(),
                        newest_verified_backup: newest.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                        age_seconds: rpo.age().map(|d| d.as_secs()),
                        remaining_seconds: rpo.remaining().map(|d| d.as_secs()),
                        overdue_seconds: match rpo {
                            RpoStatus::Breached { overdue, .. } => Some(overdue.as_secs()),
                            _ => None,
                        },
                    },
                    severity: severity_name(rpo.severity()),
                    health: None,
                });
            }
        }
        StatusReport {
            schema: "warroom.status/1",
            generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            overall: severity_name(worst),
            exit_code: worst.exit_code(),
            counts,
            systems,
        }
    }

    /// Add one round of probes: each system's health and verdict; the overall severity rises
    /// with a down (critical) or degraded (warning) system.
    pub fn add_health(&mut self, lines: Vec<HealthLine>) {
        let parse = |s: &str| match s {
            "critical" => Severity::Critical,
            "warning" => Severity::Warning,
            _ => Severity::Ok,
        };
        let mut worst = parse(self.overall);
        for system in &mut self.systems {
            let line = lines.iter().find(|l| l.name == system.name).cloned();
            if let Some(l) = &line {
                let severity = health_severity(l.state);
                worst = worst.max(severity);
                system.severity = severity_name(parse(system.severity).max(severity));
            }
            system.health = Some(line);
        }
        self.overall = severity_name(worst);
        self.exit_code = worst.exit_code();
    }

    /// Text for a person or a monitoring plugin: a one-line verdict first, then the estate.
    pub fn render(&self) -> String {
        let c = &self.counts;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "WARROOM {}: {} systems · RPO {} breached · {} never backed up · {} at risk · {} ok",
            self.overall.to_uppercase(),
            c.systems,
            c.breached,
            c.never_backed_up,
            c.at_risk,
            c.compliant
        );
        let width = self.systems.iter().map(|s| s.name.chars().count()).max().unwrap_or(4).max(4);
        let mut current_tier = 0;
        for s in &self.systems {
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
}

fn secs(s: Option<u64>) -> std::time::Duration {
    std::time::Duration::from_secs(s.unwrap_or(0))
}
