//! Failover and failback procedures: steps in order, then validation; on a failure the
//! rollback of what had completed, in reverse; after a failover, the commit window.
//!
//! ```text
//!  FailoverInitiated ─ step 1 … step n ─► FailoverComplete ─► Validation ─► Recovered ─(commit)─► Normal
//!        │ a step fails                          │ a check fails        (window ends: the default)
//!        └──────────────► rollback, reverse ◄────┘──► Failed (rolled back | rollback failed: by hand)
//! ```
//! Every step and every state change is in the job's log and the audit log. A `manual` step
//! waits for an operator's signal (from the console, or `warroom confirm JOB` in any process on
//! this state); nothing else stops it but the job being cancelled.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Engine;
use super::jobs::{JobContext, JobSpec, Plan, Signal};
use crate::config::failover::{CommitDefault, Procedure, Step, StepAction};
use crate::engine::EngineError;
use crate::model::duration::{hms, human};
use crate::model::failover::FailoverRecord;
use crate::model::failover::FailoverState;
use crate::store::{NewAuditRecord, Outcome};

/// A change of a system's failover state.
pub struct StateChange<'a> {
    pub to: FailoverState,
    pub job: Option<&'a str>,
    pub commit_deadline: Option<DateTime<Utc>>,
    pub on_timeout: Option<CommitDefault>,
    pub detail: Option<String>,
}

impl<'a> StateChange<'a> {
    pub fn to(to: FailoverState) -> Self {
        StateChange { to, job: None, commit_deadline: None, on_timeout: None, detail: None }
    }

    pub fn job(self, job: &'a str) -> Self {
        StateChange { job: Some(job), ..self }
    }

    pub fn window(self, deadline: Option<DateTime<Utc>>, default: Option<CommitDefault>) -> Self {
        StateChange { commit_deadline: deadline, on_timeout: default, ..self }
    }

    pub fn detail(self, detail: impl Into<String>) -> Self {
        StateChange { detail: Some(detail.into()), ..self }
    }
}

/// A line a step may print to say up to when the standby had the data (for RPO achieved).
pub const REPLICATED_AT: &str = "WARROOM_REPLICATED_AT=";

/// How often a waiting step looks again.
pub(in crate::engine) const POLL: Duration = Duration::from_millis(300);

/// The gate's lines on what a failover loses against a restore: `data  lose ~42s by
/// replication (RPO 5m ✔)`, `instead  restore the newest verified backup: …`, `weighed  → …`.
/// A procedure's fingerprint: every step, check, rollback, timeout and setting as configured.
pub fn procedure_sha256(procedure: &Procedure) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(format!("{procedure:?}").as_bytes()))
}

pub fn trade_off_lines(trade: &crate::model::replication::TradeOff) -> Vec<String> {
    let mut lines =
        vec![format!("data       {}", trade.loss_words(crate::model::replication::Choice::Failover))];
    if let Some(restore) = trade.restore_line() {
        lines.push(format!("instead    {restore}"));
    }
    lines.push(format!("weighed    {}", trade.verdict_line()));
    lines
}

impl Engine {
    pub fn procedure(&self, system: &str, failback: bool) -> Result<&Procedure, String> {
        let settings =
            self.config.system(system).ok_or_else(|| format!("there is no system \"{system}\""))?;
        let which = if failback { "failback" } else { "failover" };
        let procedure = if failback { settings.failback.as_ref() } else { settings.failover.as_ref() };
        procedure.ok_or_else(|| {
            format!(
                "\"{system}\" has no {which} procedure: add [systems.{which}] to it in {}",
                self.config.path.display()
            )
        })
    }

    /// The system's failover state now (Normal when nothing was ever recorded). A state that
    /// cannot be read is an error: never "Normal", which would let a second failover start.
    pub async fn failover_state(
        &self,
        system: &str,
    ) -> Result<(FailoverState, Option<FailoverRecord>), EngineError> {
        let row = self.store.system_state(system).await?;
        Ok((row.as_ref().map(|r| r.state).unwrap_or(FailoverState::Normal), row))
    }

    /// Every system's failover state that is not Normal.
    pub async fn failover_states(&self) -> Result<Vec<FailoverRecord>, EngineError> {
        Ok(self
            .store
            .system_states()
            .await?
            .into_iter()
            .filter(|r| r.state != FailoverState::Normal)
            .collect())
    }

    /// A failover or failback whose job ended without saying how it went (its process was
    /// killed, or the machine went down) leaves the system in a state "in progress" that no job
    /// will move on. Such a system is Failed: nothing was rolled back, and the operator checks
    /// it by hand, then fails over again or fails back. Returns the systems settled.
    /// A read that fails is never "its job is gone": the states stay as they are and the
    /// error is returned (the database locked by another process, a full disk, an I/O error).
    pub async fn settle_interrupted_failovers(&self) -> Result<Vec<String>, EngineError> {
        let mut settled = Vec::new();
        for row in self.store.system_states().await? {
            if !row.state.in_progress() {
                continue;
            }
            let job = match &row.job_id {
                Some(id) => self.store.job(id).await?,
                None => None,
            };
            if job.as_ref().is_some_and(|j| !j.state.finished()) {
                continue;
            }
            let how =
                job.as_ref().and_then(|j| j.outcome.clone()).unwrap_or_else(|| "its job is gone".to_owned());
            // Its log says which steps and rollbacks ran; say whether a rollback had begun.
            let undone = if how.contains("rolling back") || how.contains("rollback") {
                "its rollback was cut short (the job's log says what ran)"
            } else {
                "nothing was rolled back"
            };
            let detail = format!(
                "interrupted in \"{}\" ({how}); {undone}: check {} by hand, then fail over again or fail back",
                row.state, row.system
            );
            // Another process (on another host) may notice it at the same moment: it moves
            // only from the state read here, so one of them settles it and records it.
            let failed = FailoverRecord {
                system: row.system.clone(),
                state: FailoverState::Failed,
                since: self.now(),
                job_id: row.job_id.clone(),
                commit_deadline: None,
                on_timeout: None,
                detail: Some(detail.clone()),
            };
            let record = NewAuditRecord::new("warroom", "failover.state", &row.system, Outcome::Recorded)
                .details(serde_json::json!({
                    "from": row.state.name(), "to": FailoverState::Failed.name(), "job": row.job_id,
                    "commit_deadline": null, "detail": detail,
                }));
            if self.store.settle_system_state(&failed, row.state, &record, self.now()).await? {
                settled.push(row.system.clone());
            }
        }
        Ok(settled)
    }

    /// Record a failover state change (an audit record). Not recorded is an error the caller
    /// tells: before a procedure acts it stops it; after, the job's log says so.
    pub async fn set_failover_state(
        &self,
        system: &str,
        change: StateChange<'_>,
        operator: &str,
    ) -> Result<(), EngineError> {
        // What it was, for the record; unreadable, the record says so and the change is still
        // written (it is what happened).
        let from = match self.failover_state(system).await {
            Ok((from, _)) => Some(from),
            Err(e) => {
                tracing::warn!(%system, error = %e, "cannot read the failover state before changing it");
                None
            }
        };
        let StateChange { to, job, commit_deadline, on_timeout, detail } = change;
        let row = FailoverRecord {
            system: system.to_owned(),
            state: to,
            since: self.now(),
            job_id: job.map(str::to_owned),
            commit_deadline,
            on_timeout: on_timeout.map(|d| match d {
                CommitDefault::Commit => "commit".to_owned(),
                CommitDefault::Failback => "failback".to_owned(),
            }),
            detail: detail.clone(),
        };
        // The state and its audit record commit together (no record when nothing changed).
        let record = (from != Some(to) || detail.is_some()).then(|| {
            NewAuditRecord::new(operator, "failover.state", system, Outcome::Recorded).details(
                serde_json::json!({
                    "from": from.map(FailoverState::name), "to": to.name(), "job": job,
                    "commit_deadline": commit_deadline.map(|d| d.to_rfc3339()), "detail": detail,
                }),
            )
        });
        self.store.set_system_state(&row, record.as_ref().map(|r| (r, self.now()))).await?;
        Ok(())
    }

    /// [`Engine::set_failover_state`] for a procedure already acting: a state that cannot be
    /// recorded is told in the job's log (and the tracing log), and the procedure goes on: what
    /// it does next (a rollback) matters more than the record.
    pub(in crate::engine) async fn note_failover_state(
        &self,
        system: &str,
        change: StateChange<'_>,
        operator: &str,
        ctx: &JobContext,
    ) {
        let to = change.to;
        if let Err(e) = self.set_failover_state(system, change, operator).await {
            tracing::warn!(%system, error = %e, "could not record a failover state");
            ctx.log(format!("  ✖ the state {to} of {system} could not be recorded: {e}"));
        }
    }

    /// What `warroom failover SYSTEM` (or failback) would do, step by step, with its RTO
    /// forecast: shown at the gate, and alone for a dry run.
    pub async fn plan_procedure(&self, system: &str, failback: bool) -> Result<(JobSpec, Plan), String> {
        let procedure = self.procedure(system, failback)?.clone();
        let mut lines = Vec::new();
        let (state, _) = self.failover_state(system).await.map_err(|e| format!("state unreadable: {e}"))?;
        if state.in_progress() {
            return Err(format!(
                "{system} is already in \"{state}\": wait for it to finish (see `warroom jobs`)"
            ));
        }
        let n = procedure.steps.len();
        for (i, step) in procedure.steps.iter().enumerate() {
            lines.push(step_line(&format!("{}/{n}", i + 1), step));
        }
        for step in &procedure.validate {
            lines.push(step_line("check", step));
        }
        if procedure.rollback.is_empty() {
            lines.push("rollback   none configured: a failure is left for the operator".to_owned());
        } else {
            let names: Vec<&str> = procedure.rollback.iter().map(|s| s.name.as_str()).collect();
            let how = if procedure.rollback.len() == n {
                "each completed step's, in reverse"
            } else {
                "in reverse order"
            };
            lines.push(format!("rollback   on a failure, {how}: {}", names.join(", ")));
        }
        if !failback {
            match procedure.commit_window {
                Some(w) => lines.push(format!(
                    "then       a commit window of {}: commit or fail back; if nobody decides, {}",
                    human(w),
                    match procedure.on_commit_timeout {
                        CommitDefault::Commit => "commit",
                        CommitDefault::Failback => "fail back",
                    }
                )),
                None => lines.push("then       committed at once (no commit window)".to_owned()),
            }
        }
        lines.extend(self.rto_forecast(system, procedure.estimate()).await);
        if !failback {
            // What pressing go loses, beside what a restore would (the standby's lag read now).
            lines.extend(trade_off_lines(&self.trade_off(system).await?));
        }
        let title = format!("{} {system}", if failback { "Fail back" } else { "Fail over" });
        let procedure_sha256 = procedure_sha256(&procedure);
        Ok((
            JobSpec::Failover { system: system.to_owned(), failback, procedure_sha256 },
            Plan { title, lines },
        ))
    }

    /// `forecast  6m10s (from the steps' estimates) · RTO left 24m (down since 22:04) · on time`
    pub async fn rto_forecast(&self, system: &str, estimate: Duration) -> Vec<String> {
        let Some(s) = self.config.estate.system(system) else { return Vec::new() };
        let mut lines = vec![format!("forecast   {} to recover, from the steps' estimates", human(estimate))];
        match self.store.outage_start(system).await {
            // Not "the system is not down": the gate says what is not known.
            Err(e) => lines.push(format!(
                "RTO        {}: when the outage began cannot be read ({e}), so the time left is not known",
                human(s.objective.rto)
            )),
            Ok(Some(start)) => {
                let elapsed = (self.now() - start).to_std().unwrap_or_default();
                let left = s.objective.rto.saturating_sub(elapsed);
                let verdict = if estimate > left {
                    format!("WILL BREACH the RTO by {}", human(estimate - left))
                } else {
                    "within the RTO".to_owned()
                };
                lines.push(format!(
                    "RTO        {} left of {} (down since {}): {verdict}",
                    hms(left),
                    human(s.objective.rto),
                    start.format("%H:%M:%S UTC")
                ));
            }
            Ok(None) => lines.push(format!("RTO        {} (the system is not down)", human(s.objective.rto))),
        }
        lines
    }

    /// An operator's answer to a job's manual step (or a plan's skip/retry), from any process.
    pub async fn signal_job(
        &self,
        job: &str,
        signal: Signal,
        argument: Option<&str>,
        operator: &str,
    ) -> Result<(), String> {
        let snapshot = self
            .jobs
            .get(job)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("there is no job {job}"))?;
        if snapshot.state.finished() {
            return Err(format!("job {job} is {}: there is nothing to answer", snapshot.state));
        }
        // Who may start it may steer it (a spec this version cannot read: a tier-1 failover's rule).
        // Skipping or retrying a system of a recovery plan decides what runs: the plan's approve rule.
        let step = match signal {
            Signal::Skip | Signal::Retry => crate::model::access::Step::Approve,
            _ => crate::model::access::Step::Propose,
        };
        let rule = match self.jobs.spec(job).await {
            Ok(Some(spec)) => (spec.action(), self.tier_for(&spec), step),
            _ => {
                (crate::model::Action::Failover, crate::model::Tier::One, crate::model::access::Step::Propose)
            }
        };
        self.permit(operator, rule, &format!("job.{signal}"), &snapshot.target)
            .await
            .map_err(|e| e.to_string())?;
        self.store
            .send_signal(job, signal, argument, operator, self.now())
            .await
            .map_err(|e| e.to_string())?;
        let _ = self
            .audit(
                NewAuditRecord::new(operator, &format!("job.{signal}"), &snapshot.target, Outcome::Recorded)
                    .details(serde_json::json!({ "job": job, "argument": argument })),
            )
            .await;
        Ok(())
    }

    /// `operator` commits a failover in its commit window: who may approve a failover of the
    /// system's tier may commit it.
    pub async fn commit(&self, system: &str, operator: &str) -> Result<String, String> {
        // A system this configuration does not know: tier 1's rule, the strictest.
        let tier = self.config.estate.system(system).map(|s| s.tier).unwrap_or(crate::model::Tier::One);
        let rule = (crate::model::Action::Failover, tier, crate::model::access::Step::Approve);
        self.permit(operator, rule, "failover.commit", system).await.map_err(|e| e.to_string())?;
        self.commit_configured(system, operator).await
    }

    /// Commit a failover in its commit window: the standby is now the system.
    async fn commit_configured(&self, system: &str, operator: &str) -> Result<String, String> {
        if self.config.console.read_only {
            let _ =
                self.audit(NewAuditRecord::new(operator, "failover.commit", system, Outcome::Refused)).await;
            return Err("console.read_only is set: every side effect is refused".into());
        }
        let (state, row) = self.failover_state(system).await.map_err(|e| format!("state unreadable: {e}"))?;
        if state != FailoverState::Recovered {
            return Err(format!(
                "{system} is {state}: only a failover in its commit window can be committed"
            ));
        }
        let job = row.and_then(|r| r.job_id);
        self.set_failover_state(
            system,
            StateChange { job: job.as_deref(), ..StateChange::to(FailoverState::Normal) }.detail("committed"),
            operator,
        )
        .await
        .map_err(|e| {
            format!("the commit could not be recorded, {system} is still in its commit window: {e}")
        })?;
        let _ = self
            .audit(
                NewAuditRecord::new(operator, "failover.committed", system, Outcome::Succeeded)
                    .details(serde_json::json!({ "job": job })),
            )
            .await;
        Ok(format!("{system}: failover committed"))
    }

    /// Apply the default to every commit window that has ended: commit, or start the
    /// failback. Returns what was done.
    pub async fn apply_commit_timeouts(&self) -> Result<Vec<String>, EngineError> {
        if self.config.console.read_only {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut done = Vec::new();
        for row in self.failover_states().await? {
            let Some(deadline) = row.commit_deadline else { continue };
            if row.state != FailoverState::Recovered || deadline > now {
                continue;
            }
            let who = crate::model::access::COMMIT_WINDOW;
            let _ = self
                .audit(
                    NewAuditRecord::new(who, "failover.commit_window_ended", &row.system, Outcome::Recorded)
                        .details(serde_json::json!({ "deadline": deadline.to_rfc3339(), "default": row.on_timeout })),
                )
                .await;
            if row.on_timeout.as_deref() == Some("failback") {
                match self.plan_procedure(&row.system, true).await {
                    Ok((spec, plan)) => match self.propose_configured(&spec, plan, who).await {
                        Ok(job) => {
                            if self
                                .approve_configured(&job.id, who, &super::jobs::Proof::CommitDefault)
                                .await
                                .is_ok()
                            {
                                self.spawn_job(&job.id);
                                done.push(format!(
                                    "{}: commit window ended, failing back ({})",
                                    row.system, job.id
                                ));
                            }
                        }
                        Err(e) => done.push(format!(
                            "{}: commit window ended; the failback was refused: {e}",
                            row.system
                        )),
                    },
                    Err(e) => {
                        done.push(format!("{}: commit window ended; cannot fail back: {e}", row.system))
                    }
                }
            } else if let Ok(m) = self.commit_configured(&row.system, who).await {
                done.push(format!("{m} (the commit window ended)"));
            }
        }
        Ok(done)
    }

    /// Who a job acts for: who approved it, else who proposed it.
    /// Who a job acts for (its approver, else its proposer): what its audit records name.
    pub async fn job_operator(&self, id: &str) -> Result<String, String> {
        match self.jobs.get(id).await {
            Ok(Some(j)) => Ok(j.approved_by.unwrap_or(j.proposed_by)),
            Ok(None) => Err(format!("there is no job {id}")),
            Err(e) => Err(format!("state unreadable: who job {id} acts for cannot be read: {e}")),
        }
    }
}

pub(in crate::engine) fn step_line(label: &str, step: &Step) -> String {
    let mut line = format!("{label:<10} {}: {}", step.name, step.describe());
    let mut extra = Vec::new();
    if !matches!(step.action, StepAction::Manual { .. }) {
        extra.push(format!("timeout {}", human(step.timeout)));
    }
    if let Some(e) = step.estimate {
        extra.push(format!("about {}", human(e)));
    }
    if let StepAction::Http(h) = &step.action
        && let Some(body) = &h.body
    {
        extra.push(format!("body {body}"));
    }
    if !extra.is_empty() {
        line.push_str(&format!(" ({})", extra.join(", ")));
    }
    line
}
