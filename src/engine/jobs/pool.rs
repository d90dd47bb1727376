//! The job pool and the approval gate.
//!
//! ```text
//!  propose ──► Proposed ──approve (the gate: policy, read-only)──► Approved ──start──► Running
//!     │            └── cancelled at the gate ──► Cancelled                        │
//!     └── every step audited                                                      ├─► Succeeded
//!                                                                                 ├─► Failed
//!  a process that died while running one: Interrupted (never re-run silently)    └─► Cancelled
//! ```
//! Jobs run on tokio with bounded concurrency per kind, a timeout and cancellation. One job of
//! a lock class runs per system at a time, even across processes on the same state (a lock
//! row taken in one transaction). Progress and state changes are owned `JobEvent`s; running
//! jobs' progress, log and heartbeat are saved, so another process (or a console started again)
//! sees them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, broadcast};

use super::context::{JobContext, Meter};
use super::{JobEvent, JobKind, JobSnapshot, JobSpec, JobState, Plan, Proof, Refusal, satisfies};
use crate::clock::Clock;
use crate::engine::EngineError;
use crate::model::ApprovalPolicy;
use crate::store::{JobRow, NewAuditRecord, Outcome, Store, StoreError};

struct Running {
    meter: Meter,
}

/// The process that owns a job (proposed it, or runs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Still there: on this host its pid; on another its heartbeat, fresh within the timeout.
    pub alive: bool,
    /// "pid 4242 on dr-site-2", when the job has an owner.
    pub words: Option<String>,
}

/// The pool: shared by every clone of the engine.
pub struct JobPool {
    store: Store,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<JobEvent>,
    limits: Mutex<HashMap<JobKind, Arc<Semaphore>>>,
    running: Mutex<HashMap<String, Running>>,
    /// Every job this process has begun to run: each runs once here, however many paths ask
    /// (the approver's own effect, a poll finding it approved elsewhere).
    started: Mutex<std::collections::HashSet<String>>,
    host: String,
    /// How old another host's heartbeat may be before its owner is taken for dead.
    gone_after: Duration,
}

fn ts(t: DateTime<Utc>) -> String {
    crate::store::ts(t)
}

/// The name this process's jobs are recorded under: `WARROOM_HOST` when set (two warrooms on
/// one machine that must count as two hosts; containers that share a hostname), else the
/// kernel's hostname. Liveness follows it: an owner on this host is alive while its pid is, an
/// owner on another while its heartbeat is fresh.
pub fn hostname() -> String {
    if let Ok(h) = std::env::var("WARROOM_HOST")
        && !h.trim().is_empty()
    {
        return h.trim().to_owned();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// How often an owner says it is alive: a running job's progress is saved every second, a
/// waiting proposal's heartbeat every second or two (the command's gate, the console's poll).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// An owner on another host is alive while its heartbeat is younger than this (30 heartbeats):
/// past it, the owner is taken for dead, and its running jobs are settled as Interrupted. The
/// default of `console.heartbeat_timeout`.
pub const OWNER_GONE_AFTER: Duration = crate::config::console::DEFAULT_HEARTBEAT_TIMEOUT;

fn heartbeat_fresh(heartbeat: Option<DateTime<Utc>>, now: DateTime<Utc>, gone_after: Duration) -> bool {
    heartbeat
        .is_some_and(|h| now - h <= chrono::TimeDelta::from_std(gone_after).unwrap_or(chrono::TimeDelta::MAX))
}

fn alive(pid: i64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A job id: when it was proposed, and random digits: `J-261126-224107-3fa9`.
fn new_job_id(at: DateTime<Utc>) -> String {
    let mut bytes = [0u8; 2];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    format!("J-{}-{:02x}{:02x}", at.format("%y%m%d-%H%M%S"), bytes[0], bytes[1])
}

impl JobPool {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> JobPool {
        let (events, _) = broadcast::channel(1024);
        JobPool {
            store,
            clock,
            events,
            limits: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            started: Mutex::new(std::collections::HashSet::new()),
            host: hostname(),
            gone_after: OWNER_GONE_AFTER,
        }
    }

    /// Take an owner on another host for dead once its heartbeat is older than `after`.
    pub fn with_heartbeat_timeout(mut self, after: Duration) -> JobPool {
        self.gone_after = after;
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    pub fn snapshot_of(row: &JobRow) -> JobSnapshot {
        JobSnapshot {
            id: row.id.clone(),
            kind: row.kind,
            target: row.target.clone(),
            state: row.state,
            plan: row.plan.clone(),
            policy: row.policy,
            proposed_by: row.proposed_by.clone(),
            proposed_at: Some(row.proposed_at),
            approved_by: row.approved_by.clone(),
            approved_at: row.approved_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            outcome: row.outcome.clone(),
            progress: row.progress.clone().unwrap_or_default(),
            log: row.log.clone(),
            approvals: row.approvals.clone(),
            detail: row.detail.clone(),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<JobSnapshot>, EngineError> {
        Ok(self.store.job(id).await?.as_ref().map(Self::snapshot_of))
    }

    /// What job `id` runs; a spec this version cannot read is an error, never "no job".
    pub async fn spec(&self, id: &str) -> Result<Option<JobSpec>, Refusal> {
        match self.store.job(id).await? {
            Some(row) => Self::spec_of(&row).map(Some),
            None => Ok(None),
        }
    }

    fn spec_of(row: &JobRow) -> Result<JobSpec, Refusal> {
        serde_json::from_str(&row.spec).map_err(|e| {
            Refusal::Store(format!(
                "job {} cannot be read: its spec is not one this warroom knows ({e}); cancel it and propose it again",
                row.id
            ))
        })
    }

    pub async fn list(&self, limit: u32) -> Result<Vec<JobSnapshot>, EngineError> {
        Ok(self.store.jobs(limit).await?.iter().map(Self::snapshot_of).collect())
    }

    /// Read job `id` once, tell listeners, and hand it back. Unreadable, it is logged here
    /// (listeners catch up at their next read of the jobs, which says why it failed).
    async fn announce(&self, id: &str) -> Result<Option<JobSnapshot>, EngineError> {
        let job = self.get(id).await;
        match &job {
            Ok(Some(s)) => {
                let _ = self.events.send(JobEvent::Changed(Box::new(s.clone())));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(job = id, error = %e, "cannot read a job to announce its change"),
        }
        job
    }

    async fn audit(
        &self,
        operator: &str,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.store
            .append_audit(&Self::record(operator, action, target, outcome, details), self.clock.now())
            .await
            .map(|_| ())
    }

    fn record(
        operator: &str,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> NewAuditRecord {
        NewAuditRecord::new(operator, action, target, outcome).details(details)
    }

    /// Record a proposed job and audit it. `read_only` refuses (and audits the refusal).
    pub async fn propose(
        &self,
        spec: &JobSpec,
        plan: Plan,
        policy: ApprovalPolicy,
        operator: &str,
        read_only: bool,
    ) -> Result<JobSnapshot, Refusal> {
        let details = serde_json::json!({ "kind": spec.kind(), "plan": plan, "policy": policy.name() });
        if read_only {
            self.audit(
                operator,
                &format!("{}.proposed", spec.kind()),
                spec.system(),
                Outcome::Refused,
                details,
            )
            .await?;
            return Err(Refusal::ReadOnly);
        }
        let row = self.new_row(spec, plan, policy, operator, None)?;
        self.insert_new(row, |id| {
            let mut d = details.clone();
            d["job"] = serde_json::json!(id);
            vec![Self::record(
                operator,
                &format!("{}.proposed", spec.kind()),
                spec.system(),
                Outcome::Recorded,
                d,
            )]
        })
        .await
    }

    /// One system's job inside an approved recovery plan: proposed and approved (by the plan,
    /// `Proof::Plan`) in one write, with both audit records, as `propose` then `approve` would
    /// record them. A plan starts a wave's jobs at once; one write each instead of two.
    pub async fn propose_in_plan(
        &self,
        spec: &JobSpec,
        plan: Plan,
        policy: ApprovalPolicy,
        operator: &str,
        parent: &str,
        read_only: bool,
    ) -> Result<JobSnapshot, Refusal> {
        let kind = spec.kind();
        let proposed = serde_json::json!({ "kind": kind, "plan": plan, "policy": policy.name() });
        if read_only {
            self.audit(operator, &format!("{kind}.proposed"), spec.system(), Outcome::Refused, proposed)
                .await?;
            return Err(Refusal::ReadOnly);
        }
        let proof = Proof::Plan(parent.to_owned());
        // What only a typed name approves, no plan approves for the operator.
        let checked = if spec.needs_typed_proof() {
            Err(Refusal::NeedsTyped { system: spec.system().to_owned() })
        } else {
            satisfies(policy, &proof, spec.system())
        };
        if let Err(refusal) = checked {
            // Audited as a refusal at the gate, as an approval asked for and refused would be.
            let details = serde_json::json!({
                "how": proof.describe(), "policy": policy.name(), "plan_job": parent, "reason": refusal.to_string(),
            });
            self.audit(operator, &format!("{kind}.approved"), spec.system(), Outcome::Refused, details)
                .await?;
            return Err(refusal);
        }
        let row = self.new_row(spec, plan, policy, operator, Some(operator))?;
        self.insert_new(row, |id| {
            let mut p = proposed.clone();
            p["job"] = serde_json::json!(id);
            let approved = serde_json::json!({
                "job": id, "how": proof.describe(), "policy": policy.name(), "plan_job": parent,
            });
            vec![
                Self::record(operator, &format!("{kind}.proposed"), spec.system(), Outcome::Recorded, p),
                Self::record(
                    operator,
                    &format!("{kind}.approved"),
                    spec.system(),
                    Outcome::Approved,
                    approved,
                ),
            ]
        })
        .await
    }

    /// A new job's row, owned by this process: proposed, or (`approved_by`) approved already.
    fn new_row(
        &self,
        spec: &JobSpec,
        plan: Plan,
        policy: ApprovalPolicy,
        operator: &str,
        approved_by: Option<&str>,
    ) -> Result<JobRow, Refusal> {
        let now = self.clock.now();
        let spec_json = serde_json::to_string(spec)
            .map_err(|e| Refusal::Store(format!("cannot record the job's spec: {e}")))?;
        Ok(JobRow {
            id: new_job_id(now),
            kind: spec.kind(),
            target: spec.system().to_owned(),
            state: if approved_by.is_some() { JobState::Approved } else { JobState::Proposed },
            plan,
            spec: spec_json,
            policy,
            proposed_by: operator.to_owned(),
            proposed_at: now,
            approved_by: approved_by.map(str::to_owned),
            approved_at: approved_by.map(|_| now),
            started_at: None,
            finished_at: None,
            outcome: None,
            progress: None,
            log: Vec::new(),
            owner_pid: Some(i64::from(std::process::id())),
            owner_host: Some(self.host.clone()),
            heartbeat_at: Some(now),
            approvals: approved_by.map(|a| vec![a.to_owned()]).unwrap_or_default(),
            detail: None,
        })
    }

    /// Insert `row` with the audit records `records(its id)`, in one write. Ids are short for
    /// people to type: two proposed in the same second may draw the same digits (a plan
    /// proposes dozens at once); the second draws again.
    async fn insert_new(
        &self,
        mut row: JobRow,
        records: impl Fn(&str) -> Vec<NewAuditRecord>,
    ) -> Result<JobSnapshot, Refusal> {
        let mut tries = 0;
        loop {
            match self.store.insert_job_audited(&row, &records(&row.id), row.proposed_at).await {
                Err(e) if e.is_duplicate() && tries < 16 => {
                    tries += 1;
                    row.id = new_job_id(row.proposed_at);
                }
                other => break other?,
            }
        }
        // What was written is what listeners get: no read back.
        let job = Self::snapshot_of(&row);
        let _ = self.events.send(JobEvent::Changed(Box::new(job.clone())));
        Ok(job)
    }

    /// The gate: approve the proposed job `id` if `proof` satisfies its policy. Every decision
    /// is audited, refusals too.
    pub async fn approve(
        &self,
        id: &str,
        operator: &str,
        proof: &Proof,
        read_only: bool,
    ) -> Result<JobSnapshot, Refusal> {
        let Some(row) = self.store.job(id).await? else { return Err(Refusal::Missing) };
        let job = Self::snapshot_of(&row);
        let action = format!("{}.approved", job.kind);
        let how = if job.policy == ApprovalPolicy::None && *proof == Proof::Unattended {
            "no approval needed (policy none)"
        } else {
            proof.describe()
        };
        let details = serde_json::json!({ "job": id, "how": how, "policy": job.policy.name() });
        if read_only {
            self.audit(operator, &action, &job.target, Outcome::Refused, details).await?;
            return Err(Refusal::ReadOnly);
        }
        if job.state != JobState::Proposed {
            return Err(Refusal::NotWaiting { state: job.state });
        }
        let strict = Self::spec_of(&row)?.needs_typed_proof()
            && !matches!(proof, Proof::Typed(t) if t.trim() == job.target);
        let checked = if strict {
            Err(Refusal::NeedsTyped { system: job.target.clone() })
        } else {
            satisfies(job.policy, proof, &job.target)
        };
        if let Err(refusal) = checked {
            let mut d = details;
            d["reason"] = serde_json::json!(refusal.to_string());
            self.audit(operator, &action, &job.target, Outcome::Refused, d).await?;
            return Err(refusal);
        }
        // Two persons: a first approval (the proposer's, or anyone's), then a second from an
        // operator who neither proposed it nor approved it first. The job waits in between.
        if job.policy == ApprovalPolicy::TwoPerson && !matches!(proof, Proof::Plan(_) | Proof::CommitDefault)
        {
            if job.approvals.is_empty() {
                self.store.add_approval(id, operator).await?;
                let mut d = details;
                d["approval"] = serde_json::json!("first of two");
                self.audit(operator, &action, &job.target, Outcome::Recorded, d).await?;
                let _ = self.announce(id).await;
                return Err(Refusal::AwaitingSecond { job: id.to_owned(), first: operator.to_owned() });
            }
            if job.approvals.iter().any(|a| a == operator) || operator == job.proposed_by {
                let refusal = Refusal::SameOperator { operator: operator.to_owned() };
                let mut d = details;
                d["reason"] = serde_json::json!(refusal.to_string());
                self.audit(operator, &action, &job.target, Outcome::Refused, d).await?;
                return Err(refusal);
            }
        }
        // The approvals so far and this one, the move and its audit record: one write.
        let mut approvals = job.approvals.clone();
        if !approvals.iter().any(|a| a == operator) {
            approvals.push(operator.to_owned());
        }
        let approvals_json = serde_json::to_string(&approvals)
            .map_err(|e| Refusal::Store(format!("cannot record the approvals: {e}")))?;
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &[JobState::Proposed],
                JobState::Approved,
                &[
                    ("approved_by", Some(operator.to_owned())),
                    ("approved_at", Some(ts(now))),
                    ("approvals", Some(approvals_json)),
                ],
                &Self::record(operator, &action, &job.target, Outcome::Approved, details),
                now,
            )
            .await?;
        if !moved {
            return Err(Refusal::NotWaiting { state: JobState::Approved });
        }
        self.announce(id).await?.ok_or(Refusal::Missing)
    }

    /// Turn a proposal down at the gate: nothing runs, and the audit log says so.
    pub async fn cancel_proposal(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.get(id).await? else { return Err(Refusal::Missing) };
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &[JobState::Proposed, JobState::Approved],
                JobState::Cancelled,
                &[
                    ("finished_at", Some(ts(now))),
                    ("outcome", Some(format!("cancelled at the approval gate by {operator}"))),
                ],
                &Self::record(
                    operator,
                    &format!("{}.cancelled", job.kind),
                    &job.target,
                    Outcome::Cancelled,
                    serde_json::json!({ "job": id, "at": "the approval gate" }),
                ),
                now,
            )
            .await?;
        if !moved {
            return Err(Refusal::NotWaiting { state: job.state });
        }
        let _ = self.announce(id).await;
        Ok(())
    }

    /// Ask a running job (of this process) to stop.
    pub async fn cancel_running(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.get(id).await? else { return Err(Refusal::Missing) };
        let meter = self.running.lock().ok().and_then(|r| r.get(id).map(|r| r.meter.clone()));
        match meter {
            Some(m) => {
                m.cancel();
                self.audit(
                    operator,
                    &format!("{}.cancel", job.kind),
                    &job.target,
                    Outcome::Recorded,
                    serde_json::json!({ "job": id }),
                )
                .await?;
                Ok(())
            }
            None => Err(Refusal::NotWaiting { state: job.state }),
        }
    }

    /// The ids of the jobs running in this process (known here, whatever the store says).
    pub fn running_ids(&self) -> Vec<String> {
        self.running.lock().map(|r| r.keys().cloned().collect()).unwrap_or_default()
    }

    /// Jobs running in this process.
    pub fn running_here(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    fn semaphore(&self, kind: JobKind) -> Arc<Semaphore> {
        let mut limits = match self.limits.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        limits.entry(kind).or_insert_with(|| Arc::new(Semaphore::new(kind.concurrency()))).clone()
    }

    /// Run the approved job `id`: take its lock, run `work` with a timeout and cancellation,
    /// report progress, record the end. Returns when the job has finished.
    pub async fn run<F, Fut>(
        &self,
        id: &str,
        operator: &str,
        timeout: Duration,
        work: F,
    ) -> Result<JobSnapshot, Refusal>
    where
        F: FnOnce(JobContext) -> Fut,
        Fut: std::future::Future<Output = Result<String, String>>,
    {
        let Some(row) = self.store.job(id).await? else { return Err(Refusal::Missing) };
        if row.state != JobState::Approved {
            return Err(Refusal::NotWaiting { state: row.state });
        }
        if !self.started.lock().map(|mut s| s.insert(id.to_owned())).unwrap_or(false) {
            return Err(Refusal::NotWaiting { state: JobState::Running });
        }
        let _permit =
            self.semaphore(row.kind).acquire_owned().await.map_err(|e| Refusal::Store(e.to_string()))?;
        let (host, now, gone_after) = (self.host.clone(), self.clock.now(), self.gone_after);
        if let Some(class) = row.kind.lock_class() {
            let taken = self
                .store
                .take_lock(&row.target, class, id, |holder| {
                    // Approved: it holds the lock and is about to start. Its owner is alive by
                    // the one rule: on this host its pid, on another its heartbeat.
                    matches!(holder.state, JobState::Running | JobState::Approved)
                        && if holder.owner_host.as_deref() == Some(host.as_str()) {
                            holder.owner_pid.is_some_and(alive)
                        } else {
                            heartbeat_fresh(holder.heartbeat_at, now, gone_after)
                        }
                })
                .await?;
            if let Err(held) = taken {
                let message = format!(
                    "another {} of {} is running ({}): this one did not start",
                    row.kind, row.target, held.job_id
                );
                self.finish(id, &row, JobState::Failed, &message, None).await?;
                return Err(Refusal::Held(message));
            }
        }
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &[JobState::Approved],
                JobState::Running,
                &[
                    ("started_at", Some(ts(now))),
                    ("owner_pid", Some(std::process::id().to_string())),
                    ("owner_host", Some(self.host.clone())),
                    ("heartbeat_at", Some(ts(now))),
                ],
                &Self::record(
                    operator,
                    &format!("{}.started", row.kind),
                    &row.target,
                    Outcome::Recorded,
                    serde_json::json!({ "job": id }),
                ),
                now,
            )
            .await?;
        if !moved {
            self.store.release_locks_of(id).await?;
            return Err(Refusal::NotWaiting { state: JobState::Approved });
        }
        // Unreadable now, the reporter reads it itself (announce has logged why).
        let started = self.announce(id).await.unwrap_or(None);

        let ctx = JobContext::new(id, self.clock.clone());
        if let Ok(mut r) = self.running.lock() {
            r.insert(id.to_owned(), Running { meter: ctx.meter.clone() });
        }
        let reporter = self.report(ctx.clone(), started);
        // How it ended is typed: the work's own result, or the timeout; a stop asked for (the
        // meter's flag) is Cancelled whatever words the work ended with.
        let outcome = tokio::select! {
            r = work(ctx.clone()) => Some(r),
            _ = tokio::time::sleep(timeout) => {
                ctx.meter.cancel();
                None
            }
        };
        reporter.abort();
        if let Ok(mut r) = self.running.lock() {
            r.remove(id);
        }
        let (state, message) = match outcome {
            Some(Ok(m)) => (JobState::Succeeded, m),
            None => (
                JobState::Failed,
                format!("timed out after {} and was stopped", crate::model::duration::human(timeout)),
            ),
            Some(Err(_)) if ctx.cancelled() => (JobState::Cancelled, "cancelled while running".to_owned()),
            Some(Err(e)) => (JobState::Failed, e),
        };
        self.finish(id, &row, state, &message, Some(&ctx)).await?.ok_or(Refusal::Missing)
    }

    /// Record a job's end (with its last progress, log and detail when it ran) and release its
    /// locks: one write.
    async fn finish(
        &self,
        id: &str,
        row: &JobRow,
        state: JobState,
        message: &str,
        ran: Option<&JobContext>,
    ) -> Result<Option<JobSnapshot>, EngineError> {
        let mut set =
            vec![("finished_at", Some(ts(self.clock.now()))), ("outcome", Some(message.to_owned()))];
        if let Some(ctx) = ran {
            let json = |v: serde_json::Result<String>| {
                v.map_err(|e| tracing::warn!(job = id, error = %e, "cannot record a job's last progress"))
                    .ok()
            };
            if let Some(p) = json(serde_json::to_string(&ctx.progress(None))) {
                set.push(("progress", Some(p)));
            }
            if let Some(l) = json(serde_json::to_string(&ctx.log_lines())) {
                set.push(("log", Some(l)));
            }
            if let Some(d) = ctx.detail() {
                set.push(("detail", Some(d.to_string())));
            }
        }
        let outcome = match state {
            JobState::Succeeded => Outcome::Succeeded,
            JobState::Cancelled => Outcome::Cancelled,
            _ => Outcome::Failed,
        };
        let now = self.clock.now();
        // Its end and the record of it commit together; ended already (by another process)
        // means it was recorded then.
        self.store
            .finish_job_audited(
                id,
                &[JobState::Approved, JobState::Running],
                state,
                &set,
                &Self::record(
                    row.approved_by.as_deref().unwrap_or(&row.proposed_by),
                    &format!("{}.finished", row.kind),
                    &row.target,
                    outcome,
                    serde_json::json!({ "job": id, "outcome": message }),
                ),
                now,
            )
            .await?;
        self.announce(id).await
    }

    /// Whether the process that owns job `id` (proposed or runs it) is still there: on this
    /// host, its pid; on another host, its heartbeat, fresh within the heartbeat timeout.
    pub async fn owner_alive(&self, id: &str) -> Result<bool, EngineError> {
        let Some(row) = self.store.job(id).await? else { return Ok(false) };
        Ok(self.row_owner_alive(&row))
    }

    /// Job `id` and the process that owns it, read at once.
    pub async fn get_with_owner(&self, id: &str) -> Result<Option<(JobSnapshot, Owner)>, EngineError> {
        let Some(row) = self.store.job(id).await? else { return Ok(None) };
        let owner = Owner {
            alive: self.row_owner_alive(&row),
            words: row
                .owner_pid
                .zip(row.owner_host.as_deref())
                .map(|(pid, host)| format!("pid {pid} on {host}")),
        };
        Ok(Some((Self::snapshot_of(&row), owner)))
    }

    fn row_owner_alive(&self, row: &JobRow) -> bool {
        match (row.owner_host.as_deref(), row.owner_pid) {
            (Some(h), Some(pid)) if h == self.host => pid != i64::from(std::process::id()) && alive(pid),
            (Some(_), Some(_)) => heartbeat_fresh(row.heartbeat_at, self.clock.now(), self.gone_after),
            _ => false,
        }
    }

    /// How long a heartbeat stays fresh: past it, another host takes the owner for gone.
    pub fn heartbeat_timeout(&self) -> Duration {
        self.gone_after
    }

    /// The approved jobs this process runs and has not begun: its own proposals, approved
    /// elsewhere (another console, `warroom approve`), for the proposer runs what it proposed;
    /// and those `operator` approved whose proposer's process is gone since, for then the
    /// approver's runs them. Which process starts one is settled by the store (the move to
    /// Running is a compare-and-set), so two approvers' consoles never both run it.
    pub async fn approved_here(&self, operator: &str) -> Result<Vec<String>, EngineError> {
        let me = i64::from(std::process::id());
        let started = self.started.lock().map(|s| s.clone()).unwrap_or_default();
        Ok(self
            .store
            .jobs(200)
            .await?
            .into_iter()
            .filter(|r| r.state == JobState::Approved && !started.contains(&r.id))
            .filter(|r| {
                let own = r.owner_host.as_deref() == Some(self.host.as_str()) && r.owner_pid == Some(me);
                own || (r.approvals.iter().any(|a| a == operator) && !self.row_owner_alive(r))
            })
            .map(|r| r.id)
            .collect())
    }

    /// Tell the store this process is alive: every unfinished job it owns gets a fresh
    /// heartbeat (a running job's progress writes do the same, every second).
    pub async fn heartbeat(&self) -> Result<(), EngineError> {
        Ok(self.store.touch_jobs_of(&self.host, i64::from(std::process::id()), self.clock.now()).await?)
    }

    /// Wait until job `id` is approved (true) or finished without running (false), saying all
    /// along that its proposer is alive.
    pub async fn wait_approved(&self, id: &str) -> bool {
        loop {
            if let Err(e) = self.heartbeat().await {
                tracing::warn!(error = %e, "cannot record this process's heartbeat");
            }
            match self.get(id).await {
                Ok(Some(j)) if j.state == JobState::Approved => return true,
                Ok(Some(j)) if j.state == JobState::Proposed => {}
                _ => return false,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Four times a second: progress to listeners; once a second: to the store (the heartbeat).
    /// `base` is the job as it started: only its progress, log and detail change while it runs
    /// (its end is announced by `finish`), so it is read once, not four times a second.
    fn report(&self, ctx: JobContext, mut base: Option<JobSnapshot>) -> tokio::task::JoinHandle<()> {
        let events = self.events.clone();
        let store = self.store.clone();
        let clock = self.clock.clone();
        tokio::spawn(async move {
            let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                n += 1;
                samples.push_back((Instant::now(), ctx.meter.done()));
                while samples.len() > 12 {
                    samples.pop_front();
                }
                let rate = match (samples.front(), samples.back()) {
                    (Some((t0, d0)), Some((t1, d1))) if t1 > t0 && d1 >= d0 => {
                        Some((d1 - d0) as f64 / (*t1 - *t0).as_secs_f64())
                    }
                    _ => None,
                };
                let progress = ctx.progress(rate);
                let (log, detail) = (ctx.log_lines(), ctx.detail());
                if base.is_none() {
                    match store.job(&ctx.id).await {
                        Ok(row) => base = row.as_ref().map(JobPool::snapshot_of),
                        Err(e) => tracing::warn!(job = %ctx.id, error = %e, "cannot read a running job"),
                    }
                }
                if let Some(b) = &base {
                    let mut snap = b.clone();
                    snap.progress = progress.clone();
                    snap.log = log.clone();
                    snap.detail = detail.clone().or(snap.detail);
                    let _ = events.send(JobEvent::Changed(Box::new(snap)));
                }
                if n.is_multiple_of(4)
                    && let Err(e) =
                        store.save_job_runtime(&ctx.id, &progress, &log, detail.as_ref(), clock.now()).await
                {
                    tracing::warn!(job = %ctx.id, error = %e, "cannot save a job's progress (its heartbeat)");
                }
            }
        })
    }

    /// A job left running by a process that is gone is Interrupted, never re-run. Jobs it had
    /// proposed or approved and not started are cancelled. Their locks are released. Returns
    /// the jobs marked.
    pub async fn recover(&self) -> Result<Vec<String>, EngineError> {
        let mut marked = Vec::new();
        let now = self.clock.now();
        let stale = |row: &JobRow| -> bool {
            let ours = row.owner_host.as_deref() == Some(self.host.as_str());
            match (ours, row.owner_pid) {
                (true, Some(pid)) => pid != i64::from(std::process::id()) && !alive(pid),
                _ => !heartbeat_fresh(row.heartbeat_at, now, self.gone_after),
            }
        };
        for row in self.store.jobs_in_state(JobState::Running).await? {
            if stale(&row) {
                let stage = row.progress.as_ref().map(|p| p.stage.as_str()).unwrap_or("");
                let message = format!(
                    "interrupted: the process running it (pid {} on {}) stopped{}",
                    row.owner_pid.unwrap_or(0),
                    row.owner_host.as_deref().unwrap_or("?"),
                    if stage.is_empty() { String::new() } else { format!(" during {stage}") }
                );
                if self
                    .store
                    .transition_job(
                        &row.id,
                        &[JobState::Running],
                        JobState::Interrupted,
                        &[("finished_at", Some(ts(now))), ("outcome", Some(message.clone()))],
                    )
                    .await?
                {
                    self.store.release_locks_of(&row.id).await?;
                    self.audit(
                        "warroom",
                        &format!("{}.interrupted", row.kind),
                        &row.target,
                        Outcome::Failed,
                        serde_json::json!({ "job": row.id, "outcome": message }),
                    )
                    .await?;
                    marked.push(row.id.clone());
                }
            }
        }
        for state in [JobState::Proposed, JobState::Approved] {
            for row in self.store.jobs_in_state(state).await? {
                let ours = row.owner_host.as_deref() == Some(self.host.as_str());
                if ours && row.owner_pid.is_some_and(|p| p != i64::from(std::process::id()) && !alive(p)) {
                    let message = "the process that proposed it stopped before it ran".to_owned();
                    if self
                        .store
                        .transition_job(
                            &row.id,
                            &[state],
                            JobState::Cancelled,
                            &[("finished_at", Some(ts(now))), ("outcome", Some(message))],
                        )
                        .await?
                    {
                        marked.push(row.id.clone());
                    }
                }
            }
        }
        Ok(marked)
    }
}
