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
//! an exclusive kind runs per system at a time, even across processes on the same state (a lock
//! row taken in one transaction). Progress and state changes are owned `JobEvent`s; running
//! jobs' progress, log and heartbeat are saved, so another process (or a console started again)
//! sees them.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, broadcast};

use crate::clock::Clock;
use crate::model::{Action, ApprovalPolicy};
use crate::store::{JobRow, NewAuditRecord, Outcome, Store, StoreError};

use super::backup::write::Control;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Proposed,
    Approved,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Proposed => "proposed",
            JobState::Approved => "approved",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> JobState {
        match s {
            "proposed" => JobState::Proposed,
            "approved" => JobState::Approved,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Interrupted,
        }
    }

    pub fn finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled | JobState::Interrupted)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            JobState::Proposed => "?",
            JobState::Approved => "◆",
            JobState::Running => "▶",
            JobState::Succeeded => "✔",
            JobState::Failed => "✖",
            JobState::Cancelled => "■",
            JobState::Interrupted => "⚠",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a job does, exactly: stored with the job, so the plan shown is the plan run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum JobSpec {
    /// `kind` and `parent` are decided when it is proposed: the plan says which.
    Backup {
        system: String,
        kind: crate::model::BackupKind,
        parent: Option<String>,
    },
    Verify {
        system: String,
        id: Option<String>,
        deep: bool,
        /// A private key file given for this job, else `[encryption] identity_file`.
        #[serde(default)]
        identity: Option<String>,
    },
    Restore {
        system: String,
        id: String,
        location: String,
        target: String,
        force: bool,
        #[serde(default)]
        identity: Option<String>,
        /// The backup is not signed by a trusted key: the operator named it, and the gate
        /// takes the typed proof (never `--yes`).
        #[serde(default)]
        untrusted: bool,
    },
    /// Sign a backup made before signing (or by another key) after a deep verify of it.
    Adopt {
        system: String,
        id: String,
        #[serde(default)]
        identity: Option<String>,
        /// SHA-256 of the manifest the plan showed: only those bytes are signed.
        #[serde(default)]
        manifest_sha256: String,
        /// Not merely made before signing (a bad signature, an unknown key): typed gate.
        #[serde(default)]
        untrusted: bool,
    },
    Prune {
        system: String,
        delete: Vec<String>,
    },
    /// The system's failover procedure (or, with `failback`, its failback).
    Failover {
        system: String,
        failback: bool,
    },
    /// A recovery plan over `systems`; `target` names it (the incident, or the system).
    Recover {
        target: String,
        systems: Vec<String>,
        incident: Option<String>,
    },
}

impl JobSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Backup { .. } => "backup",
            JobSpec::Verify { deep: false, .. } => "verify",
            JobSpec::Verify { deep: true, .. } => "deep-verify",
            JobSpec::Restore { .. } => "restore",
            JobSpec::Adopt { .. } => "adopt",
            JobSpec::Prune { .. } => "prune",
            JobSpec::Failover { failback: false, .. } => "failover",
            JobSpec::Failover { failback: true, .. } => "failback",
            JobSpec::Recover { .. } => "recover",
        }
    }

    pub fn system(&self) -> &str {
        match self {
            JobSpec::Backup { system, .. }
            | JobSpec::Verify { system, .. }
            | JobSpec::Restore { system, .. }
            | JobSpec::Adopt { system, .. }
            | JobSpec::Prune { system, .. }
            | JobSpec::Failover { system, .. } => system,
            JobSpec::Recover { target, .. } => target,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            JobSpec::Backup { .. } => Action::Backup,
            JobSpec::Verify { .. } => Action::Verify,
            JobSpec::Restore { .. } => Action::Restore,
            JobSpec::Adopt { .. } => Action::Adopt,
            JobSpec::Prune { .. } => Action::Prune,
            JobSpec::Failover { failback: false, .. } => Action::Failover,
            JobSpec::Failover { failback: true, .. } => Action::Failback,
            JobSpec::Recover { .. } => Action::Recover,
        }
    }

    /// Jobs sharing a lock class never run at once on one system.
    pub fn lock_class(&self) -> Option<&'static str> {
        match self {
            // Both write the system's repositories.
            JobSpec::Backup { .. } | JobSpec::Prune { .. } | JobSpec::Adopt { .. } => Some("repository"),
            JobSpec::Restore { .. } => Some("restore"),
            JobSpec::Verify { .. } => None,
            // A failover and a failback of one system never run at once.
            JobSpec::Failover { .. } => Some("failover"),
            JobSpec::Recover { .. } => Some("recover"),
        }
    }

    /// Only the typed proof (the system's name) approves it: restoring what no trusted key
    /// signed.
    pub fn needs_typed_proof(&self) -> bool {
        matches!(self, JobSpec::Restore { untrusted: true, .. } | JobSpec::Adopt { untrusted: true, .. })
    }

    fn concurrency(kind: &str) -> usize {
        match kind {
            "backup" | "verify" | "deep-verify" => 2,
            // A plan runs every system of a wave at once.
            "failover" | "failback" => 256,
            "restore" => 8,
            "recover" => 4,
            _ => 1,
        }
    }
}

/// What the gate shows: exactly what will happen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub title: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Bytes,
    Steps,
}

/// Where a job has got.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    pub stage: String,
    pub done: u64,
    pub total: Option<u64>,
    pub unit: Unit,
    /// Per second, over the last few seconds.
    pub rate: Option<f64>,
    pub eta_secs: Option<u64>,
}

/// A job as the console and the commands see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSnapshot {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub state: JobState,
    pub plan: Plan,
    pub policy: ApprovalPolicy,
    pub proposed_by: String,
    pub proposed_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub progress: Progress,
    pub log: Vec<String>,
    /// Who approved it, in order (two-person needs two).
    pub approvals: Vec<String>,
    /// What it reports beyond progress (a recovery plan's systems).
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    Changed(Box<JobSnapshot>),
}

/// How an approval was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The operator confirmed (y, or Approve in the console).
    Confirmed,
    /// The operator typed this (the system's name, for `typed`).
    Typed(String),
    /// `--yes` on a command without a terminal.
    YesFlag,
    /// Nothing asked: the policy is `none` (the scheduler, or a command).
    Unattended,
    /// The configuration's schedule (`every`, `deep_verify_every`): backups and verifications
    /// the operator set up in advance.
    Scheduled,
    /// One system's recovery inside an approved recovery plan (the plan's job id).
    Plan(String),
    /// A commit window ended and its configured default (fail back) applies.
    CommitDefault,
}

impl Proof {
    fn describe(&self) -> &'static str {
        match self {
            Proof::Confirmed => "confirmed",
            Proof::Typed(_) => "typed the system's name",
            Proof::YesFlag => "--yes",
            Proof::Unattended => "unattended: nobody was asked",
            Proof::Scheduled => "on the configured schedule",
            Proof::Plan(_) => "part of an approved recovery plan",
            Proof::CommitDefault => "the commit window ended: the configured default",
        }
    }
}

/// Why the gate said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ReadOnly,
    NeedsConfirm,
    NeedsTyped {
        system: String,
    },
    TwoPerson,
    NotWaiting {
        state: JobState,
    },
    /// The two-person policy: this was the first approval; another operator must give the second.
    AwaitingSecond {
        job: String,
        first: String,
    },
    /// The two-person policy: the second approval must come from someone else.
    SameOperator {
        operator: String,
    },
    Missing,
    /// Another job of its kind holds the system: this one did not start.
    Held(String),
    Store(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ReadOnly => f.write_str("console.read_only is set: every side effect is refused (the refusal is in the audit log)"),
            Refusal::NeedsConfirm => f.write_str("this needs a confirmation: answer y at the prompt, or give --yes"),
            Refusal::NeedsTyped { system } => write!(f, "this needs the system's name typed: \"{system}\" (or --yes without a terminal)"),
            Refusal::TwoPerson => f.write_str(
                "this action's policy is two-person: a second operator must approve it, which this version cannot do yet; \
                 set its [approval] policy to \"typed\" or \"confirm\" meanwhile",
            ),
            Refusal::NotWaiting { state } => write!(f, "the job is {state}, not waiting for approval"),
            Refusal::AwaitingSecond { job, first } => write!(
                f,
                "approved by {first}; the two-person policy needs a second operator: another person runs `warroom --operator NAME approve {job}` (on this state)"
            ),
            Refusal::SameOperator { operator } => write!(
                f,
                "{operator} already approved or proposed this job: the two-person policy needs a second, different operator"
            ),
            Refusal::Missing => f.write_str("there is no such job"),
            Refusal::Held(e) | Refusal::Store(e) => f.write_str(e),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e.to_string())
    }
}

/// The gate's rule: does `proof` satisfy `policy` for `system`?
pub fn satisfies(policy: ApprovalPolicy, proof: &Proof, system: &str) -> Result<(), Refusal> {
    match (policy, proof) {
        // Decided already: by the approved plan, or by the configuration's default.
        (_, Proof::Plan(_) | Proof::CommitDefault) => Ok(()),
        (ApprovalPolicy::None, _) => Ok(()),
        (ApprovalPolicy::TwoPerson, Proof::Scheduled) => Err(Refusal::TwoPerson),
        (_, Proof::YesFlag | Proof::Scheduled) => Ok(()),
        // Each of the two approvals is a confirmation; `approve` counts them.
        (ApprovalPolicy::TwoPerson, Proof::Confirmed | Proof::Typed(_)) => Ok(()),
        (ApprovalPolicy::TwoPerson, Proof::Unattended) => Err(Refusal::NeedsConfirm),
        (ApprovalPolicy::Confirm, Proof::Confirmed | Proof::Typed(_)) => Ok(()),
        (ApprovalPolicy::Confirm, Proof::Unattended) => Err(Refusal::NeedsConfirm),
        (ApprovalPolicy::Typed, Proof::Typed(t)) if t.trim() == system => Ok(()),
        (ApprovalPolicy::Typed, _) => Err(Refusal::NeedsTyped { system: system.to_owned() }),
    }
}

/// Lines of log kept per job.
const LOG_LINES: usize = 200;

/// What a running job reports through.
#[derive(Clone)]
pub struct JobContext {
    pub id: String,
    pub control: Control,
    stage: Arc<Mutex<(String, Unit)>>,
    log: Arc<Mutex<VecDeque<String>>>,
    detail: Arc<Mutex<Option<serde_json::Value>>>,
    clock: Arc<dyn Clock>,
}

impl JobContext {
    pub fn stage(&self, stage: &str, unit: Unit) {
        if let Ok(mut s) = self.stage.lock() {
            *s = (stage.to_owned(), unit);
        }
    }

    pub fn log(&self, line: impl Into<String>) {
        let line = format!("{} {}", self.clock.now().format("%H:%M:%S"), line.into());
        tracing::info!(job = %self.id, "{line}");
        if let Ok(mut l) = self.log.lock() {
            if l.len() == LOG_LINES {
                l.pop_front();
            }
            l.push_back(line);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.control.cancel.load(Ordering::Relaxed)
    }

    /// What the job reports beyond its progress (saved with it, sent with its events).
    pub fn set_detail(&self, detail: serde_json::Value) {
        if let Ok(mut d) = self.detail.lock() {
            *d = Some(detail);
        }
    }

    fn detail_json(&self) -> Option<String> {
        self.detail.lock().ok().and_then(|d| d.as_ref().map(|v| v.to_string()))
    }
}

struct Running {
    control: Control,
}

/// The pool: shared by every clone of the engine.
pub struct JobPool {
    store: Store,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<JobEvent>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    running: Mutex<HashMap<String, Running>>,
    host: String,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(t: &Option<String>) -> Option<DateTime<Utc>> {
    t.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// How often an owner says it is alive: a running job's progress is saved every second, a
/// waiting proposal's heartbeat every second or two (the command's gate, the console's poll).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// An owner on another host is alive while its heartbeat is younger than this (30 heartbeats):
/// past it, the owner is taken for dead, and its running jobs are settled as Interrupted.
pub const OWNER_GONE_AFTER: Duration = Duration::from_secs(30);

fn heartbeat_fresh(heartbeat: &Option<String>, now: DateTime<Utc>) -> bool {
    parse_ts(heartbeat).is_some_and(|h| {
        now - h <= chrono::TimeDelta::from_std(OWNER_GONE_AFTER).unwrap_or(chrono::TimeDelta::MAX)
    })
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
            host: hostname(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    pub fn snapshot_of(row: &JobRow) -> JobSnapshot {
        JobSnapshot {
            id: row.id.clone(),
            kind: row.kind.clone(),
            target: row.target.clone(),
            state: JobState::parse(&row.state),
            plan: serde_json::from_str(&row.plan).unwrap_or_default(),
            policy: row.policy.parse().unwrap_or(ApprovalPolicy::Confirm),
            proposed_by: row.proposed_by.clone(),
            proposed_at: parse_ts(&Some(row.proposed_at.clone())),
            approved_by: row.approved_by.clone(),
            started_at: parse_ts(&row.started_at),
            finished_at: parse_ts(&row.finished_at),
            outcome: row.outcome.clone(),
            progress: row.progress.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default(),
            log: serde_json::from_str(&row.log).unwrap_or_default(),
            approvals: row
                .approvals
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default(),
            detail: row.detail.as_deref().and_then(|d| serde_json::from_str(d).ok()),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<JobSnapshot>, StoreError> {
        Ok(self.store.job(id).await?.as_ref().map(Self::snapshot_of))
    }

    pub async fn spec(&self, id: &str) -> Result<Option<JobSpec>, StoreError> {
        Ok(self.store.job(id).await?.and_then(|r| serde_json::from_str(&r.spec).ok()))
    }

    pub async fn list(&self, limit: u32) -> Result<Vec<JobSnapshot>, StoreError> {
        Ok(self.store.jobs(limit).await?.iter().map(Self::snapshot_of).collect())
    }

    async fn announce(&self, id: &str) {
        if let Ok(Some(s)) = self.get(id).await {
            let _ = self.events.send(JobEvent::Changed(Box::new(s)));
        }
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
        let now = self.clock.now();
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
        let mut row = JobRow {
            id: new_job_id(now),
            kind: spec.kind().to_owned(),
            target: spec.system().to_owned(),
            state: JobState::Proposed.name().to_owned(),
            plan: serde_json::to_string(&plan).unwrap_or_default(),
            spec: serde_json::to_string(spec).unwrap_or_default(),
            policy: policy.name().to_owned(),
            proposed_by: operator.to_owned(),
            proposed_at: ts(now),
            approved_by: None,
            approved_at: None,
            started_at: None,
            finished_at: None,
            outcome: None,
            progress: None,
            log: "[]".to_owned(),
            owner_pid: Some(i64::from(std::process::id())),
            owner_host: Some(self.host.clone()),
            heartbeat_at: Some(ts(self.clock.now())),
            approvals: None,
            detail: None,
        };
        // Ids are short for people to type: two proposed in the same second may draw the same
        // digits (a plan proposes dozens at once). The second draws again.
        let mut tries = 0;
        loop {
            let mut d = details.clone();
            d["job"] = serde_json::json!(row.id);
            let action = format!("{}.proposed", spec.kind());
            let record = Self::record(operator, &action, spec.system(), Outcome::Recorded, d);
            match self.store.insert_job_audited(&row, &record, now).await {
                Err(e) if e.is_duplicate() && tries < 16 => {
                    tries += 1;
                    row.id = new_job_id(now);
                }
                other => break other?,
            }
        }
        self.announce(&row.id).await;
        Ok(Self::snapshot_of(&row))
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
        let strict = self.spec(id).await?.is_some_and(|s| s.needs_typed_proof())
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
                self.announce(id).await;
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
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &["proposed"],
                "approved",
                &[
                    ("approved_by", Some(operator.to_owned())),
                    ("approved_at", Some(ts(now))),
                    ("approvals", Some(serde_json::to_string(&approvals).unwrap_or_default())),
                ],
                &Self::record(operator, &action, &job.target, Outcome::Approved, details),
                now,
            )
            .await?;
        if !moved {
            return Err(Refusal::NotWaiting { state: JobState::Approved });
        }
        self.announce(id).await;
        self.get(id).await?.ok_or(Refusal::Missing)
    }

    /// Turn a proposal down at the gate: nothing runs, and the audit log says so.
    pub async fn cancel_proposal(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.get(id).await? else { return Err(Refusal::Missing) };
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &["proposed", "approved"],
                "cancelled",
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
        self.announce(id).await;
        Ok(())
    }

    /// Ask a running job (of this process) to stop.
    pub async fn cancel_running(&self, id: &str, operator: &str) -> Result<(), Refusal> {
        let Some(job) = self.get(id).await? else { return Err(Refusal::Missing) };
        let control = self.running.lock().ok().and_then(|r| r.get(id).map(|r| r.control.clone()));
        match control {
            Some(c) => {
                c.cancel.store(true, Ordering::Relaxed);
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

    /// Jobs running in this process.
    pub fn running_here(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    fn semaphore(&self, kind: &str) -> Arc<Semaphore> {
        let mut limits = match self.limits.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        limits
            .entry(kind.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(JobSpec::concurrency(kind))))
            .clone()
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
        let spec: Option<JobSpec> = serde_json::from_str(&row.spec).ok();
        let state = JobState::parse(&row.state);
        if state != JobState::Approved {
            return Err(Refusal::NotWaiting { state });
        }
        let _permit =
            self.semaphore(&row.kind).acquire_owned().await.map_err(|e| Refusal::Store(e.to_string()))?;
        let host = self.host.clone();
        if let Some(class) = spec.as_ref().and_then(JobSpec::lock_class) {
            let taken = self
                .store
                .take_lock(&row.target, class, id, |holder| {
                    // Approved: it holds the lock and is about to start.
                    matches!(JobState::parse(&holder.state), JobState::Running | JobState::Approved)
                        && (holder.owner_host.as_deref() != Some(host.as_str())
                            || holder.owner_pid.is_some_and(alive))
                })
                .await?;
            if let Err(held) = taken {
                let message = format!(
                    "another {} of {} is running ({}): this one did not start",
                    row.kind, row.target, held.job_id
                );
                self.finish(id, &row, JobState::Failed, &message).await?;
                return Err(Refusal::Held(message));
            }
        }
        let now = self.clock.now();
        let moved = self
            .store
            .transition_job_audited(
                id,
                &["approved"],
                "running",
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
        self.announce(id).await;

        let ctx = JobContext {
            id: id.to_owned(),
            control: Control::default(),
            stage: Arc::new(Mutex::new(("starting".into(), Unit::Bytes))),
            log: Arc::new(Mutex::new(VecDeque::new())),
            detail: Arc::new(Mutex::new(None)),
            clock: self.clock.clone(),
        };
        if let Ok(mut r) = self.running.lock() {
            r.insert(id.to_owned(), Running { control: ctx.control.clone() });
        }
        let reporter = self.report(ctx.clone());
        let outcome = tokio::select! {
            r = work(ctx.clone()) => r,
            _ = tokio::time::sleep(timeout) => {
                ctx.control.cancel.store(true, Ordering::Relaxed);
                Err(format!("timed out after {} and was stopped", crate::model::duration::human(timeout)))
            }
        };
        reporter.abort();
        if let Ok(mut r) = self.running.lock() {
            r.remove(id);
        }
        self.save_runtime(&ctx, None).await;
        let (state, message) = match outcome {
            Ok(m) => (JobState::Succeeded, m),
            Err(e) if ctx.cancelled() && e == "cancelled" => {
                (JobState::Cancelled, "cancelled while running".to_owned())
            }
            Err(e) => (JobState::Failed, e),
        };
        self.finish(id, &row, state, &message).await?;
        self.get(id).await?.ok_or(Refusal::Missing)
    }

    async fn finish(&self, id: &str, row: &JobRow, state: JobState, message: &str) -> Result<(), StoreError> {
        let outcome = match state {
            JobState::Succeeded => Outcome::Succeeded,
            JobState::Cancelled => Outcome::Cancelled,
            _ => Outcome::Failed,
        };
        let now = self.clock.now();
        // Its end and the record of it commit together; ended already (by another process)
        // means it was recorded then.
        self.store
            .transition_job_audited(
                id,
                &["approved", "running"],
                state.name(),
                &[("finished_at", Some(ts(now))), ("outcome", Some(message.to_owned()))],
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
        self.store.release_locks_of(id).await?;
        self.announce(id).await;
        Ok(())
    }

    fn progress_of(ctx: &JobContext, rate: Option<f64>) -> Progress {
        let c = ctx.control.counters();
        let (stage, unit) = ctx.stage.lock().map(|s| s.clone()).unwrap_or_default();
        let (done, total) = match unit {
            Unit::Bytes => (c.bytes_done, (c.bytes_total > 0).then_some(c.bytes_total)),
            Unit::Steps => (c.files_done, (c.bytes_total > 0).then_some(c.bytes_total)),
        };
        let eta_secs = match (rate, total) {
            (Some(r), Some(t)) if r > 0.0 && t > done => Some(((t - done) as f64 / r).ceil() as u64),
            _ => None,
        };
        Progress { stage, done, total, unit, rate, eta_secs }
    }

    async fn save_runtime(&self, ctx: &JobContext, rate: Option<f64>) {
        let progress = Self::progress_of(ctx, rate);
        let log: Vec<String> = ctx.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default();
        let _ = self
            .store
            .save_job_runtime(
                &ctx.id,
                &serde_json::to_string(&progress).unwrap_or_default(),
                &serde_json::to_string(&log).unwrap_or_default(),
                ctx.detail_json().as_deref(),
                &ts(self.clock.now()),
            )
            .await;
    }

    /// Whether the process that owns job `id` (proposed or runs it) is still there: on this
    /// host, its pid; on another host, its heartbeat, fresh within [`OWNER_GONE_AFTER`].
    pub async fn owner_alive(&self, id: &str) -> Result<bool, StoreError> {
        let Some(row) = self.store.job(id).await? else { return Ok(false) };
        Ok(match (row.owner_host.as_deref(), row.owner_pid) {
            (Some(h), Some(pid)) if h == self.host => pid != i64::from(std::process::id()) && alive(pid),
            (Some(_), Some(_)) => heartbeat_fresh(&row.heartbeat_at, self.clock.now()),
            _ => false,
        })
    }

    /// Tell the store this process is alive: every unfinished job it owns gets a fresh
    /// heartbeat (a running job's progress writes do the same, every second).
    pub async fn heartbeat(&self) -> Result<(), StoreError> {
        self.store.touch_jobs_of(&self.host, i64::from(std::process::id()), &ts(self.clock.now())).await
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
    fn report(&self, ctx: JobContext) -> tokio::task::JoinHandle<()> {
        let events = self.events.clone();
        let store = self.store.clone();
        let clock = self.clock.clone();
        let pool_host = self.host.clone();
        tokio::spawn(async move {
            let _ = pool_host;
            let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                n += 1;
                let done = JobPool::progress_of(&ctx, None).done;
                samples.push_back((Instant::now(), done));
                while samples.len() > 12 {
                    samples.pop_front();
                }
                let rate = match (samples.front(), samples.back()) {
                    (Some((t0, d0)), Some((t1, d1))) if t1 > t0 && d1 >= d0 => {
                        Some((d1 - d0) as f64 / (*t1 - *t0).as_secs_f64())
                    }
                    _ => None,
                };
                let progress = JobPool::progress_of(&ctx, rate);
                if let Ok(Some(row)) = store.job(&ctx.id).await {
                    let mut snap = JobPool::snapshot_of(&row);
                    snap.progress = progress.clone();
                    snap.log = ctx.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default();
                    if let Ok(d) = ctx.detail.lock() {
                        snap.detail = d.clone().or(snap.detail);
                    }
                    let _ = events.send(JobEvent::Changed(Box::new(snap)));
                }
                if n.is_multiple_of(4) {
                    let log: Vec<String> =
                        ctx.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default();
                    let _ = store
                        .save_job_runtime(
                            &ctx.id,
                            &serde_json::to_string(&progress).unwrap_or_default(),
                            &serde_json::to_string(&log).unwrap_or_default(),
                            ctx.detail_json().as_deref(),
                            &ts(clock.now()),
                        )
                        .await;
                }
            }
        })
    }

    /// A job left running by a process that is gone is Interrupted, never re-run. Jobs it had
    /// proposed or approved and not started are cancelled. Their locks are released. Returns
    /// the jobs marked.
    pub async fn recover(&self) -> Result<Vec<String>, StoreError> {
        let mut marked = Vec::new();
        let now = self.clock.now();
        let stale = |row: &JobRow| -> bool {
            let ours = row.owner_host.as_deref() == Some(self.host.as_str());
            match (ours, row.owner_pid) {
                (true, Some(pid)) => pid != i64::from(std::process::id()) && !alive(pid),
                _ => !heartbeat_fresh(&row.heartbeat_at, now),
            }
        };
        for row in self.store.jobs_in_state("running").await? {
            if stale(&row) {
                let stage = row
                    .progress
                    .as_deref()
                    .and_then(|p| serde_json::from_str::<Progress>(p).ok())
                    .map(|p| p.stage)
                    .unwrap_or_default();
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
                        &["running"],
                        "interrupted",
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
        for state in ["proposed", "approved"] {
            for row in self.store.jobs_in_state(state).await? {
                let ours = row.owner_host.as_deref() == Some(self.host.as_str());
                if ours && row.owner_pid.is_some_and(|p| p != i64::from(std::process::id()) && !alive(p)) {
                    let message = "the process that proposed it stopped before it ran".to_owned();
                    if self
                        .store
                        .transition_job(
                            &row.id,
                            &[state],
                            "cancelled",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_rule() {
        let s = "database";
        assert!(satisfies(ApprovalPolicy::None, &Proof::Unattended, s).is_ok());
        assert!(satisfies(ApprovalPolicy::Confirm, &Proof::Confirmed, s).is_ok());
        assert_eq!(satisfies(ApprovalPolicy::Confirm, &Proof::Unattended, s), Err(Refusal::NeedsConfirm));
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Typed("database".into()), s).is_ok());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Typed("datab".into()), s).is_err());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::Confirmed, s).is_err());
        assert!(satisfies(ApprovalPolicy::Typed, &Proof::YesFlag, s).is_ok());
        assert!(satisfies(ApprovalPolicy::TwoPerson, &Proof::YesFlag, s).is_ok(), "one of the two");
        assert_eq!(satisfies(ApprovalPolicy::TwoPerson, &Proof::Unattended, s), Err(Refusal::NeedsConfirm));
        assert_eq!(satisfies(ApprovalPolicy::TwoPerson, &Proof::Scheduled, s), Err(Refusal::TwoPerson));
        assert!(
            satisfies(ApprovalPolicy::Typed, &Proof::Plan("J-1".into()), s).is_ok(),
            "covered by the plan"
        );
    }
}
