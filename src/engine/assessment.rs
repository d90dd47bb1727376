//! One assessment of the estate, built by the engine and read by every view: each system's
//! objectives and RPO status from its newest verified backup, and (after a short run of probes)
//! its health and verdict, judged as the monitor judges them. `status`, `rpo` and (next) the
//! documents format this snapshot; the schema is `warroom.status/1` (docs/json.md).
//!
//! ```text
//!  config (estate, objectives) ─► model (RpoStatus, decide, impacted_by) ─► EstateAssessment ─► cli / tui / documents
//!  catalog (newest verified) ─┘    probes (rounds) ─┘
//! ```

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::engine::Engine;
use crate::engine::probe::ProbeResult;
use crate::model::decision::{confirmed_by, defer_to_root};
use crate::model::duration::human;
use crate::model::replication::{Lag, Replication};
use crate::model::{
    Decision, Estate, HealthState, HealthTracker, HealthWindow, Outcome, RpoStatus, Sample, Severity,
    Thresholds, Tier, WindowStats, decide, impacted_by,
};

/// The status of the estate at one moment: the `warroom.status/1` JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct EstateAssessment {
    pub schema: &'static str,
    pub generated_at: String,
    /// `ok`, `warning` or `critical`.
    pub overall: &'static str,
    pub exit_code: u8,
    pub counts: Counts,
    pub systems: Vec<SystemStatus>,
    /// The continuity plan's due reviews (the plan's, and risks past their review date): shown,
    /// not counted in the exit code.
    pub plan_warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub systems: usize,
    pub compliant: usize,
    pub at_risk: usize,
    pub breached: usize,
    pub never_backed_up: usize,
    /// Standbys whose lag is past the RPO, at risk, or unknown (systems with a replication
    /// source only; the four counts above are the backups').
    pub standby_breached: usize,
    pub standby_at_risk: usize,
    pub standby_unknown: usize,
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
    /// Where it stands in the testing programme.
    pub testing: Option<TestingLine>,
    /// Corrective actions against it that are not closed.
    pub open_actions: Vec<ActionBrief>,
    /// For a system with a replication source: its standby's lag, read now, as the RPO a
    /// failover would achieve. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationJson>,
}

/// The RPO a failover would achieve now, from the standby's lag.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicationJson {
    /// `compliant`, `at_risk`, `breached` or `unknown` (a stale or failed reading: never zero).
    pub state: &'static str,
    pub lag_seconds: Option<f64>,
    pub read_at: Option<String>,
    pub source: String,
    /// Why the lag is unknown.
    pub why: Option<String>,
}

/// A system's place in the testing programme, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct TestingLine {
    /// `ok`, `due-soon` or `overdue`.
    pub due: crate::model::programme::Due,
    /// The test that falls due first, and when.
    pub next_test: String,
    pub next_due: String,
    pub last_test: Option<String>,
    pub last_at: Option<String>,
    pub last_outcome: Option<crate::model::programme::Outcome>,
    /// How long its newest restore drill's restore took (beside the RTO).
    pub restore_takes_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionBrief {
    pub id: String,
    /// `open` or `overdue`.
    pub status: crate::model::exercise::ActionStatus,
    pub issue: String,
    pub owner: String,
    pub due: String,
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

fn parse_severity(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        _ => Severity::Ok,
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

impl EstateAssessment {
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
                    testing: None,
                    open_actions: Vec::new(),
                    replication: None,
                });
            }
        }
        EstateAssessment {
            schema: "warroom.status/1",
            generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            overall: severity_name(worst),
            exit_code: worst.exit_code(),
            counts,
            systems,
            plan_warnings: Vec::new(),
        }
    }

    /// Add each system's standing in the testing programme and its open corrective actions.
    /// They are shown, not counted in the exit code: `warroom programme` and `warroom actions`
    /// have their own.
    pub fn add_programme(
        &mut self,
        programme: &crate::engine::programme::ProgrammeView,
        actions: &[crate::engine::exercise::report::ActionLine],
    ) {
        use crate::model::exercise::ActionStatus;
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        for system in &mut self.systems {
            system.testing = programme.system(&system.name).and_then(|p| {
                let next = p.next()?;
                let last = p.last();
                Some(TestingLine {
                    due: p.due,
                    next_test: next.test.name().to_owned(),
                    next_due: stamp(next.next_due),
                    last_test: last.map(|l| l.kind.name().to_owned()),
                    last_at: last.map(|l| stamp(l.at)),
                    last_outcome: last.map(|l| l.outcome),
                    restore_takes_ms: p.restore_takes_ms,
                })
            });
            system.open_actions = actions
                .iter()
                .filter(|a| {
                    a.status != ActionStatus::Closed && a.action.system.as_deref() == Some(&system.name)
                })
                .map(|a| ActionBrief {
                    id: a.action.id.clone(),
                    status: a.status,
                    issue: a.action.issue.clone(),
                    owner: a.action.owner.clone(),
                    due: stamp(a.action.due),
                })
                .collect();
        }
    }

    /// Add each standby's lag (by estate index, as read now): a breached one is critical, an
    /// at-risk or unknown one a warning.
    pub fn add_replication(&mut self, estate: &Estate, readings: &[Option<Replication>], now: DateTime<Utc>) {
        let mut worst = parse_severity(self.overall);
        for system in &mut self.systems {
            let Some(i) = estate.index_of(&system.name) else { continue };
            let Some(r) = readings.get(i).and_then(Option::as_ref) else { continue };
            let objective = Duration::from_secs(system.objectives.rpo_seconds);
            let rpo = r.failover_rpo(objective, estate.rpo_policy, now);
            let (lag, read_at, why) = match r.lag(now) {
                Lag::Known { lag, read_at } => (Some(lag.as_secs_f64()), Some(read_at), None),
                Lag::Unknown { why } => (None, None, Some(why)),
            };
            system.replication = Some(ReplicationJson {
                state: rpo.key(),
                lag_seconds: lag.map(|l| (l * 1000.0).round() / 1000.0),
                read_at: read_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                source: r.source.clone(),
                why,
            });
            match rpo.key() {
                "breached" => self.counts.standby_breached += 1,
                "at_risk" => self.counts.standby_at_risk += 1,
                "unknown" => self.counts.standby_unknown += 1,
                _ => {}
            }
            worst = worst.max(rpo.severity());
            system.severity = severity_name(parse_severity(system.severity).max(rpo.severity()));
        }
        self.overall = severity_name(worst);
        self.exit_code = worst.exit_code();
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
}

/// One system after one probe: what the probe found, nothing more. A verdict needs the
/// window and the state machine's run of probes: see [`assess`].
#[derive(Debug, Clone, Serialize)]
pub struct ProbeLine {
    pub name: String,
    pub probe: String,
    pub state: HealthState,
    pub outcome: Outcome,
    pub latency_ms: u64,
    pub detail: String,
}

/// One system after a short run of probe rounds, judged as the monitor would judge it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthLine {
    pub name: String,
    pub probe: String,
    /// The state machine's state after the rounds (`unknown` if it did not settle).
    pub state: HealthState,
    pub probes: u32,
    pub stats: WindowStats,
    pub decision: Decision,
    pub impacted_by: Option<String>,
    /// The last probe's outcome and detail.
    pub outcome: Outcome,
    pub latency_ms: u64,
    pub detail: String,
}

pub fn health_severity(state: HealthState) -> Severity {
    match state {
        HealthState::Down => Severity::Critical,
        HealthState::Degraded => Severity::Warning,
        HealthState::Healthy | HealthState::Unknown => Severity::Ok,
    }
}

impl Engine {
    /// One round of probes, each judged on its own.
    pub async fn probe_round(&self, only: Option<usize>) -> Result<Vec<ProbeLine>, String> {
        let engine = self;
        let results = engine.probe_once(only).await?;
        let config = engine.config();
        let now = engine.now();
        Ok(results
            .into_iter()
            .filter_map(|(i, r): (usize, ProbeResult)| {
                let system = config.estate.systems().get(i)?;
                let settings = config.systems.get(i)?;
                let sample = Sample { at: now, outcome: r.outcome, latency: r.latency, excused: false };
                Some(ProbeLine {
                    name: system.name.clone(),
                    probe: settings.health.as_ref().map(|h| h.probe.describe()).unwrap_or_default(),
                    state: HealthTracker::classify(&sample, settings.thresholds.response_time_above),
                    outcome: r.outcome,
                    latency_ms: r.latency.as_millis() as u64,
                    detail: r.detail,
                })
            })
            .collect())
    }

    /// Enough rounds of probes, `gap` apart, for the state machine to settle (the configured
    /// `consecutive`), each system judged as the monitor would: its state with hysteresis, its
    /// window's decision confirmed by that state, and the down dependency it defers to.
    pub async fn assess_health(&self, gap: Duration) -> Result<Vec<HealthLine>, String> {
        let engine = self;
        let config = engine.config();
        let rounds = config.health.consecutive.max(1);
        let systems = config.estate.systems();
        let mut trackers: Vec<HealthTracker> =
            systems.iter().map(|_| HealthTracker::new(config.health.consecutive)).collect();
        let mut windows: Vec<HealthWindow> =
            systems.iter().map(|_| HealthWindow::new(config.health.window, rounds as usize)).collect();
        let mut last: Vec<Option<ProbeResult>> = systems.iter().map(|_| None).collect();
        for round in 0..rounds {
            if round > 0 {
                tokio::time::sleep(gap).await;
            }
            let now = engine.now();
            for (i, r) in engine.probe_once(None).await? {
                let (Some(settings), Some(tracker), Some(window)) =
                    (config.systems.get(i), trackers.get_mut(i), windows.get_mut(i))
                else {
                    continue;
                };
                let sample = Sample { at: now, outcome: r.outcome, latency: r.latency, excused: false };
                tracker.observe(&sample, settings.thresholds.response_time_above);
                window.push(sample);
                if let Some(l) = last.get_mut(i) {
                    *l = Some(r);
                }
            }
        }
        let now = engine.now();
        let states: Vec<HealthState> = trackers.iter().map(|t| t.state).collect();
        let impacted = impacted_by(config.estate.graph(), &states);
        Ok(systems
            .iter()
            .enumerate()
            .filter_map(|(i, system)| {
                let settings = config.systems.get(i)?;
                let r = last.get(i)?.clone()?;
                let stats = windows.get(i)?.stats(now);
                // A short run: every probe of it counts, however few the thresholds ask for.
                let thresholds = Thresholds { min_probes: 1, ..settings.thresholds };
                let decision =
                    confirmed_by(decide(&stats, &thresholds, settings.failover.is_some()), states[i]);
                let cause = impacted.get(i).copied().flatten();
                Some(HealthLine {
                    name: system.name.clone(),
                    probe: settings.health.as_ref().map(|h| h.probe.describe()).unwrap_or_default(),
                    state: states[i],
                    probes: stats.probes,
                    stats,
                    decision: if cause.is_some() { defer_to_root(decision) } else { decision },
                    impacted_by: cause.map(|c| config.estate.graph().name(c).to_owned()),
                    outcome: r.outcome,
                    latency_ms: r.latency.as_millis() as u64,
                    detail: r.detail,
                })
            })
            .collect())
    }
}

impl Engine {
    /// The estate now: RPO from the repositories as they are (refreshed first; a location that
    /// cannot be read is a warning returned beside it), and with `probe_gap`, health after a
    /// short run of probes. An unreadable state is an error, never "never backed up".
    pub async fn assess_estate(
        &self,
        probe_gap: Option<Duration>,
    ) -> Result<(EstateAssessment, Vec<String>), String> {
        let probed = match probe_gap {
            Some(gap) => Some(self.assess_health(gap).await?),
            None => None,
        };
        let problems = self.refresh_catalog(None).await;
        let newest = self.newest_verified().await.map_err(|e| format!("state unreadable: {e}"))?;
        let mut report = EstateAssessment::assess(&self.config().estate, &newest, self.now());
        if let Some(lines) = probed {
            report.add_health(lines);
        }
        let readings = self.read_all_replication().await;
        report.add_replication(&self.config().estate, &readings, self.now());
        let programme = self.programme().await.map_err(|e| format!("state unreadable: {e}"))?;
        let actions = self.corrective_actions().await.map_err(|e| format!("state unreadable: {e}"))?;
        report.add_programme(&programme, &actions);
        report.plan_warnings = self.plan_warnings().await.map_err(|e| format!("state unreadable: {e}"))?;
        Ok((report, problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::replication::LagReading;
    use crate::model::{RpoPolicy, System, TierObjectives};

    /// A breached standby makes a status with fresh backups CRITICAL; at risk or unknown, a
    /// WARNING.
    #[test]
    fn the_standbys_lag_sets_the_exit_code() {
        let estate = Estate::new(
            vec![System {
                name: "database".into(),
                tier: Tier::One,
                objective: crate::model::RecoveryObjective {
                    rto: Duration::from_secs(1800),
                    rpo: Duration::from_secs(300),
                },
                depends_on: vec![],
                owner: None,
                description: None,
            }],
            TierObjectives::standard(),
            RpoPolicy::default(),
        );
        let now = Utc::now();
        let fresh = HashMap::from([("database".to_owned(), now)]);
        let with = |lag: Option<u64>| {
            let mut a = EstateAssessment::assess(&estate, &fresh, now);
            assert_eq!(a.exit_code, 0, "a fresh backup is OK on its own");
            let mut r = Replication::new("sh", Duration::from_secs(30));
            if let Some(l) = lag {
                r.record(LagReading { at: now, lag: Ok(Duration::from_secs(l)) });
            }
            a.add_replication(&estate, &[Some(r)], now);
            (a.exit_code, a.systems[0].replication.as_ref().map(|r| r.state))
        };
        assert_eq!(with(Some(20)), (0, Some("compliant")));
        assert_eq!(with(Some(240)), (1, Some("at_risk")));
        assert_eq!(with(Some(400)), (2, Some("breached")));
        assert_eq!(with(None), (1, Some("unknown")));
    }
}
