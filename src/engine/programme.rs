//! The testing programme in the engine: each system's standing against what must be tested
//! (from the results kept, the backups' verifications and the exercises that had it in scope),
//! the restore drill's plan, the results an exercise leaves, and pruning past the keep.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Engine;
use super::exercise::report::AfterAction;
use super::jobs::{JobSpec, Plan};
use crate::model::duration::human;
use crate::model::exercise::Rating;
use crate::model::programme::{Due, Outcome, Standing, TestKind, TestResult, standing};
use crate::store::{NewAuditRecord, Outcome as AuditOutcome};

/// One system in the programme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemProgramme {
    pub system: String,
    pub tier: u8,
    pub rto_secs: u64,
    /// How long its newest restore drill's restore took: the RTO a restore would really take.
    pub restore_takes_ms: Option<u64>,
    pub tests: Vec<Standing>,
    pub due: Due,
}

impl SystemProgramme {
    /// The test that falls due first (an overdue one before any other).
    pub fn next(&self) -> Option<&Standing> {
        self.tests.iter().min_by_key(|s| (std::cmp::Reverse(s.due), s.next_due))
    }

    /// The newest test of any kind.
    pub fn last(&self) -> Option<&TestResult> {
        self.tests.iter().filter_map(|s| s.last.as_ref()).max_by_key(|r| r.at)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgrammeView {
    pub schema: &'static str,
    pub generated_at: DateTime<Utc>,
    /// Whether the programme is the standard's default (no `[[programme]]`).
    pub default: bool,
    pub keep_days: u64,
    pub systems: Vec<SystemProgramme>,
    pub due: Due,
    pub exit_code: u8,
    /// Each system's place in `systems`: looked up once per system by every document.
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl ProgrammeView {
    pub fn system(&self, name: &str) -> Option<&SystemProgramme> {
        self.index.get(name).and_then(|&i| self.systems.get(i))
    }
}

impl Engine {
    /// Every test result on record, and each system's newest backup verification (the
    /// repositories keep those; they are read from the catalog).
    pub async fn test_results(&self) -> Result<Vec<TestResult>, String> {
        let mut results = self.store.test_results().await.map_err(|e| e.to_string())?;
        let backups = self.backups(None).await?;
        let mut newest_of: HashMap<&str, (DateTime<Utc>, &super::backup::catalog::BackupView)> =
            HashMap::new();
        for b in &backups {
            let Some(at) = b.verified_at() else { continue };
            let e = newest_of.entry(b.manifest.system.as_str()).or_insert((at, b));
            if at > e.0 {
                *e = (at, b);
            }
        }
        for system in self.config.estate.systems() {
            let newest = newest_of.get(system.name.as_str()).copied();
            if let Some((at, b)) = newest {
                results.push(TestResult {
                    id: format!("verify:{}", b.manifest.id),
                    system: system.name.clone(),
                    kind: TestKind::BackupVerification,
                    at,
                    outcome: Outcome::Passed,
                    by: format!("verification of backup {}", b.manifest.id),
                    detail: format!("backup {} verified", b.manifest.id),
                    duration_ms: None,
                });
            }
        }
        Ok(results)
    }

    /// Where every system stands against the programme.
    pub async fn programme(&self) -> Result<ProgrammeView, String> {
        let results = self.test_results().await?;
        Ok(self.programme_of(&results))
    }

    /// [`Engine::programme`] over `results`.
    pub fn programme_of(&self, results: &[TestResult]) -> ProgrammeView {
        let now = self.now();
        let programme = &self.config.programme;
        let mut by_system: HashMap<&str, Vec<TestResult>> = HashMap::new();
        for r in results {
            by_system.entry(r.system.as_str()).or_default().push(r.clone());
        }
        let mut systems = Vec::new();
        for (system, settings) in self.config.estate.systems().iter().zip(&self.config.systems) {
            let results: &[TestResult] =
                by_system.get(system.name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let tests: Vec<Standing> = programme
                .requirements
                .iter()
                .filter(|r| r.covers(&system.name, system.tier))
                // Nothing to verify or restore for a system with no backups.
                .filter(|r| {
                    settings.backup.is_some()
                        || !matches!(r.test, TestKind::BackupVerification | TestKind::RestoreDrill)
                })
                .map(|r| standing(r, &system.name, results, now, now))
                .collect();
            let restore_takes_ms = results
                .iter()
                .filter(|r| {
                    r.system == system.name
                        && r.kind == TestKind::RestoreDrill
                        && r.outcome != Outcome::Failed
                })
                .max_by_key(|r| r.at)
                .and_then(|r| r.duration_ms);
            let due = tests.iter().map(|t| t.due).max().unwrap_or(Due::Ok);
            systems.push(SystemProgramme {
                system: system.name.clone(),
                tier: system.tier.number(),
                rto_secs: system.objective.rto.as_secs(),
                restore_takes_ms,
                tests,
                due,
            });
        }
        let due = systems.iter().map(|s| s.due).max().unwrap_or(Due::Ok);
        ProgrammeView {
            schema: "warroom.programme/1",
            generated_at: now,
            default: programme.default,
            keep_days: programme.keep.as_secs() / 86_400,
            systems,
            due,
            exit_code: due.exit_code(),
            index: self
                .config
                .estate
                .systems()
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i))
                .collect(),
        }
    }

    /// The restore drill of `system`: its newest verified backup into a scratch folder of the
    /// state's own.
    pub async fn plan_restore_drill(&self, system: &str) -> Result<(JobSpec, Plan), String> {
        let Some(settings) = self.config.system(system) else {
            return Err(format!("there is no system \"{system}\""));
        };
        if settings.backup.is_none() {
            return Err(format!("{system} has no [systems.backup]: there is nothing to restore in a drill"));
        }
        let scratch = self.drill_scratch(system)?;
        let (spec, restore) =
            self.plan_restore(system, None, Some(scratch.join("restore")), false, None).await?;
        let JobSpec::Restore { id, location, .. } = spec else {
            return Err("the restore's plan is not a restore".into());
        };
        let rto = self.config.estate.system(system).map(|s| s.objective.rto).unwrap_or_default();
        let mut lines: Vec<String> =
            restore.lines.into_iter().filter(|l| !l.starts_with("into ") && !l.starts_with("  ")).collect();
        lines.push(format!("into       {} (scratch, removed after)", scratch.display()));
        lines.push(format!(
            "timed      against {system}'s RTO of {}: a slower restore is a finding",
            human(rto)
        ));
        lines.push("records    the result with the testing programme (`warroom programme`)".into());
        Ok((
            JobSpec::RestoreDrill {
                system: system.to_owned(),
                id,
                location,
                scratch: scratch.display().to_string(),
            },
            Plan { title: format!("Restore drill {system}"), lines },
        ))
    }

    /// A scratch folder nobody can guess (the restore itself also stages under a random name).
    fn drill_scratch(&self, system: &str) -> Result<PathBuf, String> {
        let mut suffix = [0u8; 4];
        super::backup::keys::random(&mut suffix)?;
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        Ok(self
            .state_dir()
            .join("drills")
            .join(format!("{system}-{}-{suffix}", self.now().format("%Y%m%dT%H%M%SZ"))))
    }

    /// The results an ended exercise leaves: one per system in play (every system for a
    /// tabletop with no scope), passed unless an objective was rated M or U or the system was
    /// not back to normal.
    pub(super) async fn record_exercise_results(
        &self,
        report: &AfterAction,
        operator: &str,
    ) -> Result<Vec<TestResult>, String> {
        // An exercise in which nothing happened tests nothing.
        if report.injects.iter().all(|i| i.released.is_none()) {
            return Ok(Vec::new());
        }
        let systems: Vec<String> = if report.scope.is_empty() {
            self.config.estate.systems().iter().map(|s| s.name.clone()).collect()
        } else {
            report.scope.clone()
        };
        let rated = |o: &crate::model::exercise::ObjectiveResult| o.rating.unwrap_or(o.proposed);
        let short: Vec<String> = report
            .objectives
            .iter()
            .filter(|o| matches!(rated(o), Rating::M | Rating::U))
            .map(|o| format!("{} rated {}", o.id, rated(o).letter()))
            .collect();
        let at = report.ended_at.unwrap_or_else(|| self.now());
        let mut results: Vec<TestResult> = systems
            .iter()
            .map(|system| {
                let left = report.cleanup.iter().any(|c| &c.system == system && !c.ok);
                let mut findings = short.clone();
                if left {
                    findings.push(format!("{system} not back to normal at the end"));
                }
                // What the end left that is no system's (an incident still open) is everyone's.
                findings.extend(
                    report
                        .cleanup
                        .iter()
                        .filter(|c| !c.ok && !systems.contains(&c.system))
                        .map(|c| format!("{} {} at the end", c.system, c.state)),
                );
                let outcome = if findings.is_empty() { Outcome::Passed } else { Outcome::Findings };
                let detail = if findings.is_empty() {
                    format!("{} \"{}\": every objective met", report.kind, report.name)
                } else {
                    format!("{} \"{}\": {}", report.kind, report.name, findings.join("; "))
                };
                TestResult {
                    id: String::new(),
                    system: system.clone(),
                    kind: report.kind.into(),
                    at,
                    outcome,
                    by: format!("exercise {}", report.id),
                    detail,
                    duration_ms: None,
                }
            })
            .collect();
        let audit = NewAuditRecord::new(operator, "programme.tested", &report.id, AuditOutcome::Recorded)
            .details(serde_json::json!({
                "test": TestKind::from(report.kind).name(),
                "systems": systems,
                "outcomes": results.iter().map(|r| r.outcome.name()).collect::<Vec<_>>(),
            }));
        self.store.add_test_results(&mut results, &audit, self.now()).await.map_err(|e| e.to_string())?;
        Ok(results)
    }

    /// Remove test results older than `before`. Refused, removing nothing, when `before` is
    /// younger than the keep (`[test_results] keep`, 7 years by default).
    pub async fn prune_test_results(
        &self,
        before: DateTime<Utc>,
        operator: &str,
    ) -> Result<u64, crate::engine::access::WriteError> {
        use crate::engine::access::WriteError;
        if self.config.console.read_only {
            return Err(WriteError::Refused(crate::engine::jobs::Refusal::ReadOnly));
        }
        self.permit_write(operator, "pruning test results", "test_results.pruned", "programme").await?;
        let now = self.now();
        let keep = chrono::Duration::from_std(self.config.programme.keep).unwrap_or(chrono::Duration::MAX);
        let oldest_allowed = now - keep;
        if before > oldest_allowed {
            // Held by the keep, as a backup under a lock is.
            return Err(WriteError::Refused(crate::engine::jobs::Refusal::Held(format!(
                "results are kept {} days (test_results.keep); nothing younger than {} can be pruned, and {} is younger",
                self.config.programme.keep.as_secs() / 86_400,
                oldest_allowed.format("%Y-%m-%d"),
                before.format("%Y-%m-%d")
            ))));
        }
        let audit = NewAuditRecord::new(operator, "programme.pruned", "test_results", AuditOutcome::Recorded)
            .details(serde_json::json!({ "before": before }));
        self.store
            .prune_test_results(before, &audit, now)
            .await
            .map_err(|e| crate::engine::access::WriteError::Failed(e.to_string()))
    }
}
