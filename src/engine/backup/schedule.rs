//! The schedule: backups and verifications due by the configuration, started on the pool with
//! the schedule as their proof.

use std::time::Duration;

use chrono::TimeDelta;

use crate::engine::Engine;
use crate::engine::backup::catalog::BackupView;
use crate::engine::jobs::{JobKind, JobSnapshot, JobSpec, Plan, Proof};
use crate::model::access::SCHEDULER;
use crate::model::backup::Schedule;

/// The jobs running and those that finished, together.
fn jobs_recent<'a>(active: &'a [JobSnapshot], finished: &'a [JobSnapshot]) -> Vec<&'a JobSnapshot> {
    active.iter().chain(finished).collect()
}

impl Engine {
    // ---- the schedule ----

    /// One pass of the scheduler: start each system's backup that is due, and each deep
    /// verification its cadence asks for. Returns the jobs started.
    pub async fn run_schedule_once(&self) -> Vec<String> {
        if self.config.console.read_only {
            return Vec::new();
        }
        let now = self.now();
        // A pass that cannot read what ran and what runs starts nothing (it would start
        // backups already running, or not due): the next pass tries again.
        let read = async {
            let starts = self.last_backup_starts().await?;
            let attempts = self.last_backup_attempts().await?;
            let jobs = self.jobs.list(500).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((starts, attempts, jobs))
        };
        let (starts, attempts, jobs) = match read.await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the schedule cannot read the state: nothing started this pass");
                return Vec::new();
            }
        };
        let (active, finished): (Vec<JobSnapshot>, Vec<JobSnapshot>) =
            jobs.into_iter().partition(|j| !j.state.finished());
        let busy = |kind: JobKind, system: &str| active.iter().any(|j| j.kind == kind && j.target == system);
        let mut started = Vec::new();
        for (system, settings) in self.config.estate.systems().iter().zip(&self.config.systems) {
            let Some(policy) = &settings.backup else { continue };
            let due = !matches!(
                Schedule::assess(starts.get(&system.name).copied(), policy.every, now),
                Schedule::NotYet { .. }
            );
            // A failed run is tried again, but not in a loop: after a quarter of the interval
            // (at most five minutes).
            let retry_after = (policy.every / 4).min(Duration::from_secs(300));
            let tried_recently = attempts.get(&system.name).is_some_and(|t| {
                starts.get(&system.name).is_none_or(|s| t > s)
                    && now - *t < TimeDelta::from_std(retry_after).unwrap_or(TimeDelta::MAX)
            });
            let due = due && !tried_recently;
            if due && !busy(JobKind::Backup, &system.name) {
                match self.plan_backup(&system.name).await {
                    Ok((spec, plan)) => {
                        if let Some(id) = self.start_scheduled(&spec, plan).await {
                            started.push(id);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(system = %system.name, error = %e, "a scheduled backup cannot start")
                    }
                }
            }
            let Some(every) = policy.deep_verify_every else { continue };
            if busy(JobKind::DeepVerify, &system.name) || busy(JobKind::Backup, &system.name) {
                continue;
            }
            let backups = self.backups(Some(&system.name)).await.unwrap_or_default();
            let Some(newest) = backups.iter().rev().find(|b| b.verified_at().is_some()) else { continue };
            let last_deep = backups.iter().filter_map(BackupView::deep_verified_at).max();
            let limit = TimeDelta::from_std(every).unwrap_or(TimeDelta::MAX);
            if last_deep.is_none_or(|t| now - t >= limit) && self.config.encryption.identity_file.is_some() {
                match self.plan_verify(&newest.manifest.id, true, None).await {
                    Ok((spec, plan)) => {
                        if let Some(id) = self.start_scheduled(&spec, plan).await {
                            started.push(id);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(system = %system.name, error = %e, "a scheduled deep verify cannot start")
                    }
                }
            }
        }
        started.extend(self.schedule_restore_drills(&jobs_recent(&active, &finished), now).await);
        started
    }

    /// The programme's restore drills that are due, for systems with a verified backup and a
    /// key to read it; a drill that ran (or failed) in the last hour is not tried again yet.
    async fn schedule_restore_drills(
        &self,
        recent: &[&JobSnapshot],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<String> {
        use crate::model::programme::{Due, TestKind};
        let mut started = Vec::new();
        if self.config.encryption.identity_file.is_none() {
            return started;
        }
        let view = match self.programme().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "the programme cannot be read: no restore drill started this pass");
                return started;
            }
        };
        for s in &view.systems {
            let due = s.tests.iter().any(|t| t.test == TestKind::RestoreDrill && t.due == Due::Overdue);
            // Not while its backup runs, nor within the hour of its last drill (a failed one is
            // due again at once: not in a loop).
            let lately = recent.iter().any(|j| {
                j.target == s.system
                    && match j.kind {
                        JobKind::Backup => j.finished_at.is_none(),
                        JobKind::RestoreDrill => j.finished_at.is_none_or(|f| now - f < TimeDelta::hours(1)),
                        _ => false,
                    }
            });
            if !due || lately {
                continue;
            }
            match self.plan_restore_drill(&s.system).await {
                Ok((spec, plan)) => started.extend(self.start_scheduled(&spec, plan).await),
                // No verified backup yet: the drill waits for one.
                Err(e) => tracing::debug!(system = %s.system, error = %e, "a restore drill cannot start yet"),
            }
        }
        started
    }

    pub(in crate::engine) async fn start_scheduled(&self, spec: &JobSpec, plan: Plan) -> Option<String> {
        let job = match self.propose_configured(spec, plan, SCHEDULER).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler could not propose a job");
                return None;
            }
        };
        match self.approve_configured(&job.id, SCHEDULER, &Proof::Scheduled).await {
            Ok(_) => {
                self.spawn_job(&job.id);
                Some(job.id)
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "a scheduled job was refused");
                None
            }
        }
    }

    /// Run the schedule until the returned handle is dropped or aborted: a pass at once, then
    /// every `every`.
    pub fn start_scheduler(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                engine.refresh_catalog(None).await;
                engine.run_schedule_once().await;
            }
        })
    }
}
